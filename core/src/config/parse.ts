import { LineCounter, parseAllDocuments } from 'yaml';
import type { ConfigObject, SourcedObject } from './object.js';
import type { ConfigIssue } from './issues.js';

export interface ParseResult {
  readonly objects: SourcedObject[];
  /** Syntax errors and documents that are not config objects; each names the line. */
  readonly issues: ConfigIssue[];
}

function issue(source: string, message: string, path = '', obj?: Partial<ConfigObject>): ConfigIssue {
  return {
    severity: 'error',
    source,
    kind: typeof obj?.kind === 'string' ? obj.kind : '',
    namespace: typeof obj?.metadata?.namespace === 'string' ? obj.metadata.namespace : '',
    name: typeof obj?.metadata?.name === 'string' ? obj.metadata.name : '',
    path,
    message,
  };
}

/**
 * Parses YAML (several `---` documents) or JSON (one object, an array of objects, or a
 * `{kind: List, items}`) into config objects. Each object's origin is `<name>:<line>`.
 * Structural checks only (an object with apiVersion, kind, metadata.name); schema and
 * semantics are the validator's job.
 */
export function parseConfigText(text: string, name: string): ParseResult {
  const objects: SourcedObject[] = [];
  const issues: ConfigIssue[] = [];
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const line = doc.contents?.range ? lines.linePos(doc.contents.range[0]).line : 1;
    const origin = `${name}:${line}`;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const at = lines.linePos(e.pos[0]).line;
        issues.push(issue(`${name}:${at}`, `invalid YAML: ${e.message.split('\n')[0]}`));
      }
      continue;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // empty document
    for (const item of flatten(value)) collect(item, origin, objects, issues);
  }
  return { objects, issues };
}

function flatten(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(flatten);
  if (isRecord(value) && value.kind === 'List' && Array.isArray(value.items)) return value.items.flatMap(flatten);
  return [value];
}

function collect(value: unknown, origin: string, out: SourcedObject[], issues: ConfigIssue[]): void {
  if (!isRecord(value)) {
    issues.push(issue(origin, `expected a config object ({apiVersion, kind, metadata, spec}), got ${describe(value)}`));
    return;
  }
  const obj = value as Partial<ConfigObject>;
  const missing: string[] = [];
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') missing.push('apiVersion');
  if (typeof obj.kind !== 'string' || obj.kind === '') missing.push('kind');
  if (!isRecord(obj.metadata) || typeof obj.metadata.name !== 'string' || obj.metadata.name === '') {
    missing.push('metadata.name');
  }
  if (missing.length > 0) {
    for (const m of missing) issues.push(issue(origin, 'required field is missing', m, obj));
    return;
  }
  if (obj.spec !== undefined && !isRecord(obj.spec)) {
    issues.push(issue(origin, `must be an object, got ${describe(obj.spec)}`, 'spec', obj));
    return;
  }
  out.push({ object: { ...(obj as ConfigObject), spec: (obj.spec ?? {}) as Record<string, unknown> }, origin });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

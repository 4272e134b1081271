import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConfigIssue, ConfigSink, SourcedObject } from '@isthmus/core';
import type { StaticSourceLogger } from '../src/index.js';

/** Retries `check` (an assertion or a predicate) until it passes; rethrows its last failure on timeout. */
export async function waitFor<T>(check: () => T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = check();
      if (v !== false) return v;
      if (Date.now() > deadline) throw new Error('waitFor: condition still false');
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export type SinkEvent =
  | { type: 'propose'; part: string; objects: readonly SourcedObject[] }
  | { type: 'withdraw'; part: string }
  | { type: 'issues'; part: string; issues: readonly ConfigIssue[] }
  | { type: 'synced' };

/**
 * Records every call, and keeps the accepted set per part as a store would: a proposal
 * that `validate` finds errors in is refused and the previous set stays.
 */
export class RecordingSink implements ConfigSink {
  readonly events: SinkEvent[] = [];
  readonly parts = new Map<string, readonly SourcedObject[]>();
  synced = false;

  constructor(private readonly validate: (objects: readonly SourcedObject[], part: string) => ConfigIssue[] = () => []) {}

  propose(part: string, objects: readonly SourcedObject[]): readonly ConfigIssue[] {
    this.events.push({ type: 'propose', part, objects });
    const issues = this.validate(objects, part);
    if (!issues.some((i) => i.severity === 'error')) this.parts.set(part, objects);
    return issues;
  }
  withdraw(part: string): void {
    this.events.push({ type: 'withdraw', part });
    this.parts.delete(part);
  }
  reportIssues(part: string, issues: readonly ConfigIssue[]): void {
    this.events.push({ type: 'issues', part, issues });
  }
  markSynced(): void {
    this.events.push({ type: 'synced' });
    this.synced = true;
  }

  /** `kind/name` of the objects in force for a part. */
  names(part: string): string[] | undefined {
    return this.parts.get(part)?.map((o) => `${o.object.kind}/${o.object.metadata.name}`);
  }
  proposals(part?: string): Extract<SinkEvent, { type: 'propose' }>[] {
    return this.events.filter((e): e is Extract<SinkEvent, { type: 'propose' }> => e.type === 'propose' && (part === undefined || e.part === part));
  }
  issues(part?: string): Extract<SinkEvent, { type: 'issues' }>[] {
    return this.events.filter((e): e is Extract<SinkEvent, { type: 'issues' }> => e.type === 'issues' && (part === undefined || e.part === part));
  }
  withdrawals(part?: string): string[] {
    return this.events.flatMap((e) => (e.type === 'withdraw' && (part === undefined || e.part === part) ? [e.part] : []));
  }
}

export class RecordingLogger implements StaticSourceLogger {
  readonly lines: { level: 'debug' | 'info' | 'warn' | 'error'; obj: object; msg: string }[] = [];
  debug(obj: object, msg = ''): void {
    this.lines.push({ level: 'debug', obj, msg });
  }
  info(obj: object, msg = ''): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg = ''): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg = ''): void {
    this.lines.push({ level: 'error', obj, msg });
  }
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'isthmus-static-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

let tmpCounter = 0;
/** Replaces `file` the way editors and config tools do: write a temporary file, rename it over. */
export async function atomicWrite(file: string, content: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${tmpCounter++}`);
  await writeFile(tmp, content);
  await rename(tmp, file);
}

/** A VirtualService as YAML; `weight` lets a test make it invalid for a validating sink. */
export function virtualService(name: string, host = 'reviews', weight = 100): string {
  return [
    'apiVersion: networking.istio.io/v1',
    'kind: VirtualService',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  hosts: [${host}]`,
    '  http:',
    `  - route: [{destination: {host: ${host}}, weight: ${weight}}]`,
    '',
  ].join('\n');
}

export function destinationRule(name: string, host = 'reviews'): string {
  return [
    'apiVersion: networking.istio.io/v1',
    'kind: DestinationRule',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  host: ${host}`,
    '  subsets: [{name: v1, labels: {version: v1}}]',
    '',
  ].join('\n');
}

import { badRequest } from './errors.js';
import type { KubeObject } from './types.js';

/**
 * Label and field selectors, parsed once per request and matched per object, with
 * apimachinery's semantics: requirements are ANDed; `!=` and `notin` also match objects
 * without the label; an unparsable selector is a 400.
 */

export interface Selector {
  matches(obj: KubeObject): boolean;
  /** The selector selects everything (so list metadata may carry remainingItemCount). */
  readonly empty: boolean;
}

type LabelOp = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';
interface Requirement {
  readonly key: string;
  readonly op: LabelOp;
  readonly values: readonly string[];
}

const KEY = '[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?';
const VALUE = '(?:[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?';
const EXISTS = new RegExp(`^(${KEY})$`);
const NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=|>|<)\\s*(${VALUE})$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);

/** Splits at commas outside parentheses (`a in (x,y),b` is two requirements). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

function parseRequirement(part: string): Requirement {
  let m: RegExpExecArray | null;
  if ((m = NOT_EXISTS.exec(part))) return { key: m[1]!, op: '!exists', values: [] };
  if ((m = EXISTS.exec(part))) return { key: m[1]!, op: 'exists', values: [] };
  if ((m = SET.exec(part))) {
    const values = m[4]!.split(',').map((v) => v.trim());
    if (values.some((v) => !VALUE_ONLY.test(v))) throw badRequest(`unable to parse requirement: invalid label value in "${part}"`);
    return { key: m[1]!, op: m[3] === 'in' ? 'in' : 'notin', values };
  }
  if ((m = EQUALITY.exec(part))) {
    const sym = m[3]!;
    const value = m[4] ?? '';
    if ((sym === '>' || sym === '<') && !/^-?\d+$/.test(value)) throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
    const op: LabelOp = sym === '!=' ? '!=' : sym === '>' ? 'gt' : sym === '<' ? 'lt' : '=';
    return { key: m[1]!, op, values: [value] };
  }
  throw badRequest(`unable to parse requirement: found '${part}', expected: key, !key, key=value, key!=value, key in (...), key notin (...)`);
}

function requirementMatches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  switch (r.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case '=':
      return has && v === r.values[0];
    case '!=':
      return !has || v !== r.values[0];
    case 'in':
      return has && r.values.includes(v!);
    case 'notin':
      return !has || !r.values.includes(v!);
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(v!)) return false;
      const n = Number(v);
      const bound = Number(r.values[0]);
      return r.op === 'gt' ? n > bound : n < bound;
    }
  }
}

export function parseLabelSelector(text: string | null | undefined): Selector {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return { matches: () => true, empty: true };
  const reqs = splitTopLevel(trimmed).map((p) => {
    if (p === '') throw badRequest(`unable to parse requirement: empty requirement in "${trimmed}"`);
    return parseRequirement(p);
  });
  return { matches: (obj) => reqs.every((r) => requirementMatches(r, obj.metadata.labels ?? {})), empty: false };
}

/** Splits a field selector at unescaped commas and unescapes `\,` `\=` `\\` (fields.ParseSelector). */
function splitEscaped(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      cur += c + text[++i];
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/** The string value apiserver compares a field selector with (booleans and numbers as text, missing as ''). */
export function fieldValue(obj: KubeObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

/** `supported`: the fields this type may be selected by besides metadata.name/namespace. */
export function parseFieldSelector(text: string | null | undefined, supported: readonly string[]): Selector {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return { matches: () => true, empty: true };
  const terms = splitEscaped(trimmed, ',').map((term) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term.trim());
    if (!m) throw badRequest(`invalid selector: '${trimmed}'; can't understand '${term}'`);
    const field = m[1]!.trim();
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, negate: m[2] === '!=', value: unescape(m[3]!) };
  });
  return {
    matches: (obj) => terms.every((t) => (fieldValue(obj, t.field) === t.value) !== t.negate),
    empty: false,
  };
}

/** Both selectors of a request, ANDed. */
export function bothSelectors(label: Selector, field: Selector): Selector {
  return { matches: (o) => label.matches(o) && field.matches(o), empty: label.empty && field.empty };
}

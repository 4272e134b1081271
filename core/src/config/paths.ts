import type { IssueSeverity } from './issues.js';

/**
 * A problem found inside one object, before it is tied to the object's identity and
 * origin (validators work on a spec; `validateObjects` turns these into ConfigIssues).
 */
export interface FieldIssue {
  readonly severity: IssueSeverity;
  /** Dotted path, e.g. `spec.http[0].route[1].weight`; empty for the whole object. */
  readonly path: string;
  readonly message: string;
}

export type PathSegment = string | number;

/** Map keys that read well after a dot (`headers.x-device`); anything else is quoted. */
const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * Renders path segments the way users write them: `spec.http[0].match[0].headers.x-device`,
 * with keys that contain dots or slashes quoted (`labels["app.kubernetes.io/name"]`) so the
 * path stays unambiguous.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (PLAIN_KEY.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Appends segments to an already formatted path: `joinPath('spec.hosts', 0)` → `spec.hosts[0]`. */
export function joinPath(base: string, ...more: PathSegment[]): string {
  const tail = formatPath(more);
  if (base === '' || tail === '' || tail.startsWith('[')) return base + tail;
  return `${base}.${tail}`;
}

/**
 * Turns a JSON pointer from the schema validator (`/spec/http/0/route`) into segments.
 * A numeric segment is an index only when the data there is a list: header or label
 * maps may well have a key `"0"`.
 */
export function pointerSegments(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const raw = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const out: PathSegment[] = [];
  let cur: unknown = data;
  for (const seg of raw) {
    if (Array.isArray(cur) && /^\d+$/.test(seg)) {
      const i = Number(seg);
      out.push(i);
      cur = cur[i];
    } else {
      out.push(seg);
      cur = isRecord(cur) ? cur[seg] : undefined;
    }
  }
  return out;
}

/** True when `path` is `prefix` or lies below it (`a.b[0]` is below `a.b`, `a.bc` is not). */
export function isPathWithin(path: string, prefix: string): boolean {
  if (prefix === '') return true;
  if (!path.startsWith(prefix)) return false;
  const next = path.charAt(prefix.length);
  return next === '' || next === '.' || next === '[';
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short rendering of a value for messages: strings quoted, lists and objects named. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') {
    const s = v.length > 40 ? `${v.slice(0, 37)}...` : v;
    return JSON.stringify(s);
  }
  return String(v);
}

/** Small edit distance, used to suggest the field a typo meant. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[n]!;
}

/** The candidate closest to `word` (case-insensitive equality or ≤ 2 edits), if any. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestD || (d === bestD && best !== undefined && c < best)) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= 2 ? best : undefined;
}

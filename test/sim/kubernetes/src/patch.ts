import { ApiError, badRequest } from './errors.js';

/**
 * The patch formats apiserver accepts, on plain JSON values: JSON merge patch
 * (RFC 7386) and JSON patch (RFC 6902). A failed JSON patch operation is a 422, as
 * apiserver reports it; a body of the wrong shape a 400.
 */

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Deep equality of JSON values, key order ignored (so an update that changes nothing is seen as a no-op). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 7386: objects merge recursively, `null` deletes, anything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Obj = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface Op {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new ApiError(422, 'Invalid', `json patch: invalid path "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The container and key a pointer ends in; throws 422 when a parent is missing. */
function locate(doc: unknown, tokens: string[], path: string): { parent: Obj | unknown[]; key: string } {
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw new ApiError(422, 'Invalid', `json patch: missing value at "${path}"`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new ApiError(422, 'Invalid', `json patch: cannot address "${path}"`);
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function getAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const t of pointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else return undefined;
  }
  return cur;
}

function arrayIndex(arr: unknown[], key: string, path: string, forAdd: boolean): number {
  if (forAdd && key === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw new ApiError(422, 'Invalid', `json patch: invalid array index in "${path}"`);
  const i = Number(key);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new ApiError(422, 'Invalid', `json patch: index out of range in "${path}"`);
  return i;
}

function remove(doc: unknown, path: string): unknown {
  const { parent, key } = locate(doc, pointer(path), path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, path, false), 1)[0];
  if (!(key in parent)) throw new ApiError(422, 'Invalid', `json patch: unable to remove nonexistent key "${key}"`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function add(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const tokens = pointer(path);
  if (tokens.length === 0) return clone(value);
  const { parent, key } = locate(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, path, !replace);
    if (replace) parent[i] = clone(value);
    else parent.splice(i, 0, clone(value));
  } else {
    if (replace && !(key in parent)) throw new ApiError(422, 'Invalid', `json patch: replace of missing key "${key}"`);
    parent[key] = clone(value);
  }
  return doc;
}

/** RFC 6902, applied to a copy; returns the new document. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = clone(target);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw badRequest('json patch: every operation needs "op" and "path"');
    const op = raw as unknown as Op;
    switch (op.op) {
      case 'add':
        doc = add(doc, op.path, op.value, false);
        break;
      case 'replace':
        doc = add(doc, op.path, op.value, true);
        break;
      case 'remove':
        remove(doc, op.path);
        break;
      case 'move': {
        const v = remove(doc, op.from ?? '');
        doc = add(doc, op.path, v, false);
        break;
      }
      case 'copy':
        doc = add(doc, op.path, getAt(doc, op.from ?? ''), false);
        break;
      case 'test':
        if (!deepEqual(getAt(doc, op.path), op.value)) throw new ApiError(422, 'Invalid', `json patch: test operation for path "${op.path}" failed`);
        break;
      default:
        throw badRequest(`json patch: unknown operation "${op.op}"`);
    }
  }
  return doc;
}

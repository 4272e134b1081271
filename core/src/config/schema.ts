import type { ConfigObject } from './object.js';
import {
  closest,
  describeValue,
  formatPath,
  isRecord,
  pointerSegments,
  type FieldIssue,
  type PathSegment,
} from './paths.js';

/**
 * Structural validation. Istio kinds use the OpenAPI schemas of Istio's own CRDs, compiled
 * by `@kubernetes-models/istio`; the legacy `config.istio.io/v1alpha2` kinds use the small
 * schema language at the end of this file. Both speak the same messages
 * (`must be an integer, got "ninety"`, `unknown field (did you mean "route"?)`) with our
 * dotted paths (`spec.http[0].route[0].weight`), never the validator's JSON pointers.
 */

/** A `@kubernetes-models` class: its prototype's `validate()` runs the compiled schema on `this`. */
export interface SchemaModel {
  readonly prototype: { validate(): void };
}

interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
}

/**
 * Validates an object against an Istio CRD schema. The compiled schemas accept unknown
 * fields (their CRDs rely on the API server to prune them), which would let a typo such as
 * `weigth` pass silently; so the object is wrapped in a proxy that records which property
 * names the validator looked up, and any key the validator never asked for in an object it
 * did inspect is reported as unknown. Objects the schema leaves open (no property lookups
 * at all, e.g. free-form structs) are not judged.
 */
export function validateWithModel(model: SchemaModel, object: ConfigObject): FieldIssue[] {
  const probes = new WeakMap<object, Set<string>>();
  const proxies = new WeakMap<object, object>();
  const wrap = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    const known = proxies.get(v);
    if (known) return known;
    const seen = new Set<string>();
    probes.set(v, seen);
    const p = new Proxy(v, {
      get(target, key, receiver) {
        if (typeof key === 'string') seen.add(key);
        return wrap(Reflect.get(target, key, receiver));
      },
      has(target, key) {
        if (typeof key === 'string') seen.add(key);
        return Reflect.has(target, key);
      },
    });
    proxies.set(v, p);
    return p;
  };

  let errors: readonly AjvError[] = [];
  try {
    model.prototype.validate.call(wrap(object));
  } catch (e) {
    const list = (e as { errors?: unknown }).errors;
    if (!Array.isArray(list)) throw e;
    errors = list as AjvError[];
  }
  const issues = translateErrors(errors, object);
  collectUnknownFields(object, [], probes, issues);
  return dedupe(issues);
}

/** Alternatives Istio's schemas express with `oneOf`; used to name the conflicting fields. */
const EXCLUSIVE_GROUPS: readonly (readonly string[])[] = [
  ['exact', 'prefix', 'regex'],
  ['httpStatus', 'grpcStatus', 'http2Error'],
  ['fixedDelay', 'exponentialDelay'],
  ['simple', 'consistentHash'],
  ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'],
  ['ringHash', 'maglev'],
  ['route', 'redirect', 'directResponse', 'delegate'],
];

function valueAt(data: unknown, segs: readonly PathSegment[]): unknown {
  let cur = data;
  for (const s of segs) {
    if (typeof s === 'number') cur = Array.isArray(cur) ? cur[s] : undefined;
    else cur = isRecord(cur) ? cur[s] : undefined;
  }
  return cur;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  null: 'null',
};

export function typeName(t: unknown): string {
  const list = Array.isArray(t) ? t : [t];
  return list.map((x) => TYPE_NAMES[String(x)] ?? String(x)).join(' or ');
}

function translateErrors(errors: readonly AjvError[], data: unknown): FieldIssue[] {
  const out: FieldIssue[] = [];
  const byPointer = new Map<string, AjvError[]>();
  for (const e of errors) {
    const list = byPointer.get(e.instancePath) ?? [];
    list.push(e);
    byPointer.set(e.instancePath, list);
  }
  for (const [pointer, list] of byPointer) {
    const segs = pointerSegments(pointer, data);
    const path = formatPath(segs);
    const value = valueAt(data, segs);
    const hasType = list.some((e) => e.keyword === 'type');
    const exclusive = list.some((e) => e.keyword === 'oneOf' || e.keyword === 'not');
    if (exclusive) out.push({ severity: 'error', path, message: exclusiveMessage(list, value) });
    for (const e of list) {
      if (e.keyword === 'oneOf' || e.keyword === 'not') continue;
      if (e.keyword === 'format' && hasType) continue;
      const issue = translateOne(e, segs, path, value);
      if (issue) out.push(issue);
    }
  }
  return out;
}

function exclusiveMessage(list: readonly AjvError[], value: unknown): string {
  const oneOf = list.find((e) => e.keyword === 'oneOf');
  const passing = oneOf?.params.passingSchemas;
  const keys = isRecord(value) ? Object.keys(value) : [];
  const group = EXCLUSIVE_GROUPS.find((g) => keys.filter((k) => g.includes(k)).length > 1);
  const set = group ? keys.filter((k) => group.includes(k)) : keys;
  if (oneOf && passing === null) return 'does not match any of the allowed forms';
  return `only one of ${set.join(', ')} may be set`;
}

function translateOne(e: AjvError, segs: readonly PathSegment[], path: string, value: unknown): FieldIssue | undefined {
  const p = e.params;
  const err = (message: string, at = path): FieldIssue => ({ severity: 'error', path: at, message });
  switch (e.keyword) {
    case 'required':
      return err('required field is missing', formatPath([...segs, String(p.missingProperty)]));
    case 'additionalProperties':
      return err('unknown field', formatPath([...segs, String(p.additionalProperty)]));
    case 'type':
      return err(`must be ${typeName(p.type)}, got ${describeValue(value)}`);
    case 'format':
      return err(formatMessage(String(p.format), value));
    case 'enum':
      return err(`must be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}, got ${describeValue(value)}`);
    case 'minimum':
    case 'exclusiveMinimum':
      return err(`must be ${e.keyword === 'minimum' ? 'at least' : 'greater than'} ${String(p.limit)}, got ${describeValue(value)}`);
    case 'maximum':
    case 'exclusiveMaximum':
      return err(`must be ${e.keyword === 'maximum' ? 'at most' : 'less than'} ${String(p.limit)}, got ${describeValue(value)}`);
    case 'minItems':
    case 'minProperties':
    case 'minLength':
      return err(p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} ${e.keyword === 'minLength' ? 'characters' : 'entries'}`);
    case 'maxItems':
    case 'maxProperties':
      return err(`must have at most ${String(p.limit)} entries`);
    case 'maxLength':
      return err(`must be at most ${String(p.limit)} characters`);
    case 'pattern':
      return err(`must match the pattern ${String(p.pattern)}, got ${describeValue(value)}`);
    case 'uniqueItems':
      return err('must not contain duplicates');
    default:
      return err(e.message ?? `fails the schema rule "${e.keyword}"`);
  }
}

function formatMessage(format: string, value: unknown): string {
  const ints: Record<string, string> = {
    int32: 'a 32-bit integer',
    int64: 'a 64-bit integer',
    uint32: 'an unsigned 32-bit integer',
    uint64: 'an unsigned 64-bit integer',
  };
  const want = ints[format] ?? `a valid ${format}`;
  return `must be ${want}, got ${describeValue(value)}`;
}

function collectUnknownFields(
  value: unknown,
  segs: PathSegment[],
  probes: WeakMap<object, Set<string>>,
  out: FieldIssue[],
): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => collectUnknownFields(v, [...segs, i], probes, out));
    return;
  }
  if (!isRecord(value)) return;
  const seen = probes.get(value);
  const judged = seen !== undefined && seen.size > 0;
  for (const key of Object.keys(value)) {
    if (judged && !seen.has(key)) {
      const guess = closest(key, [...seen].filter((k) => !(k in Object.prototype) && k !== 'length'));
      out.push({
        severity: 'error',
        path: formatPath([...segs, key]),
        message: guess ? `unknown field (did you mean "${guess}"?)` : 'unknown field',
      });
      continue;
    }
    collectUnknownFields(value[key], [...segs, key], probes, out);
  }
}

/** One message per path and text: the schema may report the same problem twice. */
function dedupe(issues: readonly FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\0${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------------------
// A small schema language for the kinds no CRD describes (the legacy v1alpha2 kinds).

export type Schema =
  | { readonly t: 'string' }
  | { readonly t: 'int'; readonly min?: number; readonly max?: number }
  | { readonly t: 'number'; readonly min?: number; readonly max?: number }
  | { readonly t: 'bool' }
  | { readonly t: 'object'; readonly fields: Readonly<Record<string, Schema>>; readonly required?: readonly string[] }
  | { readonly t: 'map'; readonly values: Schema }
  | { readonly t: 'list'; readonly items: Schema }
  /** The first option whose JSON type fits the value decides (e.g. `"v1"` or `{exact: "v1"}`). */
  | { readonly t: 'either'; readonly options: readonly Schema[] }
  /** Free-form (protobuf `Any` / `Struct`): not checked. */
  | { readonly t: 'any' };

export const S = {
  str: (): Schema => ({ t: 'string' }),
  int: (min?: number, max?: number): Schema => ({ t: 'int', min, max }),
  num: (min?: number, max?: number): Schema => ({ t: 'number', min, max }),
  bool: (): Schema => ({ t: 'bool' }),
  obj: (fields: Record<string, Schema>, required: readonly string[] = []): Schema => ({ t: 'object', fields, required }),
  map: (values: Schema): Schema => ({ t: 'map', values }),
  list: (items: Schema): Schema => ({ t: 'list', items }),
  either: (...options: Schema[]): Schema => ({ t: 'either', options }),
  any: (): Schema => ({ t: 'any' }),
};

function jsonTypeFits(s: Schema, v: unknown): boolean {
  switch (s.t) {
    case 'string':
      return typeof v === 'string';
    case 'int':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'object':
    case 'map':
      return isRecord(v);
    case 'list':
      return Array.isArray(v);
    case 'either':
      return s.options.some((o) => jsonTypeFits(o, v));
    case 'any':
      return true;
  }
}

function schemaTypeName(s: Schema): string {
  switch (s.t) {
    case 'string':
      return 'a string';
    case 'int':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'bool':
      return 'true or false';
    case 'object':
    case 'map':
      return 'an object';
    case 'list':
      return 'a list';
    case 'either':
      return s.options.map(schemaTypeName).join(' or ');
    case 'any':
      return 'anything';
  }
}

/** Checks a value against a schema; unknown object fields are errors (likely typos). */
export function checkSchema(schema: Schema, value: unknown, segs: readonly PathSegment[] = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  check(schema, value, [...segs], out);
  return out;
}

function check(s: Schema, v: unknown, segs: PathSegment[], out: FieldIssue[]): void {
  const path = formatPath(segs);
  if (v === undefined || v === null) return; // absent; `required` is checked by the parent
  if (!jsonTypeFits(s, v)) {
    out.push({ severity: 'error', path, message: `must be ${schemaTypeName(s)}, got ${describeValue(v)}` });
    return;
  }
  switch (s.t) {
    case 'int':
    case 'number': {
      const n = v as number;
      if (s.min !== undefined && n < s.min) out.push({ severity: 'error', path, message: `must be at least ${s.min}, got ${n}` });
      if (s.max !== undefined && n > s.max) out.push({ severity: 'error', path, message: `must be at most ${s.max}, got ${n}` });
      return;
    }
    case 'object': {
      const rec = v as Record<string, unknown>;
      for (const r of s.required ?? []) {
        if (rec[r] === undefined || rec[r] === null) {
          out.push({ severity: 'error', path: formatPath([...segs, r]), message: 'required field is missing' });
        }
      }
      for (const [k, child] of Object.entries(rec)) {
        const fs = s.fields[k];
        if (!fs) {
          const guess = closest(k, Object.keys(s.fields));
          out.push({
            severity: 'error',
            path: formatPath([...segs, k]),
            message: guess ? `unknown field (did you mean "${guess}"?)` : 'unknown field',
          });
          continue;
        }
        check(fs, child, [...segs, k], out);
      }
      return;
    }
    case 'map':
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) check(s.values, child, [...segs, k], out);
      return;
    case 'list':
      (v as unknown[]).forEach((child, i) => check(s.items, child, [...segs, i], out));
      return;
    case 'either': {
      const fit = s.options.find((o) => jsonTypeFits(o, v));
      if (fit) check(fit, v, segs, out);
      return;
    }
    default:
      return;
  }
}

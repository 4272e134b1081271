import { isIP } from 'node:net';
import protobuf from 'protobufjs';
import { FieldPath } from '../protos/field-path.js';
import { fullNameOf } from '../protos/root.js';

/**
 * A generic checker for the `validate.rules` annotations (protoc-gen-validate) that
 * Envoy's protos carry: the constraints Envoy checks when it loads config, and whose
 * violation is a NACK. It walks a resource (protobufjs object form, keepCase) along its
 * message type, reading the rules from the loaded proto options, so every resource any
 * generator builds is held to exactly what Envoy enforces — without a hand-written rule
 * per field.
 *
 * Semantics follow PGV: proto3 scalars are checked even when absent (their default value
 * is what Envoy sees); an absent message is checked only for `required`; members of an
 * unset oneof are skipped; a `(validate.required)` oneof needs one member; `Any` is
 * checked as the type it holds; messages marked `(validate.disabled)` or
 * `(validate.ignored)` are skipped.
 */
export interface PgvViolation {
  /** Field path in the resource: `virtual_hosts[0].routes[1].route.retry_policy.retry_back_off.base_interval`. */
  readonly path: string;
  /** The rule, as PGV spells it: `duration.gt`, `string.min_len`, `oneof.required`. */
  readonly rule: string;
  readonly message: string;
}

type Rules = Record<string, unknown>;

const rulesCache = new WeakMap<protobuf.Field, Rules | null>();

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function deepMerge(a: Rules, b: Rules): Rules {
  const out: Rules = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Rules, v) : v;
  return out;
}

/** The field's `(validate.rules)`, merged from every option statement that sets a part of it. */
function rulesOf(field: protobuf.Field): Rules | undefined {
  const cached = rulesCache.get(field);
  if (cached !== undefined) return cached ?? undefined;
  let rules: Rules | undefined;
  for (const o of (field.parsedOptions ?? []) as Record<string, unknown>[]) {
    const r = o['(validate.rules)'];
    if (isObject(r)) rules = deepMerge(rules ?? {}, r);
  }
  rulesCache.set(field, rules ?? null);
  return rules;
}

const WRAPPER_RULE: Readonly<Record<string, string>> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};
const WRAPPER_SCALAR: Readonly<Record<string, string>> = {
  double: 'double',
  float: 'float',
  int64: 'int64',
  uint64: 'uint64',
  int32: 'int32',
  uint32: 'uint32',
  bool: 'bool',
  string: 'string',
  bytes: 'bytes',
};

const NUMERIC = new Set(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Checks `value` against `type` and every message inside it. */
export function checkPgv(type: protobuf.Type, value: unknown): PgvViolation[] {
  const out: PgvViolation[] = [];
  checkMessage(type, value, new FieldPath(), out);
  return out;
}

/** A string path (a map key's) or the walk's current one. */
type PathLike = FieldPath | string;

function report(out: PgvViolation[], path: PathLike, rule: string, message: string): void {
  out.push({ path: String(path), rule, message });
}

function checkMessage(type: protobuf.Type, value: unknown, path: FieldPath, out: PgvViolation[]): void {
  if (!isObject(value)) return; // the shape checker reports wrong kinds
  if (fullNameOf(type) === '.google.protobuf.Any') {
    const url = value['@type'];
    if (typeof url !== 'string') return;
    let inner: protobuf.Type | undefined;
    try {
      inner = type.root.lookupType(url.slice(url.lastIndexOf('/') + 1));
    } catch {
      return; // not loaded: the shape checker reports it
    }
    const { '@type': _t, ...rest } = value;
    checkMessage(inner, rest, path, out);
    return;
  }
  const opts = type.options ?? {};
  if (opts['(validate.disabled)'] === true || opts['(validate.ignored)'] === true) return;
  for (const oneof of type.oneofsArray) {
    if (oneof.options?.['(validate.required)'] !== true) continue;
    if (!oneof.fieldsArray.some((f) => present(value[f.name]))) {
      path.push(oneof.name);
      report(out, path, 'oneof.required', `one of ${oneof.fieldsArray.map((f) => f.name).join(', ')} must be set`);
      path.pop();
    }
  }
  for (const field of type.fieldsArray) {
    const v = value[field.name];
    // An unset member of a oneof (or proto3 `optional` field) is not validated; nor is an
    // unset field without rules (most of them).
    if (!present(v) && (field.partOf || rulesOf(field) === undefined)) continue;
    const rules = rulesOf(field);
    path.push(field.name);
    if (field.map) checkMap(field, v, rules, path, out);
    else if (field.repeated) checkRepeated(field, v, rules, path, out);
    else checkValue(field, v, rules, path, out);
    path.pop();
  }
}

function resolvedType(field: protobuf.Field): protobuf.Type | protobuf.Enum | null {
  return field.resolve().resolvedType as protobuf.Type | protobuf.Enum | null;
}

/** One value of a field (a singular field, a list item, a map value) against `rules`. */
function checkValue(field: protobuf.Field, v: unknown, rules: Rules | undefined, path: FieldPath, out: PgvViolation[]): void {
  const resolved = resolvedType(field);
  const has = present(v);
  if (resolved instanceof protobuf.Type) {
    const name = fullNameOf(resolved);
    const message = rules?.message as Rules | undefined;
    const wrapperKind = WRAPPER_RULE[name];
    if (wrapperKind) {
      if (message?.required === true && !has) report(out, path, 'message.required', 'is required');
      const r = rules?.[wrapperKind] as Rules | undefined;
      if (has && r) checkScalar(WRAPPER_SCALAR[wrapperKind]!, r, isObject(v) ? (v.value ?? defaultOf(wrapperKind)) : v, path, wrapperKind, out);
      return;
    }
    if (name === '.google.protobuf.Duration' || name === '.google.protobuf.Timestamp') {
      const kind = name === '.google.protobuf.Duration' ? 'duration' : 'timestamp';
      const r = rules?.[kind] as Rules | undefined;
      if ((r?.required === true || message?.required === true) && !has) report(out, path, `${kind}.required`, 'is required');
      else if (has && r) checkTime(kind, r, v, path, out);
      return;
    }
    if (name === '.google.protobuf.Any') {
      const r = rules?.any as Rules | undefined;
      if ((r?.required === true || message?.required === true) && !has) {
        report(out, path, 'any.required', 'is required');
        return;
      }
      if (has && r && isObject(v)) checkAny(r, v, path, out);
      if (has && message?.skip !== true) checkMessage(resolved, v, path, out);
      return;
    }
    if (message?.required === true && !has) {
      report(out, path, 'message.required', 'is required');
      return;
    }
    if (has && message?.skip !== true) checkMessage(resolved, v, path, out);
    return;
  }
  if (resolved instanceof protobuf.Enum) {
    const r = rules?.enum as Rules | undefined;
    if (r) checkEnum(resolved, r, has ? v : 0, path, out);
    return;
  }
  const r = rules?.[field.type] as Rules | undefined;
  if (r) checkScalar(field.type, r, has ? v : defaultOf(field.type), path, field.type, out);
}

function defaultOf(type: string): unknown {
  if (type === 'string') return '';
  if (type === 'bool') return false;
  if (type === 'bytes') return '';
  return 0;
}

function checkRepeated(field: protobuf.Field, v: unknown, rules: Rules | undefined, path: FieldPath, out: PgvViolation[]): void {
  const list = Array.isArray(v) ? v : [];
  const r = rules?.repeated as Rules | undefined;
  if (r) {
    if (r.ignore_empty === true && list.length === 0) return;
    const min = num(r.min_items);
    const max = num(r.max_items);
    if (min !== undefined && list.length < min) {
      report(out, path, 'repeated.min_items', min === 1 ? 'must not be empty' : `must have at least ${min} items, has ${list.length}`);
    }
    if (max !== undefined && list.length > max) report(out, path, 'repeated.max_items', `must have at most ${max} items, has ${list.length}`);
    if (r.unique === true) {
      const seen = new Set<string>();
      list.forEach((item, i) => {
        const k = JSON.stringify(item);
        if (seen.has(k)) report(out, `${path}[${i}]`, 'repeated.unique', 'repeats an earlier item');
        seen.add(k);
      });
    }
  }
  const items = r?.items as Rules | undefined;
  for (let i = 0; i < list.length; i++) {
    path.push(i);
    checkValue(field, list[i], items, path, out);
    path.pop();
  }
}

function checkMap(field: protobuf.Field, v: unknown, rules: Rules | undefined, path: FieldPath, out: PgvViolation[]): void {
  const entries = isObject(v) ? Object.entries(v) : [];
  const r = rules?.map as Rules | undefined;
  if (r) {
    if (r.ignore_empty === true && entries.length === 0) return;
    const min = num(r.min_pairs);
    const max = num(r.max_pairs);
    if (min !== undefined && entries.length < min) report(out, path, 'map.min_pairs', `must have at least ${min} entries`);
    if (max !== undefined && entries.length > max) report(out, path, 'map.max_pairs', `must have at most ${max} entries`);
  }
  const keyType = (field as unknown as protobuf.MapField).keyType ?? 'string';
  const keys = (r?.keys as Rules | undefined)?.[keyType] as Rules | undefined;
  const values = r?.values as Rules | undefined;
  for (const [k, item] of entries) {
    path.push(`[${JSON.stringify(k)}]`);
    if (keys) checkScalar(keyType, keys, NUMERIC.has(keyType) ? Number(k) : k, `${path} (key)`, keyType, out);
    if (r?.no_sparse === true && !present(item)) report(out, path, 'map.no_sparse', 'must not be empty');
    checkValue(field, item, values, path, out);
    path.pop();
  }
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  if (isObject(v) && typeof v.toNumber === 'function') return (v.toNumber as () => number)();
  return undefined;
}

function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.map(num).filter((n): n is number => n !== undefined) : [];
}

/** PGV's ranges: gt/gte and lt/lte; a lower bound above the upper one means "outside". */
function checkRange(r: Rules, n: number, fmt: (x: number) => string): { rule: string; message: string } | undefined {
  const gt = num(r.gt);
  const gte = num(r.gte);
  const lt = num(r.lt);
  const lte = num(r.lte);
  const lower = gt ?? gte;
  const upper = lt ?? lte;
  const lowerOk = lower === undefined || (gt !== undefined ? n > gt : n >= gte!);
  const upperOk = upper === undefined || (lt !== undefined ? n < lt : n <= lte!);
  const lowerText = gt !== undefined ? `greater than ${fmt(gt)}` : gte !== undefined ? `at least ${fmt(gte)}` : '';
  const upperText = lt !== undefined ? `less than ${fmt(lt)}` : lte !== undefined ? `at most ${fmt(lte)}` : '';
  const lowerRule = gt !== undefined ? 'gt' : 'gte';
  const upperRule = lt !== undefined ? 'lt' : 'lte';
  if (lower !== undefined && upper !== undefined && upper < lower) {
    // Exclusive range: the value must lie outside [upper, lower].
    if (!lowerOk && !upperOk) return { rule: `${lowerRule}/${upperRule}`, message: `must be ${lowerText} or ${upperText}, got ${fmt(n)}` };
    return undefined;
  }
  if (!lowerOk && !upperOk) return { rule: `${lowerRule}`, message: `must be ${lowerText}, got ${fmt(n)}` };
  if (!lowerOk) return { rule: lowerRule, message: `must be ${lowerText}${upper !== undefined ? ` and ${upperText}` : ''}, got ${fmt(n)}` };
  if (!upperOk) return { rule: upperRule, message: `must be ${upperText}${lower !== undefined ? ` and ${lowerText}` : ''}, got ${fmt(n)}` };
  return undefined;
}

const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const HEADER_LOOSE = /^[^\u0000\u000A\u000D]*$/;
const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function bytesOf(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  return new Uint8Array();
}

/** `[...s].length` without the array: UTF-16 length minus the low halves of surrogate pairs. */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function checkScalar(type: string, r: Rules, v: unknown, path: PathLike, kind: string, out: PgvViolation[]): void {
  const fail = (rule: string, message: string): void => {
    report(out, path, `${kind}.${rule}`, message);
  };
  if (type === 'string') {
    const s = typeof v === 'string' ? v : '';
    if (r.ignore_empty === true && s === '') return;
    const chars = codePoints(s);
    const bytes = Buffer.byteLength(s);
    if (r.const !== undefined && s !== r.const) fail('const', `must be ${show(r.const)}, got ${show(s)}`);
    if (num(r.len) !== undefined && chars !== num(r.len)) fail('len', `must be ${num(r.len)} characters long, got ${chars}`);
    if (num(r.min_len) !== undefined && chars < num(r.min_len)!) {
      fail('min_len', num(r.min_len) === 1 ? 'must not be empty' : `must be at least ${num(r.min_len)} characters long, got ${chars}`);
    }
    if (num(r.max_len) !== undefined && chars > num(r.max_len)!) fail('max_len', `must be at most ${num(r.max_len)} characters long, got ${chars}`);
    if (num(r.len_bytes) !== undefined && bytes !== num(r.len_bytes)) fail('len_bytes', `must be ${num(r.len_bytes)} bytes long, got ${bytes}`);
    if (num(r.min_bytes) !== undefined && bytes < num(r.min_bytes)!) fail('min_bytes', `must be at least ${num(r.min_bytes)} bytes long, got ${bytes}`);
    if (num(r.max_bytes) !== undefined && bytes > num(r.max_bytes)!) fail('max_bytes', `must be at most ${num(r.max_bytes)} bytes long, got ${bytes}`);
    if (typeof r.pattern === 'string') {
      let re: RegExp | undefined;
      try {
        re = new RegExp(r.pattern, 'u');
      } catch {
        re = undefined;
      }
      if (re && !re.test(s)) fail('pattern', `must match ${r.pattern}, got ${show(s)}`);
    }
    if (typeof r.prefix === 'string' && !s.startsWith(r.prefix)) fail('prefix', `must start with ${show(r.prefix)}, got ${show(s)}`);
    if (typeof r.suffix === 'string' && !s.endsWith(r.suffix)) fail('suffix', `must end with ${show(r.suffix)}, got ${show(s)}`);
    if (typeof r.contains === 'string' && !s.includes(r.contains)) fail('contains', `must contain ${show(r.contains)}`);
    if (typeof r.not_contains === 'string' && s.includes(r.not_contains)) fail('not_contains', `must not contain ${show(r.not_contains)}`);
    if (Array.isArray(r.in) && !r.in.includes(s)) fail('in', `must be one of ${r.in.map(show).join(', ')}, got ${show(s)}`);
    if (Array.isArray(r.not_in) && r.not_in.includes(s)) fail('not_in', `must not be ${show(s)}`);
    if (typeof r.well_known_regex === 'string') {
      const strict = r.strict !== false;
      const re =
        r.well_known_regex === 'HTTP_HEADER_NAME'
          ? strict
            ? HEADER_NAME_STRICT
            : HEADER_LOOSE
          : r.well_known_regex === 'HTTP_HEADER_VALUE'
            ? strict
              ? HEADER_VALUE_STRICT
              : HEADER_LOOSE
            : undefined;
      const what = r.well_known_regex === 'HTTP_HEADER_NAME' ? 'a header name' : 'a header value';
      if (re && !re.test(s)) fail('well_known_regex', `must be ${what} (${strict ? '' : 'no NUL, CR or LF; '}${r.well_known_regex}), got ${show(s)}`);
    }
    if (r.hostname === true && !HOSTNAME.test(s)) fail('hostname', `must be a host name, got ${show(s)}`);
    if (r.ip === true && isIP(s) === 0) fail('ip', `must be an IP address, got ${show(s)}`);
    if (r.ipv4 === true && isIP(s) !== 4) fail('ipv4', `must be an IPv4 address, got ${show(s)}`);
    if (r.ipv6 === true && isIP(s) !== 6) fail('ipv6', `must be an IPv6 address, got ${show(s)}`);
    if (r.address === true && isIP(s) === 0 && !HOSTNAME.test(s)) fail('address', `must be a host name or IP address, got ${show(s)}`);
    if (r.uuid === true && !UUID.test(s)) fail('uuid', `must be a UUID, got ${show(s)}`);
    if (r.uri === true && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s)) fail('uri', `must be an absolute URI, got ${show(s)}`);
    if (r.email === true && !/^[^@\s]+@[^@\s]+$/.test(s)) fail('email', `must be an email address, got ${show(s)}`);
    return;
  }
  if (type === 'bytes') {
    const b = bytesOf(v);
    if (r.ignore_empty === true && b.length === 0) return;
    if (num(r.len) !== undefined && b.length !== num(r.len)) fail('len', `must be ${num(r.len)} bytes long, got ${b.length}`);
    if (num(r.min_len) !== undefined && b.length < num(r.min_len)!) fail('min_len', `must be at least ${num(r.min_len)} bytes long, got ${b.length}`);
    if (num(r.max_len) !== undefined && b.length > num(r.max_len)!) fail('max_len', `must be at most ${num(r.max_len)} bytes long, got ${b.length}`);
    return;
  }
  if (type === 'bool') {
    if (typeof r.const === 'boolean' && v !== r.const) fail('const', `must be ${String(r.const)}`);
    return;
  }
  if (NUMERIC.has(type)) {
    const n = num(v) ?? 0;
    if (r.ignore_empty === true && n === 0) return;
    if (num(r.const) !== undefined && n !== num(r.const)) fail('const', `must be ${num(r.const)}, got ${n}`);
    const range = checkRange(r, n, String);
    if (range) fail(range.rule, range.message);
    const inList = numbers(r.in);
    if (Array.isArray(r.in) && !inList.includes(n)) fail('in', `must be one of ${inList.join(', ')}, got ${n}`);
    if (numbers(r.not_in).includes(n)) fail('not_in', `must not be ${n}`);
  }
}

function checkEnum(e: protobuf.Enum, r: Rules, v: unknown, path: PathLike, out: PgvViolation[]): void {
  const n = typeof v === 'string' ? e.values[v] : num(v);
  const fail = (rule: string, message: string): void => {
    report(out, path, `enum.${rule}`, message);
  };
  if (n === undefined) {
    if (r.defined_only === true) fail('defined_only', `${show(v)} is not a value of ${e.name}`);
    return;
  }
  if (r.defined_only === true && e.valuesById[n] === undefined) fail('defined_only', `${n} is not a value of ${e.name}`);
  if (num(r.const) !== undefined && n !== num(r.const)) fail('const', `must be ${e.valuesById[num(r.const)!] ?? num(r.const)}`);
  if (Array.isArray(r.in) && !numbers(r.in).includes(n)) fail('in', `must be one of ${numbers(r.in).map((x) => e.valuesById[x] ?? x).join(', ')}`);
  if (numbers(r.not_in).includes(n)) fail('not_in', `must not be ${e.valuesById[n] ?? n}`);
}

/** Nanoseconds of a Duration/Timestamp in object form (`{ seconds, nanos }`) as a BigInt. */
function nanosOf(v: unknown): bigint {
  if (!isObject(v)) return 0n;
  const s = num(v.seconds) ?? 0;
  const n = num(v.nanos) ?? 0;
  return BigInt(Math.trunc(s)) * 1_000_000_000n + BigInt(Math.trunc(n));
}

function showDuration(ns: bigint): string {
  if (ns % 1_000_000_000n === 0n) return `${ns / 1_000_000_000n}s`;
  if (ns % 1_000_000n === 0n) return `${ns / 1_000_000n}ms`;
  return `${ns}ns`;
}

function checkTime(kind: 'duration' | 'timestamp', r: Rules, v: unknown, path: PathLike, out: PgvViolation[]): void {
  const ns = nanosOf(v);
  const fail = (rule: string, message: string): void => {
    report(out, path, `${kind}.${rule}`, message);
  };
  const bound = (key: string): bigint | undefined => (r[key] !== undefined ? nanosOf(r[key]) : undefined);
  if (r.const !== undefined && ns !== nanosOf(r.const)) fail('const', `must be ${showDuration(nanosOf(r.const))}, got ${showDuration(ns)}`);
  const gt = bound('gt');
  const gte = bound('gte');
  const lt = bound('lt');
  const lte = bound('lte');
  const lower = gt ?? gte;
  const upper = lt ?? lte;
  const lowerOk = lower === undefined || (gt !== undefined ? ns > gt : ns >= gte!);
  const upperOk = upper === undefined || (lt !== undefined ? ns < lt : ns <= lte!);
  const lowerText = gt !== undefined ? `greater than ${showDuration(gt)}` : gte !== undefined ? `at least ${showDuration(gte)}` : '';
  const upperText = lt !== undefined ? `less than ${showDuration(lt)}` : lte !== undefined ? `at most ${showDuration(lte)}` : '';
  if (lower !== undefined && upper !== undefined && upper < lower) {
    if (!lowerOk && !upperOk) fail(`${gt !== undefined ? 'gt' : 'gte'}`, `must be ${lowerText} or ${upperText}, got ${showDuration(ns)}`);
  } else {
    if (!lowerOk) fail(gt !== undefined ? 'gt' : 'gte', `must be ${lowerText}, got ${showDuration(ns)}`);
    if (!upperOk) fail(lt !== undefined ? 'lt' : 'lte', `must be ${upperText}, got ${showDuration(ns)}`);
  }
  if (Array.isArray(r.in) && !r.in.some((x) => nanosOf(x) === ns)) fail('in', `must be one of ${r.in.map((x) => showDuration(nanosOf(x))).join(', ')}`);
  if (Array.isArray(r.not_in) && r.not_in.some((x) => nanosOf(x) === ns)) fail('not_in', `must not be ${showDuration(ns)}`);
}

function checkAny(r: Rules, v: Record<string, unknown>, path: PathLike, out: PgvViolation[]): void {
  const url = typeof v['@type'] === 'string' ? v['@type'] : '';
  if (Array.isArray(r.in) && !r.in.includes(url)) report(out, path, 'any.in', `must hold one of ${r.in.join(', ')}, holds ${url}`);
  if (Array.isArray(r.not_in) && r.not_in.includes(url)) report(out, path, 'any.not_in', `must not hold ${url}`);
}

/** `path: message (validate.rules rule)`. */
export function formatViolation(v: PgvViolation): string {
  return `${v.path || '<root>'}: ${v.message} (validate.rules ${v.rule})`;
}

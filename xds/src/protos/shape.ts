import protobuf from 'protobufjs';
import { FieldPath } from './field-path.js';
import { fullNameOf } from './root.js';

export interface ShapeOptions {
  /**
   * Proto3 JSON mapping (bootstrap files): durations as `"1s"`, wrappers as bare values.
   * Off by default: generated resources use protobufjs's object form (`{ value: 100 }`).
   */
  readonly json?: boolean;
}

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (w) => `.google.protobuf.${w}Value`,
  ),
);
const INTEGER_TYPES = new Set(['int32', 'sint32', 'sfixed32', 'int64', 'sint64', 'sfixed64']);
const UNSIGNED_TYPES = new Set(['uint32', 'fixed32', 'uint64', 'fixed64']);

/**
 * Checks a plain object against a message type strictly: unknown field names, more than
 * one member of a oneof, wrong scalar kinds and unknown enum names are errors. protobufjs's
 * `fromObject` drops unknown fields silently, so a typo would otherwise reach a proxy as a
 * missing field. `Any` values are checked against their `@type`.
 */
export function checkShape(type: protobuf.Type, value: unknown, options: ShapeOptions = {}): string[] {
  const errors: string[] = [];
  checkMessage(type, value, new FieldPath(), errors, options);
  return errors;
}

function checkMessage(type: protobuf.Type, value: unknown, path: FieldPath, errors: string[], opts: ShapeOptions): void {
  const full = fullNameOf(type);
  if (opts.json && full === '.google.protobuf.Duration' && typeof value === 'string') {
    if (!/^-?\d+(\.\d{1,9})?s$/.test(value)) errors.push(`${where(path)}: not a duration: ${JSON.stringify(value)}`);
    return;
  }
  if (opts.json && WRAPPERS.has(full) && (typeof value !== 'object' || value === null)) return;
  if (full === '.google.protobuf.Struct' || full === '.google.protobuf.Value') return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push(`${where(path)}: expected an object for ${full.slice(1)}`);
    return;
  }
  const obj = value as Record<string, unknown>;
  if (full === '.google.protobuf.Any') {
    const typeUrl = obj['@type'];
    if (typeof typeUrl !== 'string') {
      errors.push(`${where(path)}: Any without @type`);
      return;
    }
    const inner = lookupAnyType(type, typeUrl);
    if (!inner) {
      errors.push(`${where(path)}: Any type ${typeUrl} is not loaded (it would encode empty)`);
      return;
    }
    const { '@type': _drop, ...rest } = obj;
    checkMessage(inner, rest, path, errors, opts);
    return;
  }
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const v = obj[key];
    if (v === undefined || v === null) continue;
    const field = type.fields[key];
    path.push(key);
    if (!field) {
      errors.push(`${path}: unknown field of ${full.slice(1)}`);
    } else {
      const other = field.partOf ? earlierMember(obj, key, field.partOf.oneof) : undefined;
      if (other) errors.push(`${path}: oneof ${field.partOf!.name} already set by ${other}`);
      checkField(field, v, path, errors, opts);
    }
    path.pop();
  }
}

/** The first member of a oneof set before `key` in `obj` (no map per message: most messages hold a oneof). */
function earlierMember(obj: Record<string, unknown>, key: string, members: readonly string[]): string | undefined {
  for (const k in obj) {
    if (k === key) return undefined;
    if (members.includes(k) && obj[k] !== undefined && obj[k] !== null && Object.prototype.hasOwnProperty.call(obj, k)) return k;
  }
  return undefined;
}

/** A field's value (a map, a list or one value) at `path`. */
function checkField(field: protobuf.Field, v: unknown, path: FieldPath, errors: string[], opts: ShapeOptions): void {
  if (field.map) {
    if (typeof v !== 'object' || Array.isArray(v)) {
      errors.push(`${path}: expected a map`);
      return;
    }
    const entries = v as Record<string, unknown>;
    for (const k in entries) {
      if (!Object.prototype.hasOwnProperty.call(entries, k)) continue;
      path.push(`[${JSON.stringify(k)}]`);
      checkValue(field, entries[k], path, errors, opts);
      path.pop();
    }
  } else if (field.repeated) {
    if (!Array.isArray(v)) {
      errors.push(`${path}: expected a list`);
      return;
    }
    for (let i = 0; i < v.length; i++) {
      path.push(i);
      checkValue(field, v[i], path, errors, opts);
      path.pop();
    }
  } else {
    checkValue(field, v, path, errors, opts);
  }
}

function checkValue(field: protobuf.Field, v: unknown, path: FieldPath, errors: string[], opts: ShapeOptions): void {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) {
    checkMessage(resolved, v, path, errors, opts);
    return;
  }
  if (resolved instanceof protobuf.Enum) {
    const ok = typeof v === 'string' ? v in resolved.values : typeof v === 'number' && v in resolved.valuesById;
    if (!ok) errors.push(`${path}: ${JSON.stringify(v)} is not a value of ${fullNameOf(resolved).slice(1)}`);
    return;
  }
  const t = field.type;
  if (t === 'string') {
    if (typeof v !== 'string') bad(errors, path, 'a string', v);
  } else if (t === 'bool') {
    if (typeof v !== 'boolean') bad(errors, path, 'a boolean', v);
  } else if (t === 'bytes') {
    if (!(v instanceof Uint8Array) && typeof v !== 'string') bad(errors, path, 'bytes', v);
  } else if (t === 'double' || t === 'float') {
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(errors, path, 'a number', v);
  } else if (INTEGER_TYPES.has(t) || UNSIGNED_TYPES.has(t)) {
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) bad(errors, path, 'an integer', v);
    else if (UNSIGNED_TYPES.has(t) && n < 0) bad(errors, path, 'an unsigned integer', v);
  }
}

/** The path for an error about a whole message (`<root>` for the resource itself). */
function where(path: FieldPath): string {
  return String(path) || '<root>';
}

function bad(errors: string[], path: FieldPath, what: string, v: unknown): void {
  errors.push(`${path}: expected ${what}, got ${JSON.stringify(v)}`);
}

function lookupAnyType(anyType: protobuf.Type, typeUrl: string): protobuf.Type | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  try {
    return anyType.root.lookupType(name);
  } catch {
    return undefined;
  }
}

import protobuf from 'protobufjs';

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
  checkMessage(type, value, '', errors, options);
  return errors;
}

function checkMessage(type: protobuf.Type, value: unknown, path: string, errors: string[], opts: ShapeOptions): void {
  const where = path || '<root>';
  const full = type.fullName;
  if (opts.json && full === '.google.protobuf.Duration' && typeof value === 'string') {
    if (!/^-?\d+(\.\d{1,9})?s$/.test(value)) errors.push(`${where}: not a duration: ${JSON.stringify(value)}`);
    return;
  }
  if (opts.json && WRAPPERS.has(full) && (typeof value !== 'object' || value === null)) return;
  if (full === '.google.protobuf.Struct' || full === '.google.protobuf.Value') return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push(`${where}: expected an object for ${full.slice(1)}`);
    return;
  }
  const obj = value as Record<string, unknown>;
  if (full === '.google.protobuf.Any') {
    const typeUrl = obj['@type'];
    if (typeof typeUrl !== 'string') {
      errors.push(`${where}: Any without @type`);
      return;
    }
    const inner = lookupAnyType(type, typeUrl);
    if (!inner) {
      errors.push(`${where}: Any type ${typeUrl} is not loaded (it would encode empty)`);
      return;
    }
    const { '@type': _drop, ...rest } = obj;
    checkMessage(inner, rest, path, errors, opts);
    return;
  }
  const oneofsSeen = new Map<string, string>();
  for (const [key, v] of Object.entries(obj)) {
    if (v === undefined || v === null) continue;
    const field = type.fields[key];
    const fieldPath = path ? `${path}.${key}` : key;
    if (!field) {
      errors.push(`${fieldPath}: unknown field of ${full.slice(1)}`);
      continue;
    }
    if (field.partOf) {
      const other = oneofsSeen.get(field.partOf.name);
      if (other) errors.push(`${fieldPath}: oneof ${field.partOf.name} already set by ${other}`);
      else oneofsSeen.set(field.partOf.name, key);
    }
    if (field.map) {
      if (typeof v !== 'object' || Array.isArray(v)) {
        errors.push(`${fieldPath}: expected a map`);
        continue;
      }
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
        checkValue(field, item, `${fieldPath}[${JSON.stringify(k)}]`, errors, opts);
      }
    } else if (field.repeated) {
      if (!Array.isArray(v)) {
        errors.push(`${fieldPath}: expected a list`);
        continue;
      }
      v.forEach((item, i) => checkValue(field, item, `${fieldPath}[${i}]`, errors, opts));
    } else {
      checkValue(field, v, fieldPath, errors, opts);
    }
  }
}

function checkValue(field: protobuf.Field, v: unknown, path: string, errors: string[], opts: ShapeOptions): void {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) {
    checkMessage(resolved, v, path, errors, opts);
    return;
  }
  if (resolved instanceof protobuf.Enum) {
    const ok = typeof v === 'string' ? v in resolved.values : typeof v === 'number' && v in resolved.valuesById;
    if (!ok) errors.push(`${path}: ${JSON.stringify(v)} is not a value of ${resolved.fullName.slice(1)}`);
    return;
  }
  const t = field.type;
  const bad = (what: string) => errors.push(`${path}: expected ${what}, got ${JSON.stringify(v)}`);
  if (t === 'string') {
    if (typeof v !== 'string') bad('a string');
  } else if (t === 'bool') {
    if (typeof v !== 'boolean') bad('a boolean');
  } else if (t === 'bytes') {
    if (!(v instanceof Uint8Array) && typeof v !== 'string') bad('bytes');
  } else if (t === 'double' || t === 'float') {
    if (typeof v !== 'number' || !Number.isFinite(v)) bad('a number');
  } else if (INTEGER_TYPES.has(t) || UNSIGNED_TYPES.has(t)) {
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) bad('an integer');
    else if (UNSIGNED_TYPES.has(t) && n < 0) bad('an unsigned integer');
  }
}

function lookupAnyType(anyType: protobuf.Type, typeUrl: string): protobuf.Type | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  try {
    return anyType.root.lookupType(name);
  } catch {
    return undefined;
  }
}

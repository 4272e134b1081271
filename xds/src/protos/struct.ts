/**
 * google.protobuf.Struct ⇄ plain JSON. protobufjs predefines Struct/Value with camelCase
 * field names even under `keepCase` (`stringValue`, `structValue`, ...), so snake_case
 * objects are silently encoded empty (XDS-INTEROP). Both directions live here.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** protobufjs object form of a Struct: `{ fields: { KEY: { stringValue: 'x' } } }`. */
export interface StructObject {
  fields?: Record<string, ValueObject>;
}
export interface ValueObject {
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructObject;
  listValue?: { values?: ValueObject[] };
}

export function structToJson(struct: StructObject | null | undefined): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(struct?.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

export function valueToJson(v: ValueObject | null | undefined): Json {
  if (!v) return null;
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.numberValue !== undefined && v.numberValue !== null) return v.numberValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.structValue) return structToJson(v.structValue);
  if (v.listValue) return (v.listValue.values ?? []).map(valueToJson);
  return null;
}

export function jsonToStruct(obj: Readonly<Record<string, unknown>>): StructObject {
  const fields: Record<string, ValueObject> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) fields[k] = jsonToValue(v);
  return { fields };
}

export function jsonToValue(v: unknown): ValueObject {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  return { structValue: jsonToStruct(v as Record<string, unknown>) };
}

import { createHash } from 'node:crypto';
import { OverlayMap } from './overlay-map.js';

/**
 * JSON with object keys sorted, so equal content always serialises (and hashes) equally,
 * whatever order a platform or a YAML file listed the keys in.
 */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value instanceof Map || value instanceof OverlayMap) return stableStringify(Object.fromEntries(value));
  const keys = Object.keys(value as Record<string, unknown>).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${stableStringify(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Short content hash (16 hex chars of SHA-256): stable across processes and replicas. */
export function contentHash(...parts: readonly (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(p);
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/** Content hash of a JSON-like value. */
export function hashOf(value: unknown): string {
  return contentHash(stableStringify(value));
}

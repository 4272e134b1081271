/**
 * Names on NATS: buckets and subjects are namespaced by mesh id so several meshes can
 * share one NATS; map keys are escaped into KV-safe tokens.
 *
 * Layout of a mesh `<mesh>`:
 *
 * | bucket                        | keys                                   | value                          |
 * | ----------------------------- | -------------------------------------- | ------------------------------ |
 * | `isthmus_<mesh>_registry`     | `m.<source>` / `c.<source>.<hash>`     | RegistryMessage envelope/chunk |
 * | `isthmus_<mesh>_config`       | `m.<part>` / `c.<part>.<hash>`         | ConfigMessage envelope/chunk   |
 * | `isthmus_<mesh>_proxy_status` | `m.<server>/<proxy>`                   | ProxyStatusMessage envelope    |
 * | `isthmus_<mesh>_heartbeat`    | `hb.<source>`                          | adapter heartbeat              |
 *
 * Change notifications: `isthmus.<mesh>.<map>.<put|delete>` carry `{key, revision}` after
 * each write (for operators and tools: `nats sub 'isthmus.default.>'`); the state itself
 * always comes from KV, so a process that missed notifications loses nothing.
 */

const MESH_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws unless `mesh` can name buckets and subjects. */
export function checkMeshId(mesh: string): string {
  if (!MESH_ID.test(mesh)) {
    throw new Error(`mesh id ${JSON.stringify(mesh)}: use 1-64 letters, digits, '-' or '_'`);
  }
  return mesh;
}

export type MapName = 'registry' | 'config' | 'proxy_status' | 'heartbeat';

export function bucketName(mesh: string, map: MapName): string {
  return `isthmus_${checkMeshId(mesh)}_${map}`;
}

export function eventSubject(mesh: string, map: MapName, op: 'put' | 'delete'): string {
  return `isthmus.${checkMeshId(mesh)}.${map}.${op}`;
}

const SAFE = /[A-Za-z0-9_/-]/;

/**
 * A map key as one KV key token: letters, digits, `_`, `-` and `/` stay (so
 * `consul/dc1` reads as itself); every other byte becomes `=XX` (hex). `.` is escaped
 * because it separates subject tokens.
 */
export function encodeKey(key: string): string {
  if (key === '') return '=';
  let out = '';
  for (const ch of key) {
    if (SAFE.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of Buffer.from(ch, 'utf8')) out += `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeKey(token: string): string {
  if (token === '=') return '';
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const c = token[i]!;
    if (c === '=' && /^[0-9A-F]{2}$/i.test(token.slice(i + 1, i + 3))) {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export const ENTRY_PREFIX = 'm.';
export const CHUNK_PREFIX = 'c.';
export const HEARTBEAT_PREFIX = 'hb.';

export const entryKey = (key: string): string => `${ENTRY_PREFIX}${encodeKey(key)}`;
export const chunkKey = (key: string, hash: string): string => `${CHUNK_PREFIX}${encodeKey(key)}.${hash}`;
export const chunkFilter = (key: string): string => `${CHUNK_PREFIX}${encodeKey(key)}.*`;
export const heartbeatKey = (source: string): string => `${HEARTBEAT_PREFIX}${encodeKey(source)}`;

/** What a KV key of a map bucket stands for. */
export type ParsedKey =
  | { readonly type: 'entry'; readonly key: string }
  | { readonly type: 'chunk'; readonly key: string; readonly hash: string }
  | { readonly type: 'heartbeat'; readonly source: string }
  | { readonly type: 'unknown' };

export function parseKvKey(kvKey: string): ParsedKey {
  if (kvKey.startsWith(ENTRY_PREFIX)) return { type: 'entry', key: decodeKey(kvKey.slice(ENTRY_PREFIX.length)) };
  if (kvKey.startsWith(HEARTBEAT_PREFIX)) return { type: 'heartbeat', source: decodeKey(kvKey.slice(HEARTBEAT_PREFIX.length)) };
  if (kvKey.startsWith(CHUNK_PREFIX)) {
    const rest = kvKey.slice(CHUNK_PREFIX.length);
    const dot = rest.lastIndexOf('.');
    if (dot > 0) return { type: 'chunk', key: decodeKey(rest.slice(0, dot)), hash: rest.slice(dot + 1) };
  }
  return { type: 'unknown' };
}

import { contentHash, type RegistryMessage, type Service, type Workload } from '@isthmus/core';

/**
 * How a value too large for one NATS message is cut into pieces (each stored under its
 * own content-addressed KV key) and put back together. A piece must be JSON.
 */
export interface ValueCodec<T> {
  split(value: T, maxPieceBytes: number): { head: unknown; pieces: unknown[] };
  join(head: unknown, pieces: readonly unknown[]): T;
}

/** What a map entry's KV value holds: the value itself, or a head and its chunks. */
export interface Envelope {
  /** Format version. */
  readonly v: 1;
  /** Process that wrote it (`<host>/<pid>/<random>`). */
  readonly writer: string;
  /** Writer's clock at publish (for the publish → applied lag). */
  readonly publishedAt: string;
  readonly value?: unknown;
  readonly head?: unknown;
  /** Content hashes of the chunks, in order: KV keys `c.<key>.<hash>`. */
  readonly chunks?: readonly string[];
}

export interface EncodedChunk {
  readonly hash: string;
  readonly bytes: Uint8Array;
}

const enc = new TextEncoder();

export function jsonBytes(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value));
}

/** Encodes pieces into content-addressed chunks; the hash covers the exact bytes. */
export function encodeChunks(pieces: readonly unknown[], maxBytes: number): EncodedChunk[] {
  return pieces.map((p, i) => {
    const bytes = jsonBytes(p);
    if (bytes.length > maxBytes) {
      throw new Error(`chunk ${i} is ${bytes.length} bytes, over the ${maxBytes}-byte limit of the NATS server`);
    }
    return { hash: contentHash(bytes), bytes };
  });
}

/**
 * Any JSON value: its text cut into slices. Used for config and proxy status, which are
 * rarely large; no update locality (one changed object rewrites every slice after it).
 */
export function textCodec<T>(): ValueCodec<T> {
  return {
    split(value, maxPieceBytes) {
      const text = JSON.stringify(value);
      // JSON string escaping can grow a slice (quotes, backslashes, \uXXXX): leave room.
      const step = Math.max(1024, Math.floor(maxPieceBytes / 7));
      const pieces: string[] = [];
      for (let i = 0; i < text.length; i += step) pieces.push(text.slice(i, i + step));
      return { head: { kind: 'text' }, pieces };
    },
    join(_head, pieces) {
      return JSON.parse((pieces as string[]).join('')) as T;
    },
  };
}

interface RegistryHead {
  readonly kind: 'registry';
  readonly source: string;
  readonly synced: boolean;
  readonly stale: boolean;
  readonly error?: string;
  readonly updatedAt: string;
}

interface RegistryPiece {
  readonly services: Service[];
  readonly workloads: Workload[];
}

/**
 * Registry shards cut by mesh hostname: one chunk per host (its Service and Workloads),
 * a host with more workloads than fit in one message cut further into runs of workloads.
 * A change to one host rewrites only that host's chunk (chunks are content-addressed, so
 * unchanged hosts keep their keys), and the envelope lists the chunk hashes.
 */
export function registryCodec(): ValueCodec<RegistryMessage> {
  return {
    split(message, maxPieceBytes) {
      const { shard, ...rest } = message;
      const head: RegistryHead = {
        kind: 'registry',
        source: shard.source,
        synced: rest.synced,
        stale: rest.stale,
        ...(rest.error !== undefined ? { error: rest.error } : {}),
        updatedAt: rest.updatedAt,
      };
      const hosts = new Map<string, { service?: Service; workloads: Workload[] }>();
      const at = (h: string) => {
        let e = hosts.get(h);
        if (!e) hosts.set(h, (e = { workloads: [] }));
        return e;
      };
      for (const s of shard.services) at(s.hostname).service = s;
      for (const w of shard.workloads) at(w.hostname).workloads.push(w);
      const pieces: RegistryPiece[] = [];
      for (const host of [...hosts.keys()].sort()) {
        const { service, workloads } = hosts.get(host)!;
        const whole: RegistryPiece = { services: service ? [service] : [], workloads };
        if (jsonBytes(whole).length <= maxPieceBytes) {
          pieces.push(whole);
          continue;
        }
        // Too big for one message: the service alone, then runs of workloads that fit.
        pieces.push({ services: service ? [service] : [], workloads: [] });
        let run: Workload[] = [];
        let size = 2;
        for (const w of workloads) {
          const n = jsonBytes(w).length + 1;
          if (run.length > 0 && size + n + 64 > maxPieceBytes) {
            pieces.push({ services: [], workloads: run });
            run = [];
            size = 2;
          }
          run.push(w);
          size += n;
        }
        if (run.length > 0) pieces.push({ services: [], workloads: run });
      }
      return { head, pieces };
    },
    join(head, pieces) {
      const h = head as RegistryHead;
      const services: Service[] = [];
      const workloads: Workload[] = [];
      for (const p of pieces as RegistryPiece[]) {
        services.push(...p.services);
        workloads.push(...p.workloads);
      }
      return {
        shard: { source: h.source, services, workloads },
        synced: h.synced,
        stale: h.stale,
        ...(h.error !== undefined ? { error: h.error } : {}),
        updatedAt: h.updatedAt,
      };
    },
  };
}

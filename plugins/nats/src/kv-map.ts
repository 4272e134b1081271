import type { KvEntry, NatsConnection } from 'nats';
import type { ReplicatedMap, Unsubscribe } from '@isthmus/core';
import type { BucketLink } from './bucket.js';
import { encodeChunks, jsonBytes, type Envelope, type ValueCodec } from './chunking.js';
import type { ConnectionLogger, NatsConnector } from './connection.js';
import { chunkFilter, chunkKey, entryKey, eventSubject, parseKvKey, type MapName } from './keys.js';
import type { BusMetrics } from './metrics.js';

export interface KvMapOptions<T> {
  readonly mesh: string;
  readonly name: Exclude<MapName, 'heartbeat'>;
  readonly link: BucketLink;
  readonly connector: NatsConnector;
  readonly codec: ValueCodec<T>;
  readonly writerId: string;
  readonly logger: ConnectionLogger;
  readonly metrics: BusMetrics;
  /** Values up to this size are stored inline in their entry. Default 256 KiB (at most half the server's max_payload). */
  readonly inlineLimitBytes?: number;
  /** Label `isthmus_bus_kv_revision{source}` with this map's keys (the registry map). */
  readonly revisionMetric?: boolean;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

interface Job<T> {
  value: T | undefined;
  waiters: Waiter[];
}

const dec = new TextDecoder();

/**
 * A ReplicatedMap on one JetStream KV bucket.
 *
 * Reads come from a local mirror fed by the bucket's watch (first every current entry,
 * then each change), so `get` and `entries` are synchronous and keep the last state while
 * NATS is unreachable. Writes are queued per key, the latest value winning, and retried
 * until NATS acknowledges them: a put made during an outage lands after the reconnect,
 * and its promise resolves then. A written value shows in the mirror once it comes back
 * through the watch (KV is the single source of truth, so every process sees the same
 * order).
 *
 * Values larger than the inline limit are stored as content-addressed chunks
 * (`c.<key>.<hash>`, cut by the map's codec: per host for registry shards) written before
 * the entry that lists them, so a reader that sees the entry already has its chunks;
 * chunks no entry lists any more are purged after the entry is written. One writer per
 * key (a source is published by one adapter; a config part by one store).
 */
export class KvReplicatedMap<T> implements ReplicatedMap<T> {
  private readonly values = new Map<string, T>();
  private readonly envelopes = new Map<string, { env: Envelope; revision: number; replay: boolean }>();
  private readonly chunks = new Map<string, Map<string, unknown>>();
  private readonly pendingKeys = new Set<string>();
  private readonly revisions = new Map<string, number>();
  private readonly watchers = new Set<(key: string, value: T | undefined) => void>();
  private readonly queue = new Map<string, Job<T>>();
  private readonly inflight = new Set<string>();
  /** Chunks this process knows exist, per key (listed from KV on first write). */
  private readonly written = new Map<string, Set<string>>();
  private mirroring = false;
  private closed = false;

  constructor(private readonly o: KvMapOptions<T>) {}

  get name(): string {
    return this.o.name;
  }

  /** Starts mirroring (idempotent). Reads before the first replay see an empty map. */
  mirror(): void {
    if (this.mirroring) return;
    this.mirroring = true;
    this.o.link.watch((entry, replay) => this.apply(entry, replay));
  }

  get mirrored(): boolean {
    return this.mirroring;
  }

  /** Mirrored and the first full replay delivered. */
  get initialized(): boolean {
    return this.mirroring && this.o.link.initialized;
  }

  /** Entries waiting for chunks (normally none outside a write in progress). */
  get pending(): number {
    return this.pendingKeys.size;
  }

  /** Writes not yet acknowledged by NATS. */
  get unsentWrites(): number {
    return this.queue.size + this.inflight.size;
  }

  revisionOf(key: string): number | undefined {
    return this.revisions.get(key);
  }

  put(key: string, value: T): Promise<void> {
    return this.schedule(key, value);
  }

  delete(key: string): Promise<void> {
    return this.schedule(key, undefined);
  }

  get(key: string): T | undefined {
    this.mirror();
    return this.values.get(key);
  }

  entries(): ReadonlyMap<string, T> {
    this.mirror();
    return this.values;
  }

  watch(handler: (key: string, value: T | undefined) => void): Unsubscribe {
    this.mirror();
    for (const [k, v] of this.values) handler(k, v);
    this.watchers.add(handler);
    return () => this.watchers.delete(handler);
  }

  /** Waits until queued writes are acknowledged (or `timeoutMs` passes); true when drained. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.unsentWrites > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.unsentWrites === 0;
  }

  close(): void {
    this.closed = true;
    for (const [key, job] of this.queue) {
      for (const w of job.waiters) w.reject(new Error(`bus closed before ${this.o.name}/${key} was written`));
    }
    this.queue.clear();
    this.watchers.clear();
  }

  // ---- mirror ----

  private emit(key: string, value: T | undefined): void {
    for (const w of [...this.watchers]) {
      try {
        w(key, value);
      } catch (err) {
        this.o.logger.warn({ map: this.o.name, key, err: String(err) }, 'bus watcher failed');
      }
    }
  }

  private apply(entry: KvEntry, replay: boolean): void {
    const parsed = parseKvKey(entry.key);
    const deleted = entry.operation !== 'PUT';
    if (parsed.type === 'chunk') {
      let byHash = this.chunks.get(parsed.key);
      if (deleted) {
        byHash?.delete(parsed.hash);
        if (byHash && byHash.size === 0) this.chunks.delete(parsed.key);
        return;
      }
      if (!byHash) this.chunks.set(parsed.key, (byHash = new Map()));
      byHash.set(parsed.hash, JSON.parse(dec.decode(entry.value)));
      if (this.pendingKeys.has(parsed.key)) this.assemble(parsed.key);
      return;
    }
    if (parsed.type !== 'entry') return;
    const key = parsed.key;
    if (deleted) {
      this.envelopes.delete(key);
      this.pendingKeys.delete(key);
      this.revisions.delete(key);
      if (this.o.revisionMetric) this.o.metrics.kvRevision.remove({ source: key });
      this.o.metrics.messages.inc({ map: this.o.name, op: 'received_delete' });
      if (this.values.delete(key)) this.emit(key, undefined);
      return;
    }
    let env: Envelope;
    try {
      env = JSON.parse(dec.decode(entry.value)) as Envelope;
    } catch (err) {
      this.o.logger.warn({ map: this.o.name, key, revision: entry.revision, err: String(err) }, 'unreadable bus entry ignored');
      return;
    }
    this.o.metrics.messages.inc({ map: this.o.name, op: 'received_put' });
    this.envelopes.set(key, { env, revision: entry.revision, replay });
    this.assemble(key);
  }

  private assemble(key: string): void {
    const held = this.envelopes.get(key);
    if (!held) return;
    const { env, revision, replay } = held;
    let value: T;
    if (env.chunks) {
      const byHash = this.chunks.get(key);
      const pieces: unknown[] = [];
      for (const h of env.chunks) {
        const p = byHash?.get(h);
        if (p === undefined) {
          this.pendingKeys.add(key);
          return;
        }
        pieces.push(p);
      }
      try {
        value = this.o.codec.join(env.head, pieces);
      } catch (err) {
        this.pendingKeys.delete(key);
        this.o.logger.warn({ map: this.o.name, key, revision, err: String(err) }, 'bus entry could not be assembled; ignored');
        return;
      }
    } else {
      value = env.value as T;
    }
    this.pendingKeys.delete(key);
    const previous = this.revisions.get(key);
    this.values.set(key, value);
    this.revisions.set(key, revision);
    if (this.o.revisionMetric) this.o.metrics.kvRevision.set({ source: key }, revision);
    // Lag counts live entries, and entries a replay (after a reconnect) brings that changed
    // since this process last had them; not the initial replay of old state.
    if (!replay || (previous !== undefined && revision > previous)) {
      const published = Date.parse(env.publishedAt);
      if (Number.isFinite(published)) this.o.metrics.received(this.o.name, published);
    }
    this.emit(key, value);
  }

  // ---- writer ----

  private schedule(key: string, value: T | undefined): Promise<void> {
    if (this.closed) return Promise.reject(new Error('bus closed'));
    return new Promise<void>((resolve, reject) => {
      const job = this.queue.get(key);
      if (job) {
        job.value = value;
        job.waiters.push({ resolve, reject });
      } else {
        this.queue.set(key, { value, waiters: [{ resolve, reject }] });
      }
      void this.pump(key);
    });
  }

  private async pump(key: string): Promise<void> {
    if (this.inflight.has(key)) return;
    this.inflight.add(key);
    let attempt = 0;
    try {
      for (;;) {
        const job = this.queue.get(key);
        if (!job || this.closed) return;
        this.queue.delete(key);
        try {
          await this.write(key, job.value);
          for (const w of job.waiters) w.resolve();
          attempt = 0;
        } catch (err) {
          if (this.closed) {
            for (const w of job.waiters) w.reject(err as Error);
            return;
          }
          const newer = this.queue.get(key);
          if (newer) newer.waiters.push(...job.waiters);
          else this.queue.set(key, job);
          attempt++;
          this.o.metrics.writeRetries.inc({ map: this.o.name });
          if (attempt === 1 || attempt % 20 === 0) {
            this.o.logger.warn(
              { map: this.o.name, key, attempt, err: (err as Error).message },
              'bus write not acknowledged; retrying until NATS takes it',
            );
          }
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
        }
      }
    } finally {
      this.inflight.delete(key);
    }
  }

  private limits(nc: NatsConnection | undefined): { inline: number; chunk: number } {
    const maxPayload = nc?.info?.max_payload ?? 1024 * 1024;
    const chunk = Math.max(16 * 1024, maxPayload - 8 * 1024);
    const inline = Math.min(this.o.inlineLimitBytes ?? 256 * 1024, Math.floor(maxPayload / 2));
    return { inline, chunk };
  }

  private async knownChunks(key: string): Promise<Set<string>> {
    let known = this.written.get(key);
    if (known) return known;
    known = new Set();
    const kv = await this.o.link.handle();
    // Chunks left by an earlier run of this writer: purged once unreferenced.
    for await (const k of await kv.keys(chunkFilter(key))) {
      const p = parseKvKey(k);
      if (p.type === 'chunk') known.add(p.hash);
    }
    this.written.set(key, known);
    return known;
  }

  private async write(key: string, value: T | undefined): Promise<void> {
    const kv = await this.o.link.handle();
    const nc = this.o.connector.connection;
    const known = await this.knownChunks(key);
    let revision: number;
    let keep = new Set<string>();
    if (value === undefined) {
      await kv.delete(entryKey(key));
      revision = 0;
    } else {
      const { inline, chunk } = this.limits(nc);
      const publishedAt = new Date().toISOString();
      const bytes = jsonBytes(value);
      let env: Envelope;
      if (bytes.length <= inline) {
        env = { v: 1, writer: this.o.writerId, publishedAt, value };
      } else {
        const { head, pieces } = this.o.codec.split(value, chunk - 1024);
        const encoded = encodeChunks(pieces, chunk);
        const missing = encoded.filter((c) => !known.has(c.hash));
        // Chunks first, so every reader that sees the entry has them.
        for (let i = 0; i < missing.length; i += 32) {
          await Promise.all(missing.slice(i, i + 32).map((c) => kv.put(chunkKey(key, c.hash), c.bytes)));
        }
        for (const c of missing) known.add(c.hash);
        keep = new Set(encoded.map((c) => c.hash));
        env = { v: 1, writer: this.o.writerId, publishedAt, head, chunks: encoded.map((c) => c.hash) };
      }
      revision = await kv.put(entryKey(key), jsonBytes(env));
    }
    const garbage = [...known].filter((h) => !keep.has(h));
    for (let i = 0; i < garbage.length; i += 32) {
      await Promise.all(garbage.slice(i, i + 32).map((h) => kv.purge(chunkKey(key, h))));
    }
    for (const h of garbage) known.delete(h);
    const op = value === undefined ? 'delete' : 'put';
    this.o.metrics.messages.inc({ map: this.o.name, op });
    try {
      nc?.publish(eventSubject(this.o.mesh, this.o.name, op), JSON.stringify({ key, revision, writer: this.o.writerId }));
    } catch {
      // Notifications are advisory: KV has the state.
    }
  }
}

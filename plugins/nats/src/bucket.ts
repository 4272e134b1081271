import type { KV, KvEntry, KvOptions, NatsConnection, QueuedIterator } from 'nats';
import type { ConnectionLogger, NatsConnector } from './connection.js';

export interface BucketOptions {
  /** Values kept per key (KV history). */
  readonly history: number;
  /** Stream replicas (3 on a 3-node cluster so one member may fail). */
  readonly replicas: number;
  /** Entries older than this are dropped (0: never). */
  readonly ttlMs?: number;
  /** Only bind to an existing bucket (credentials without JetStream admin rights). */
  readonly bindOnly?: boolean;
}

/** Receives the bucket's entries in stream order. `replay`: part of a (re)start catch-up. */
export type EntrySink = (entry: KvEntry, replay: boolean) => void;

/**
 * One JetStream KV bucket over a NatsConnector: opens (creates) it on every new
 * connection, and, when watched, keeps an ordered watch that delivers each revision once.
 *
 * The watch is restarted right after a reconnect from the last revision seen
 * (`resumeFromRevision`), so what changed during the outage — deletes included, KV keeps
 * them as markers — arrives at once instead of after the ordered consumer notices missed
 * heartbeats. Revisions at or below the last one seen are dropped, so the overlap of an
 * old and a new watch never delivers an entry twice.
 */
export class BucketLink {
  private kv: KV | undefined;
  private opening: Promise<KV> | undefined;
  private iterator: QueuedIterator<KvEntry> | undefined;
  private generation = 0;
  private lastRevision = 0;
  private initializedOnce = false;
  private caughtUpFlag = false;
  private closed = false;
  private readonly initWaiters = new Set<() => void>();
  private readonly kvWaiters = new Set<() => void>();
  private readonly sinks: EntrySink[] = [];
  private watching = false;
  private unlisten: (() => void) | undefined;

  constructor(
    readonly bucket: string,
    private readonly connector: NatsConnector,
    private readonly options: BucketOptions,
    private readonly logger: ConnectionLogger,
  ) {
    this.unlisten = connector.addListener({
      onConnected: (nc, first) => void this.onConnected(nc, first),
      onDisconnected: () => {
        this.caughtUpFlag = false;
      },
    });
  }

  /** Starts mirroring the bucket into `sink` (all sinks see every entry). */
  watch(sink: EntrySink): void {
    this.sinks.push(sink);
    if (this.watching) return;
    this.watching = true;
    const nc = this.connector.connection;
    if (nc && this.connector.connected) void this.onConnected(nc, false);
  }

  get isWatching(): boolean {
    return this.watching;
  }

  /** The first full replay has been delivered (stays true through later outages). */
  get initialized(): boolean {
    return this.initializedOnce;
  }

  /** Connected, and everything up to the bucket's last revision at (re)start has been delivered. */
  get caughtUp(): boolean {
    return this.caughtUpFlag && this.connector.connected;
  }

  get revision(): number {
    return this.lastRevision;
  }

  whenInitialized(): Promise<void> {
    if (this.initializedOnce) return Promise.resolve();
    return new Promise((resolve) => this.initWaiters.add(resolve));
  }

  /** The bucket handle, once connected and opened. */
  async handle(): Promise<KV> {
    for (;;) {
      if (this.closed) throw new Error(`bucket ${this.bucket}: closed`);
      if (this.kv && this.connector.connected) return this.kv;
      await new Promise<void>((resolve) => {
        this.kvWaiters.add(resolve);
        // Connected but not opened yet (or opening failed): try again.
        const nc = this.connector.connection;
        if (nc && this.connector.connected && !this.opening) void this.open(nc).catch(() => undefined);
      });
    }
  }

  /** Handle if usable right now (no waiting). */
  handleNow(): KV | undefined {
    return this.connector.connected ? this.kv : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unlisten?.();
    this.generation++;
    this.iterator?.stop();
    this.iterator = undefined;
    for (const w of this.kvWaiters) w();
    this.kvWaiters.clear();
  }

  private async onConnected(nc: NatsConnection, first: boolean): Promise<void> {
    if (this.closed) return;
    if (first) this.kv = undefined;
    try {
      const kv = this.kv ?? (await this.open(nc));
      for (const w of this.kvWaiters) w();
      this.kvWaiters.clear();
      if (this.watching) await this.restartWatch(kv);
    } catch (err) {
      if (this.closed) return;
      this.logger.warn({ bucket: this.bucket, err: (err as Error).message }, 'KV bucket not available yet; retrying');
      setTimeout(() => {
        const current = this.connector.connection;
        if (current && this.connector.connected && !this.closed) void this.onConnected(current, false);
      }, 1000).unref();
    }
  }

  private open(nc: NatsConnection): Promise<KV> {
    this.opening ??= (async () => {
      try {
        const kvOptions: Partial<KvOptions> = {
          history: this.options.history,
          replicas: this.options.replicas,
          ...(this.options.ttlMs ? { ttl: this.options.ttlMs } : {}),
          ...(this.options.bindOnly ? { bindOnly: true } : {}),
        };
        const kv = await nc.jetstream().views.kv(this.bucket, kvOptions);
        this.kv = kv;
        for (const w of this.kvWaiters) w();
        this.kvWaiters.clear();
        return kv;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  private async restartWatch(kv: KV): Promise<void> {
    const generation = ++this.generation;
    this.iterator?.stop();
    this.iterator = undefined;
    this.caughtUpFlag = false;
    // Caught up once the revision the bucket had when we (re)started has arrived.
    const status = await kv.status();
    if (generation !== this.generation) return;
    const target = status.streamInfo.state.last_seq;
    const resume = this.lastRevision > 0 ? this.lastRevision + 1 : 0;
    let initialized = false;
    const markCaughtUp = (): void => {
      if (generation !== this.generation || this.caughtUpFlag) return;
      this.caughtUpFlag = true;
      if (!this.initializedOnce) {
        this.initializedOnce = true;
        for (const w of this.initWaiters) w();
        this.initWaiters.clear();
      }
      this.logger.debug({ bucket: this.bucket, revision: this.lastRevision }, 'KV bucket caught up');
    };
    const iterator = await kv.watch({
      ...(resume > 0 ? { resumeFromRevision: resume } : {}),
      initializedFn: () => {
        initialized = true;
        markCaughtUp();
      },
    });
    if (generation !== this.generation) {
      iterator.stop();
      return;
    }
    this.iterator = iterator;
    if (target <= this.lastRevision) markCaughtUp();
    void (async () => {
      try {
        for await (const entry of iterator) {
          if (generation !== this.generation) break;
          if (entry.revision <= this.lastRevision) continue;
          this.lastRevision = entry.revision;
          const replay = !this.caughtUpFlag;
          for (const sink of this.sinks) {
            try {
              sink(entry, replay);
            } catch (err) {
              this.logger.warn({ bucket: this.bucket, key: entry.key, err: String(err) }, 'could not apply a KV entry');
            }
          }
          if (!this.caughtUpFlag && (entry.revision >= target || initialized)) markCaughtUp();
        }
      } catch (err) {
        if (generation === this.generation && !this.closed) {
          this.logger.warn({ bucket: this.bucket, err: String(err) }, 'KV watch ended; restarting');
        }
      }
      // An iterator that ends on its own (consumer deleted, ...) is replaced.
      if (generation === this.generation && !this.closed) {
        setTimeout(() => {
          const nc = this.connector.connection;
          if (generation === this.generation && nc && this.connector.connected && !this.closed) void this.onConnected(nc, false);
        }, 500).unref();
      }
    })();
  }
}

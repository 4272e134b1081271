import { contentHash, formatIssue, parseConfigText, type ConfigSink, type ConfigSource, type Logger } from '@isthmus/core';
import { BlockingWatch } from './blocking-watch.js';
import { ConsulClient, type ConsulRequestError } from './consul-client.js';
import { decodeKvEntries, type KvEntry } from './consul-types.js';
import { DEFAULT_TUNING, type ConsulConnectionOptions, type ConsulTuning } from './options.js';
import { TokenBucket } from './rate-limit.js';

export interface ConsulKvConfigSourceOptions extends ConsulConnectionOptions {
  /** KV prefix holding the config, e.g. `isthmus/config/`. Every key under it is one part. */
  readonly prefix: string;
  readonly datacenter?: string;
  readonly tuning?: Partial<ConsulTuning>;
}

/**
 * Istio-kind config objects (YAML or JSON, one or more per key) stored under a Consul KV
 * prefix, watched with one blocking `?recurse` query. Each key is one part of the config
 * sink, named by the key: a changed key is proposed (and validated like a file), a deleted
 * key is withdrawn, a key that does not parse is reported and its previous objects stay.
 * Consul errors change nothing; the watch retries with backoff. Synced after the first read.
 */
export class ConsulKvConfigSource implements ConfigSource {
  readonly source: string;
  private readonly client: ConsulClient;
  private readonly tuning: ConsulTuning;
  private readonly prefix: string;
  private watch: BlockingWatch<KvEntry[]> | undefined;
  private sink: ConfigSink | undefined;
  private stopped = false;
  /** key → hash of the value last delivered */
  private readonly parts = new Map<string, string>();
  private synced = false;

  constructor(
    private readonly options: ConsulKvConfigSourceOptions,
    private readonly logger?: Logger,
  ) {
    this.prefix = options.prefix.replace(/^\/+/, '');
    this.source = `consul-kv/${options.datacenter || 'local'}`;
    this.tuning = { ...DEFAULT_TUNING, ...(options.tuning ?? {}) };
    this.client = new ConsulClient(options);
  }

  async start(sink: ConfigSink): Promise<void> {
    if (this.sink) throw new Error(`${this.source}: already started`);
    this.sink = sink;
    const path = `/v1/kv/${this.prefix.split('/').map(encodeURIComponent).join('/')}`;
    let failing = false;
    this.watch = new BlockingWatch<KvEntry[]>({
      client: this.client,
      path,
      query: { recurse: true },
      decode: (res) => decodeKvEntries(res, `GET ${path}`),
      tuning: this.tuning,
      bucket: new TokenBucket(this.tuning.perWatchRate),
      events: {
        onValue: (entries) => this.apply(entries),
        onError: (err: ConsulRequestError) => {
          if (this.stopped) return;
          const level = failing ? 'debug' : 'warn';
          failing = true;
          this.logger?.[level](
            { source: this.source, prefix: this.prefix, error: err.message },
            `Consul KV read failed: ${err.message}; ${this.synced ? 'the config in force stays' : 'not ready until it has been read once'}; retrying`,
          );
        },
        onRecovered: () => {
          failing = false;
          this.logger?.info({ source: this.source, prefix: this.prefix }, 'Consul KV reads succeed again');
        },
      },
    });
    this.watch.start();
    this.logger?.info({ source: this.source, consul: this.client.address, prefix: this.prefix }, `watching Consul KV ${this.prefix}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watch?.stop();
    this.client.close();
  }

  private apply(entries: readonly KvEntry[]): void {
    if (this.stopped || !this.sink) return;
    const seen = new Set<string>();
    for (const e of entries) {
      // "Folders" (keys ending in /) and keys without a value hold no config.
      if (e.Key.endsWith('/') || e.Value === null || e.Value.trim() === '') continue;
      seen.add(e.Key);
      const hash = contentHash(e.Value);
      if (this.parts.get(e.Key) === hash) continue;
      this.parts.set(e.Key, hash);
      const parsed = parseConfigText(e.Value, e.Key);
      if (parsed.issues.some((i) => i.severity === 'error')) {
        this.sink.reportIssues(e.Key, parsed.issues);
        this.logIssues(e.Key, 'cannot read', parsed.issues.map(formatIssue));
        continue;
      }
      const issues = [...parsed.issues, ...this.sink.propose(e.Key, parsed.objects)];
      if (issues.some((i) => i.severity === 'error')) this.logIssues(e.Key, 'rejected', issues.map(formatIssue));
      else this.logger?.info({ source: this.source, key: e.Key, objects: parsed.objects.length }, `Consul KV: applied ${e.Key}`);
    }
    for (const key of [...this.parts.keys()]) {
      if (seen.has(key)) continue;
      this.parts.delete(key);
      this.sink.withdraw(key);
      this.logger?.info({ source: this.source, key }, `Consul KV: withdrew ${key} (key deleted)`);
    }
    if (!this.synced) {
      this.synced = true;
      this.sink.markSynced();
      this.logger?.info({ source: this.source, keys: this.parts.size }, 'Consul KV config synced');
    }
  }

  private logIssues(key: string, what: string, lines: string[]): void {
    this.logger?.error(
      { source: this.source, key, issues: lines },
      `Consul KV: ${what} ${key}, the previous config stays in force:\n  ${lines.join('\n  ')}`,
    );
  }
}

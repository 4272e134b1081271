import type { Registry } from 'prom-client';
import {
  onceLog,
  PlatformStaleTracker,
  servicePattern,
  type Logger,
  type OnceLog,
  type PlatformAdapter,
  type RegistryShard,
  type RegistrySink,
  type ServicePort,
} from '@isthmus/core';
import { BlockingWatch } from './blocking-watch.js';
import { ConsulClient, ConsulRequestError, type ConsulResponse } from './consul-client.js';
import { decodeCatalogServices, decodeHealthEntries, type CatalogServices, type HealthEntry } from './consul-types.js';
import { canUsePassingFilter, mapService, resolveMapping, type MappedService, type ResolvedMapping } from './mapping.js';
import { ConsulMetrics } from './metrics.js';
import { consulSourceKey, DEFAULT_TUNING, type ConsulAdapterOptions, type ConsulTuning } from './options.js';
import { TokenBucket } from './rate-limit.js';

export interface ConsulAdapterDeps {
  readonly logger?: Logger;
  /** Prometheus registry for the adapter's metrics. */
  readonly metrics?: Registry;
  /** Jitter source (tests). */
  readonly random?: () => number;
}

/** One watched Consul service. */
interface ServiceState {
  readonly name: string;
  health: HealthEntry[] | undefined;
  connect: HealthEntry[] | undefined;
  readonly watches: BlockingWatch<HealthEntry[]>[];
  mapped: MappedService | undefined;
  dirty: boolean;
  /** Ports last published, kept while no instance is left. */
  ports: readonly ServicePort[];
}

const SIDECAR_SUFFIX = '-sidecar-proxy';

/**
 * Consul's catalog as one registry source (`consul/<dc>`): one blocking watch on
 * `/v1/catalog/services` enumerates services; each selected service gets a blocking watch
 * on `/v1/health/service/<name>` (plus `/v1/health/connect/<name>` in sidecar mode),
 * stopped when the service leaves the catalog. Changes are coalesced into one shard.
 *
 * Failure rules: the first `replace` happens once the catalog and every selected service
 * have been read (until then the source is not synced and Isthmus not ready). After that,
 * an error never removes anything: the failing watch keeps its last value, the source is
 * marked stale (with the error) until every watch reads again. Only Consul's answers
 * remove services or instances.
 */
export class ConsulPlatformAdapter implements PlatformAdapter {
  readonly source: string;
  private readonly client: ConsulClient;
  private readonly mapping: ResolvedMapping;
  private readonly tuning: ConsulTuning;
  private readonly shared: TokenBucket;
  private readonly metrics: ConsulMetrics;
  private readonly logger: Logger | undefined;
  private readonly include: RegExp[] | undefined;
  private readonly exclude: RegExp[];
  private readonly tags: ReadonlySet<string> | undefined;
  private readonly passing: boolean;

  private sink: RegistrySink | undefined;
  private stopped = false;
  private catalog: BlockingWatch<CatalogServices> | undefined;
  private catalogRead = false;
  private readonly services = new Map<string, ServiceState>();
  private readonly stale: PlatformStaleTracker;
  private publishTimer: NodeJS.Timeout | undefined;
  private synced = false;
  private readonly logOnce: OnceLog;

  constructor(
    private readonly options: ConsulAdapterOptions,
    private readonly deps: ConsulAdapterDeps = {},
  ) {
    this.source = consulSourceKey(options);
    this.tuning = { ...DEFAULT_TUNING, ...(options.tuning ?? {}) };
    this.mapping = resolveMapping(options, this.source);
    this.client = new ConsulClient(options);
    this.shared = new TokenBucket(this.tuning.globalRate);
    this.metrics = ConsulMetrics.for(deps.metrics);
    this.logger = deps.logger;
    this.logOnce = onceLog(this.logger, this.source);
    this.stale = new PlatformStaleTracker({
      product: 'Consul',
      source: this.source,
      reportIntervalMs: this.tuning.staleReportIntervalMs,
      logger: this.logger,
      isSynced: () => this.synced,
      message: (latest) => this.staleMessage(latest),
      setStaleGauge: (value) => this.metrics.stale.set({ source: this.source }, value),
      markStale: (message) => this.sink?.markStale(message),
      onRecovered: () => this.schedulePublish(),
    });
    this.include = options.services && options.services.length > 0 ? options.services.map(servicePattern) : undefined;
    this.exclude = (options.excludeServices ?? ['consul']).map(servicePattern);
    this.tags = options.tags && options.tags.length > 0 ? new Set(options.tags) : undefined;
    this.passing = canUsePassingFilter(this.mapping);
  }

  async start(sink: RegistrySink): Promise<void> {
    if (this.sink) throw new Error(`${this.source}: already started`);
    this.sink = sink;
    this.catalog = new BlockingWatch<CatalogServices>({
      client: this.client,
      path: '/v1/catalog/services',
      decode: (res) => this.decodeCatalog(res),
      tuning: this.tuning,
      bucket: new TokenBucket(this.tuning.perWatchRate),
      shared: this.shared,
      ...(this.deps.random ? { random: this.deps.random } : {}),
      events: this.events('catalog', 'catalog', (services) => this.onCatalog(services)),
    });
    this.catalog.start();
    this.logger?.info(
      { source: this.source, consul: this.client.address, dc: this.options.datacenter, namespace: this.options.namespace, partition: this.options.partition },
      `watching Consul at ${this.client.address}`,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.publishTimer) clearTimeout(this.publishTimer);
    const watches = [this.catalog, ...[...this.services.values()].flatMap((s) => s.watches)];
    await Promise.all(watches.map((w) => w?.stop()));
    this.metrics.watchedServices.set({ source: this.source }, 0);
    this.client.close();
  }

  /** Names of the services with a running watch (for tests and debugging). */
  watchedServices(): string[] {
    return [...this.services.keys()].sort();
  }

  // ---- catalog -------------------------------------------------------------------------

  private selects(name: string, tags: readonly string[]): boolean {
    if (name.endsWith(SIDECAR_SUFFIX)) return false;
    if (this.exclude.some((r) => r.test(name))) return false;
    if (this.include && !this.include.some((r) => r.test(name))) return false;
    if (this.tags && !tags.some((t) => this.tags!.has(t))) return false;
    return true;
  }

  private decodeCatalog(res: ConsulResponse): CatalogServices {
    const services = decodeCatalogServices(res);
    // A token that lost its rights reads an empty catalog, not an error: do not let that
    // wipe the registry. A genuinely emptied catalog has no ACL filtering to blame.
    if (res.filteredByAcls && this.services.size > 0 && ![...services].some(([n, t]) => this.selects(n, t))) {
      throw new ConsulRequestError('acl', 'GET /v1/catalog/services: every service was filtered out by ACLs (does the token still have service:read?)');
    }
    return services;
  }

  private onCatalog(services: CatalogServices): void {
    const wanted = new Set<string>();
    for (const [name, tags] of services) if (this.selects(name, tags)) wanted.add(name);
    for (const [name, st] of this.services) {
      if (wanted.has(name)) continue;
      // Gone from the catalog: stop its watches, so deleted services cost nothing.
      this.services.delete(name);
      for (const w of st.watches) void w.stop();
      for (const key of [...this.stale.failing.keys()]) if (key.endsWith(`:${name}`)) this.stale.failing.delete(key);
      this.logger?.info({ source: this.source, service: name }, `Consul service ${name} is gone`);
    }
    for (const name of wanted) if (!this.services.has(name)) this.watchService(name);
    this.metrics.watchedServices.set({ source: this.source }, this.services.size);
    this.catalogRead = true;
    this.schedulePublish();
    if (this.stale.failing.size === 0) this.stale.clear();
  }

  private watchService(name: string): void {
    const st: ServiceState = { name, health: undefined, connect: undefined, watches: [], mapped: undefined, dirty: true, ports: [] };
    this.services.set(name, st);
    const path = `/v1/health/service/${encodeURIComponent(name)}`;
    st.watches.push(
      new BlockingWatch<HealthEntry[]>({
        client: this.client,
        path,
        query: this.passing ? { passing: true } : {},
        decode: (res) => this.decodeHealth(res, `GET ${path}`, st.health),
        tuning: this.tuning,
        bucket: new TokenBucket(this.tuning.perWatchRate),
        shared: this.shared,
        ...(this.deps.random ? { random: this.deps.random } : {}),
        events: this.events(`health:${name}`, 'health', (entries) => {
          st.health = entries;
          st.dirty = true;
          this.schedulePublish();
        }),
      }),
    );
    if (this.mapping.connect === 'sidecar') {
      const connectPath = `/v1/health/connect/${encodeURIComponent(name)}`;
      st.watches.push(
        new BlockingWatch<HealthEntry[]>({
          client: this.client,
          path: connectPath,
          decode: (res) => this.decodeHealth(res, `GET ${connectPath}`, st.connect),
          tuning: this.tuning,
          bucket: new TokenBucket(this.tuning.perWatchRate),
          shared: this.shared,
          ...(this.deps.random ? { random: this.deps.random } : {}),
          events: this.events(`connect:${name}`, 'connect', (entries) => {
            st.connect = entries;
            st.dirty = true;
            this.schedulePublish();
          }),
        }),
      );
    }
    for (const w of st.watches) w.start();
  }

  private decodeHealth(res: ConsulResponse, what: string, previous: HealthEntry[] | undefined): HealthEntry[] {
    const entries = decodeHealthEntries(res, what);
    if (res.filteredByAcls && entries.length === 0 && (previous?.length ?? 0) > 0) {
      throw new ConsulRequestError('acl', `${what}: every instance was filtered out by ACLs (does the token still have service:read?)`);
    }
    return entries;
  }

  // ---- watch events, staleness ---------------------------------------------------------

  private events<T>(key: string, endpoint: string, onValue: (value: T) => void) {
    return {
      onValue: (value: T, res: ConsulResponse) => {
        if (this.stopped) return;
        this.metrics.requests.inc({ source: this.source, endpoint, outcome: String(res.status) });
        if (!res.knownLeader) this.logOnce(`noleader:${key}`, 'warn', { key }, 'Consul answered without a known leader: the data may be stale');
        onValue(value);
      },
      onError: (err: ConsulRequestError, consecutive: number) => {
        if (this.stopped) return;
        this.metrics.requests.inc({ source: this.source, endpoint, outcome: err.status ? String(err.status) : err.kind });
        this.stale.onError(key, err.message, consecutive);
      },
      onRecovered: () => {
        if (this.stopped) return;
        this.stale.failing.delete(key);
        if (this.stale.failing.size === 0) this.stale.clear();
      },
      onIndexReset: (from: number, to: number) => {
        if (this.stopped) return;
        this.metrics.indexResets.inc({ source: this.source });
        this.logger?.info({ source: this.source, watch: key, from, to }, 'X-Consul-Index went backwards (snapshot restore?): re-reading from index 0');
      },
      onBadIndex: (raw: number | undefined) => {
        if (this.stopped) return;
        this.logOnce(`badindex:${key}`, 'warn', { watch: key, index: raw ?? null }, `Consul answered ${raw === undefined ? 'without X-Consul-Index' : 'with X-Consul-Index 0'}: blocking on index 1 instead`);
      },
    };
  }

  private staleMessage(latest: string): string {
    const total = 1 + [...this.services.values()].reduce((n, s) => n + s.watches.length, 0);
    return `Consul ${this.client.address}: ${this.stale.failing.size} of ${total} watches failing: ${latest}`;
  }

  // ---- publishing ----------------------------------------------------------------------

  private schedulePublish(): void {
    if (this.publishTimer || this.stopped) return;
    // Coalesce: many watches answering together (start, a node flapping) make one shard.
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      this.publish();
    }, 0);
  }

  private isComplete(): boolean {
    if (!this.catalogRead) return false;
    for (const st of this.services.values()) {
      if (st.health === undefined) return false;
      if (this.mapping.connect === 'sidecar' && st.connect === undefined) return false;
    }
    return true;
  }

  private publish(): void {
    if (this.stopped || !this.sink || !this.isComplete()) return;
    const shard = this.buildShard();
    this.sink.replace(shard);
    if (!this.synced) {
      this.synced = true;
      this.logger?.info(
        { source: this.source, services: shard.services.length, workloads: shard.workloads.length },
        `Consul synced: ${shard.services.length} services, ${shard.workloads.length} instances`,
      );
    }
    if (this.stale.failing.size > 0) {
      // Other watches are still failing: keep the source marked stale after this update.
      this.sink.markStale(this.staleMessage([...this.stale.failing.values()].at(-1)!));
    }
  }

  private buildShard(): RegistryShard {
    const services = [];
    const workloads = [];
    for (const st of [...this.services.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (st.dirty || !st.mapped) {
        st.mapped = mapService(st.name, st.health ?? [], st.connect, this.mapping, st.ports);
        st.ports = st.mapped.service?.ports ?? st.ports;
        st.dirty = false;
        for (const note of st.mapped.notes) this.logOnce(`note:${note}`, 'warn', { service: st.name }, note);
      }
      // A name whose every instance is a gateway or proxy is not a service of the mesh.
      const onlyProxies = (st.health?.length ?? 0) > 0 && st.health!.every((e) => e.Service.Kind);
      if (st.mapped.service && !onlyProxies) services.push(st.mapped.service);
      workloads.push(...st.mapped.workloads);
    }
    return { source: this.source, services, workloads };
  }
}


import { Counter, Histogram, type Registry } from 'prom-client';
import type { Bus, RegistryMessage, Unsubscribe } from '../bus/bus.js';
import type { SourcedObject } from '../config/object.js';
import type { ConfigIssue } from '../config/issues.js';
import type { DestinationPolicy, RouteTable } from '../rules/compiled.js';
import { RegistryAggregator } from '../registry/aggregator.js';
import { REGISTRY_KINDS, serviceEntriesToShard } from '../registry/service-entries.js';
import { convertLegacy } from '../config/legacy.js';
import { compileRules } from '../rules/compile.js';
import { compileSidecars, type SidecarScope } from '../rules/sidecar.js';
import { contentHash } from '../util/hash.js';
import { OverlayMap } from '../util/overlay-map.js';
import { BuildScheduler } from './build-scheduler.js';
import { SetDigest } from './set-digest.js';
import type { MeshSnapshot } from './mesh-snapshot.js';
import type { Logger } from '../logging.js';

/** Something that must be true before proxies are served (a source synced, ...). */
export interface ReadinessGate {
  readonly name: string;
  isReady(): boolean;
}

export interface MeshEngineOptions {
  readonly logger: Logger;
  readonly metrics?: Registry;
  /** Quiet period before a burst of config changes is built into a snapshot (Istio: 100 ms). */
  readonly debounceMs?: number;
  /** Longest a change waits during a continuous burst (default 1,000 ms). */
  readonly maxDelayMs?: number;
  /** Build a config change at once when none came in the last `debounceMs` (default true; BuildPolicy). */
  readonly debounceLeadingEdge?: boolean;
  /**
   * Endpoint-only changes are not debounced but paced by their cost: built at once, the
   * next one after at least this interval (default 0) and no sooner than endpoint builds
   * may take `endpointBuildShare` of the time. See BuildPolicy in build-scheduler.ts.
   */
  readonly endpointIntervalMs?: number;
  /** Largest share of time endpoint-only builds (and their pushes) may take (default 0.25). */
  readonly endpointBuildShare?: number;
}

/** Prefix of the registry sources derived from ServiceEntry/WorkloadEntry config parts. */
export const CONFIG_SOURCE_PREFIX = 'config/';

/**
 * The rules engine: merges registry shards and config from the bus, compiles rules
 * against the registry and publishes immutable MeshSnapshots. Nothing is published until
 * every readiness gate is open, so proxies never see a partial mesh.
 */
export class MeshEngine {
  private readonly aggregator = new RegistryAggregator();
  private readonly gates: ReadinessGate[] = [];
  private readonly listeners = new Set<(s: MeshSnapshot) => void>();
  private readonly scheduler: BuildScheduler;
  private readonly unsubscribers: Unsubscribe[] = [];
  private readyTimer: NodeJS.Timeout | undefined;
  private snapshot: MeshSnapshot | undefined;
  private sequence = 0;
  private configDirty = true;
  private configParts = new Set<string>();
  private ruleObjects: SourcedObject[] = [];
  private routes = new Map<string, RouteTable>();
  private destinations = new Map<string, DestinationPolicy>();
  private sidecars = new Map<string, SidecarScope>();
  private sidecarIssues: ConfigIssue[] = [];
  private issues: ConfigIssue[] = [];
  private readonly builds?: Counter;
  private readonly buildSeconds?: Histogram;
  /** The snapshot version is a digest of the parts' entry versions, kept in O(changed entries). */
  private readonly digests = {
    services: new SetDigest(),
    endpoints: new SetDigest(),
    routes: new SetDigest(),
    destinations: new SetDigest(),
    sidecars: new SetDigest(),
  };

  constructor(
    private readonly bus: Bus,
    private readonly options: MeshEngineOptions,
  ) {
    this.scheduler = new BuildScheduler(() => this.build(), {
      quietMs: options.debounceMs ?? 100,
      maxDelayMs: options.maxDelayMs ?? 1000,
      endpointIntervalMs: options.endpointIntervalMs ?? 0,
      endpointBuildShare: options.endpointBuildShare ?? 0.25,
      configLeadingEdge: options.debounceLeadingEdge ?? true,
    });
    if (options.metrics) {
      this.builds = new Counter({
        name: 'isthmus_snapshot_builds_total',
        help: 'Mesh snapshots built by the rules engine',
        registers: [options.metrics],
      });
      this.buildSeconds = new Histogram({
        name: 'isthmus_snapshot_build_seconds',
        help: 'Time to merge the registry and compile rules into a snapshot',
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
        registers: [options.metrics],
      });
    }
  }

  addGate(gate: ReadinessGate): void {
    this.gates.push(gate);
  }

  /** Waits for `source` to deliver its first complete registry listing. */
  requireRegistrySource(source: string): void {
    this.addGate({ name: `registry source ${source}`, isReady: () => this.aggregator.isSynced(source) });
  }

  start(): void {
    this.unsubscribers.push(
      this.bus.registry.watch((source, message) => {
        const { services } = this.aggregator.update(source, message);
        // A new or changed service definition is config-like (it changes clusters, routes).
        this.scheduler.trigger(services > 0 ? 'config' : 'endpoints');
      }),
      this.bus.config.watch((_part, message) => {
        this.configDirty = true;
        // A part withdrawn, or written as one of several, may leave the config half-way
        // until the rest arrives: never built on the leading edge (BuildPolicy).
        this.scheduler.trigger('config', message !== undefined && message.batch === undefined);
      }),
    );
    // Gates flip without a bus event (e.g. a config source finished its first read).
    this.readyTimer = setInterval(() => {
      if (this.snapshot) {
        // Serving: from now on every change arrives as a bus event.
        clearInterval(this.readyTimer);
        this.readyTimer = undefined;
      } else if (this.notReady().length === 0) {
        this.scheduler.trigger('config');
      }
    }, 50);
    this.scheduler.trigger('config');
  }

  stop(): void {
    this.scheduler.cancel();
    if (this.readyTimer) clearInterval(this.readyTimer);
    for (const u of this.unsubscribers.splice(0)) u();
  }

  onSnapshot(listener: (s: MeshSnapshot) => void): Unsubscribe {
    this.listeners.add(listener);
    if (this.snapshot) listener(this.snapshot);
    return () => this.listeners.delete(listener);
  }

  current(): MeshSnapshot | undefined {
    return this.snapshot;
  }

  /** Live status of every registry source (the snapshot's copy is taken at build time). */
  sourceStatuses() {
    return this.aggregator.sourceStatuses();
  }

  /** Names of the gates still closed; empty when ready. */
  notReady(): string[] {
    return this.gates.filter((g) => !g.isReady()).map((g) => g.name);
  }

  isReady(): boolean {
    return this.snapshot !== undefined;
  }

  /** Builds now if anything is pending (tests, shutdown). */
  flush(): void {
    this.scheduler.flush();
  }

  private build(): void {
    const waiting = this.notReady();
    if (waiting.length > 0) {
      this.options.logger.debug({ waiting }, 'not serving yet: waiting for sources to sync');
      if (this.configDirty) this.refreshConfig();
      return;
    }
    const started = process.hrtime.bigint();
    const configChanged = this.configDirty;
    if (configChanged) this.refreshConfig();
    const changes = this.aggregator.takeChanges();
    const services = this.aggregator.servicesView();
    let rulesChanged = false;
    if (configChanged) {
      // Sidecars read only config, not the registry.
      const compiled = compileSidecars(this.ruleObjects);
      rulesChanged = !sameVersions(this.sidecars, compiled.sidecars);
      this.sidecars = compiled.sidecars;
      this.sidecarIssues = compiled.issues;
      for (const i of compiled.issues) this.options.logger.warn({ issue: i }, 'rule warning');
    }
    if (configChanged || changes.services.size > 0 || !this.snapshot) {
      const compiled = compileRules(this.ruleObjects, services);
      rulesChanged ||= !sameVersions(this.routes, compiled.routes) || !sameVersions(this.destinations, compiled.destinations);
      this.routes = compiled.routes;
      this.destinations = compiled.destinations;
      this.issues = compiled.issues;
      for (const i of compiled.issues) this.options.logger.warn({ issue: i }, 'rule warning');
    }
    // Copies: the aggregator keeps mutating its maps, a snapshot never changes. A part
    // nothing changed in is the previous snapshot's (same content, already copied); the
    // endpoints, which change all the time, are the previous copy with the changed hosts
    // laid over it (OverlayMap: O(change), not a copy of the mesh per endpoint change).
    const previous = this.snapshot;
    const servicesCopy = previous && changes.services.size === 0 ? previous.services : new Map(services);
    const endpointsView = this.aggregator.endpointsView();
    const endpointsCopy =
      previous && changes.endpoints.size === 0
        ? previous.endpoints
        : previous?.endpoints instanceof OverlayMap
          ? previous.endpoints.with(endpointsView, changes.endpoints)
          : OverlayMap.of(endpointsView);
    const d = this.digests;
    // The aggregator records every host its maps changed at since the last copy (each
    // build takes them), so the registry parts' digests follow in O(change).
    const version = contentHash(
      d.services.of(servicesCopy, changes.services),
      d.endpoints.of(endpointsCopy, changes.endpoints),
      d.routes.of(this.routes),
      d.destinations.of(this.destinations),
      d.sidecars.of(this.sidecars),
    );
    if (previous?.version === version) {
      this.bus.snapshotApplied?.();
      return;
    }
    const snapshot: MeshSnapshot = {
      version,
      sequence: ++this.sequence,
      services: servicesCopy,
      endpoints: endpointsCopy,
      routes: this.routes,
      destinations: this.destinations,
      sidecars: this.sidecars,
      sources: this.aggregator.sourceStatuses(),
      issues: [...this.issues, ...this.sidecarIssues],
      changes: { services: changes.services, endpoints: changes.endpoints, rules: rulesChanged || !this.snapshot },
    };
    this.snapshot = snapshot;
    this.builds?.inc();
    this.buildSeconds?.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.options.logger.debug(
      { version, services: services.size, endpointsChanged: changes.endpoints.size, rulesChanged },
      'snapshot built',
    );
    for (const l of [...this.listeners]) l(snapshot);
    this.bus.snapshotApplied?.();
  }

  /** Splits config into registry kinds (→ shards `config/<part>`) and rules. */
  private refreshConfig(): void {
    this.configDirty = false;
    const parts = [...this.bus.config.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    const rules: SourcedObject[] = [];
    const seen = new Set<string>();
    for (const [part, message] of parts) {
      const registryObjects = message.objects.filter((o) => REGISTRY_KINDS.has(o.object.kind));
      for (const o of message.objects) if (!REGISTRY_KINDS.has(o.object.kind)) rules.push(o);
      const source = CONFIG_SOURCE_PREFIX + part;
      if (registryObjects.length > 0) {
        seen.add(source);
        const shard = serviceEntriesToShard(source, registryObjects);
        const msg: RegistryMessage = { shard, synced: true, stale: false, updatedAt: message.updatedAt };
        this.aggregator.apply(source, msg);
      }
    }
    for (const source of this.configParts) if (!seen.has(source)) this.aggregator.apply(source, undefined);
    this.configParts = seen;
    this.ruleObjects = convertLegacy(rules).objects;
  }
}

function sameVersions(a: ReadonlyMap<string, { version: string }>, b: ReadonlyMap<string, { version: string }>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k)?.version !== v.version) return false;
  return true;
}

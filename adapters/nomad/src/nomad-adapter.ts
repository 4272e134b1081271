import type { Registry } from 'prom-client';
import {
  BlockingQuery,
  onceLog,
  PlatformStaleTracker,
  servicePattern,
  TokenBucket,
  type Logger,
  type OnceLog,
  type PlatformAdapter,
  type RegistryShard,
  type RegistrySink,
  type Service,
  type ServicePort,
  type Workload,
} from '@isthmus/core';
import { CheckPoller } from './checks.js';
import { EventStreamWatch, type DisconnectReason } from './event-stream.js';
import { mapService, registrationHealth, resolveMapping, type MappedService, type ResolvedMapping } from './mapping.js';
import { NomadMetrics } from './metrics.js';
import { NomadClient, NomadRequestError, type NomadResponse } from './nomad-client.js';
import { decodeRegistrations, decodeServiceList, type NamespaceServices, type ServiceEvent, type ServiceRegistration } from './nomad-types.js';
import { DEFAULT_TUNING, namespaceScopes, nomadSourceKey, type NomadAdapterOptions, type NomadTuning } from './options.js';

export interface NomadAdapterDeps {
  readonly logger?: Logger;
  /** Prometheus registry for the adapter's metrics. */
  readonly metrics?: Registry;
  /** Jitter source (tests). */
  readonly random?: () => number;
}

/** A response and when its request was sent: a read sent after an event arrived reflects it. */
type TimedResponse = NomadResponse & { readonly sentAt: number };

type Watch<T> = BlockingQuery<T, TimedResponse, NomadRequestError>;

/** One configured namespace (or `*`): a services-list watch and an event stream. */
interface Scope {
  readonly namespace: string;
  readonly list: Watch<NamespaceServices[]>;
  listRead: boolean;
  /** Keys (`<namespace>/<name>`) of the selected services the last list showed. */
  listed: ReadonlySet<string>;
  stream: EventStreamWatch | undefined;
}

/** An event not yet reflected by its service's blocking query. */
interface Pending {
  readonly index: number;
  /** The registration, or undefined for a deregistration. */
  readonly reg: ServiceRegistration | undefined;
  readonly receivedAt: number;
}

/** One watched Nomad service: one name in one namespace. */
interface ServiceState {
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  readonly scope: Scope;
  readonly watch: Watch<ServiceRegistration[]>;
  /** What the blocking query last showed (undefined until its first read). */
  listing: ServiceRegistration[] | undefined;
  /** Index of the blocking query's last read (0: none, or unusable). */
  readIndex: number;
  /** Events newer than the listing, by registration ID. */
  readonly pending: Map<string, Pending>;
  mapped: MappedService | undefined;
  dirty: boolean;
  /** Ports last published, kept while no registration is left. */
  ports: readonly ServicePort[];
}

/**
 * Nomad's native service discovery (`provider = "nomad"`) as one registry source
 * (`nomad/<region>`).
 *
 * - Per namespace scope (one namespace, several, or `*`): a blocking query on
 *   `/v1/services` enumerates services; each selected service gets a blocking query on
 *   `/v1/service/<name>`, stopped when the service leaves the list. These are the truth.
 * - Per scope, `/v1/event/stream?topic=Service` delivers registrations and
 *   deregistrations at once (blocking queries are paced by token buckets). An event is
 *   applied on top of its service's last listing until a read that reflects it (a higher
 *   index, or a read sent after the event arrived) replaces it; an event older than the
 *   listing is ignored. After every reconnect all blocking queries re-read at once (the
 *   stream may have skipped events), and an index that goes backwards (snapshot restore)
 *   drops every pending event.
 * - Health (mode `checks`): each allocation's Nomad check results, polled; an allocation
 *   is published once its checks were read (or could not be).
 *
 * Failure rules, as for Consul: the first `replace` happens once every list and every
 * selected service has been read (and, in mode `checks`, every allocation's checks tried).
 * After that, an error never removes anything: the failing query keeps its last value, the
 * source is marked stale (with the error) until every query reads again. Only Nomad's
 * answers remove services or registrations. Event-stream and check failures never make
 * the source stale: the blocking queries stand without them.
 */
export class NomadPlatformAdapter implements PlatformAdapter {
  readonly source: string;
  private readonly client: NomadClient;
  private readonly mapping: ResolvedMapping;
  private readonly tuning: NomadTuning;
  private readonly shared: TokenBucket;
  private readonly metrics: NomadMetrics;
  private readonly logger: Logger | undefined;
  private readonly include: RegExp[] | undefined;
  private readonly tags: ReadonlySet<string> | undefined;
  private readonly checks: CheckPoller | undefined;

  private sink: RegistrySink | undefined;
  private stopped = false;
  private readonly scopes: Scope[] = [];
  private readonly services = new Map<string, ServiceState>();
  /** Alloc ID → keys of the services it registered (for check changes). */
  private allocServices = new Map<string, Set<string>>();
  private readonly stale: PlatformStaleTracker;
  private publishTimer: NodeJS.Timeout | undefined;
  private synced = false;
  private readonly logOnce: OnceLog;

  constructor(
    private readonly options: NomadAdapterOptions,
    private readonly deps: NomadAdapterDeps = {},
  ) {
    this.source = nomadSourceKey(options);
    this.tuning = { ...DEFAULT_TUNING, ...(options.tuning ?? {}) };
    this.mapping = resolveMapping(options, this.source);
    this.client = new NomadClient(options);
    this.shared = new TokenBucket(this.tuning.globalRate);
    this.metrics = NomadMetrics.for(deps.metrics);
    this.logger = deps.logger;
    this.logOnce = onceLog(this.logger, this.source);
    this.stale = new PlatformStaleTracker({
      product: 'Nomad',
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
    this.tags = options.tags && options.tags.length > 0 ? new Set(options.tags) : undefined;
    if (this.mapping.health === 'checks') {
      this.checks = new CheckPoller({
        client: this.client,
        tuning: this.tuning,
        bucket: new TokenBucket(this.tuning.checkRate),
        events: {
          onChange: (allocId) => this.onChecksChanged(allocId),
          onRead: (allocId, outcome, error) => {
            if (this.stopped) return;
            this.metrics.requests.inc({ source: this.source, endpoint: 'checks', outcome });
            if (error) {
              this.logOnce(
                `checks:${error.status ?? error.kind}`,
                'warn',
                { alloc: allocId, error: error.message },
                `cannot read allocation check results (${error.message}); keeping the last known health (placed, if never read)`,
              );
            }
          },
        },
      });
    }
  }

  async start(sink: RegistrySink): Promise<void> {
    if (this.sink) throw new Error(`${this.source}: already started`);
    this.sink = sink;
    for (const namespace of namespaceScopes(this.options.namespaces)) {
      const scope: Scope = {
        namespace,
        list: undefined as unknown as Watch<NamespaceServices[]>,
        listRead: false,
        listed: new Set(),
        stream: undefined,
      };
      (scope as { list: Watch<NamespaceServices[]> }).list = this.query<NamespaceServices[]>(
        `list:${namespace}`,
        'services',
        '/v1/services',
        { namespace },
        (res) => decodeServiceList(res, 'GET /v1/services'),
        (value) => this.onList(scope, value),
      );
      this.scopes.push(scope);
    }
    for (const s of this.scopes) s.list.start();
    this.checks?.start();
    this.logger?.info(
      { source: this.source, nomad: this.client.address, region: this.options.region, namespaces: this.scopes.map((s) => s.namespace) },
      `watching Nomad at ${this.client.address}`,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.publishTimer) clearTimeout(this.publishTimer);
    const all: { stop(): Promise<void> }[] = [];
    for (const s of this.scopes) {
      all.push(s.list);
      if (s.stream) all.push(s.stream);
      this.metrics.streamConnected.set({ source: this.source, namespace: s.namespace }, 0);
    }
    for (const st of this.services.values()) all.push(st.watch);
    if (this.checks) all.push(this.checks);
    await Promise.all(all.map((w) => w.stop()));
    this.metrics.watchedServices.set({ source: this.source }, 0);
    this.client.close();
  }

  /** `<namespace>/<name>` of the services with a running query (for tests and debugging). */
  watchedServices(): string[] {
    return [...this.services.keys()].sort();
  }

  // ---- blocking queries ----------------------------------------------------------------

  private query<T>(
    key: string,
    endpoint: string,
    path: string,
    query: Readonly<Record<string, string>>,
    decode: (res: TimedResponse) => T,
    onValue: (value: T, res: TimedResponse) => void,
    onRead?: (value: T, res: TimedResponse) => void,
  ): Watch<T> {
    const what = `GET ${path}`;
    return new BlockingQuery<T, TimedResponse, NomadRequestError>({
      read: async ({ index, waitMs, timeoutMs, signal }) => {
        const sentAt = performance.now();
        const blocking: Record<string, string> = index > 0 ? { index: String(index), wait: `${Math.max(1, Math.round(waitMs))}ms` } : {};
        const res = await this.client.get(path, { ...query, ...blocking }, { signal, timeoutMs });
        return { ...res, sentAt };
      },
      decode,
      toError: (err) => (err instanceof NomadRequestError ? err : new NomadRequestError('invalid', `${what}: ${String((err as Error)?.message ?? err)}`)),
      afterError: (error) => (error.status === 403 ? this.client.refreshToken() : undefined),
      tuning: this.tuning,
      bucket: new TokenBucket(this.tuning.perWatchRate),
      shared: this.shared,
      ...(this.deps.random ? { random: this.deps.random } : {}),
      events: {
        onRead: (value, res) => {
          if (this.stopped) return;
          this.metrics.requests.inc({ source: this.source, endpoint, outcome: String(res.status) });
          if (!res.knownLeader) this.logOnce(`noleader:${key}`, 'warn', { key }, 'Nomad answered without a known leader: the data may be stale');
          onRead?.(value, res);
        },
        onValue: (value, res) => {
          if (this.stopped) return;
          onValue(value, res);
        },
        onError: (err, consecutive) => {
          if (this.stopped) return;
          this.metrics.requests.inc({ source: this.source, endpoint, outcome: err.status ? String(err.status) : err.kind });
          this.stale.onError(key, err.message, consecutive);
        },
        onRecovered: () => {
          if (this.stopped) return;
          this.stale.failing.delete(key);
          if (this.stale.failing.size === 0) this.stale.clear();
        },
        onIndexReset: (from, to) => {
          if (this.stopped) return;
          this.metrics.indexResets.inc({ source: this.source });
          this.logger?.info({ source: this.source, watch: key, from, to }, 'X-Nomad-Index went backwards (snapshot restore?): re-reading from index 0, dropping pending events');
          this.dropPendingEvents();
        },
        onBadIndex: (raw) => {
          if (this.stopped) return;
          this.logOnce(`badindex:${key}`, 'warn', { watch: key, index: raw ?? null }, `Nomad answered ${raw === undefined ? 'without X-Nomad-Index' : 'with X-Nomad-Index 0'}: blocking on index 1 instead`);
        },
      },
    });
  }

  // ---- services list -------------------------------------------------------------------

  private selects(name: string, tags: readonly string[] | undefined): boolean {
    if (this.include && !this.include.some((r) => r.test(name))) return false;
    if (this.tags && tags && !tags.some((t) => this.tags!.has(t))) return false;
    return true;
  }

  private onList(scope: Scope, list: NamespaceServices[]): void {
    const wanted = new Map<string, { namespace: string; name: string }>();
    for (const ns of list) {
      if (scope.namespace !== '*' && ns.Namespace !== scope.namespace) continue;
      for (const s of ns.Services) if (this.selects(s.ServiceName, s.Tags)) wanted.set(`${ns.Namespace}/${s.ServiceName}`, { namespace: ns.Namespace, name: s.ServiceName });
    }
    for (const st of [...this.services.values()]) {
      if (st.scope !== scope || wanted.has(st.key)) continue;
      // Gone from the list. Keep it only while an event newer than this list says it has
      // registrations (the list and the stream race); its own query settles that.
      const listIndex = scope.list.currentIndex;
      if ([...st.pending.values()].some((p) => p.reg && p.index > listIndex)) continue;
      this.forget(st);
    }
    scope.listed = new Set(wanted.keys());
    for (const [key, { namespace, name }] of wanted) if (!this.services.has(key)) this.watchService(scope, namespace, name);
    this.metrics.watchedServices.set({ source: this.source }, this.services.size);
    const first = !scope.listRead;
    scope.listRead = true;
    if (first) this.startStream(scope);
    this.schedulePublish();
    if (this.stale.failing.size === 0) this.stale.clear();
  }

  private watchService(scope: Scope, namespace: string, name: string): ServiceState {
    const key = `${namespace}/${name}`;
    const path = `/v1/service/${encodeURIComponent(name)}`;
    const st: ServiceState = {
      key,
      name,
      namespace,
      scope,
      watch: undefined as unknown as Watch<ServiceRegistration[]>,
      listing: undefined,
      readIndex: 0,
      pending: new Map(),
      mapped: undefined,
      dirty: true,
      ports: [],
    };
    (st as { watch: Watch<ServiceRegistration[]> }).watch = this.query<ServiceRegistration[]>(
      `service:${key}`,
      'service',
      path,
      { namespace },
      (res) => decodeRegistrations(res, `GET ${path}`),
      (regs) => {
        st.listing = regs;
        st.dirty = true;
        this.schedulePublish();
      },
      (regs, res) => {
        st.readIndex = res.index !== undefined && res.index >= 1 ? res.index : 0;
        if (this.settle(st, res)) {
          st.dirty = true;
          this.schedulePublish();
        }
        // Kept only for events the list had not shown yet, and now empty: it is gone.
        if (regs.length === 0 && st.pending.size === 0 && st.scope.listRead && !st.scope.listed.has(st.key)) {
          this.forget(st);
          this.metrics.watchedServices.set({ source: this.source }, this.services.size);
          this.schedulePublish();
        }
      },
    );
    this.services.set(key, st);
    st.watch.start();
    return st;
  }

  /** Drops the pending events a read reflects (a higher index, or sent after they arrived). True when any went. */
  private settle(st: ServiceState, res: TimedResponse): boolean {
    let any = false;
    for (const [id, p] of st.pending) {
      if ((st.readIndex > 0 && p.index <= st.readIndex) || p.receivedAt <= res.sentAt) {
        st.pending.delete(id);
        any = true;
      }
    }
    return any;
  }

  private forget(st: ServiceState): void {
    this.services.delete(st.key);
    void st.watch.stop();
    this.stale.failing.delete(`service:${st.key}`);
    this.logger?.info({ source: this.source, service: st.key }, `Nomad service ${st.key} is gone`);
  }

  // ---- event stream --------------------------------------------------------------------

  private startStream(scope: Scope): void {
    if (this.options.eventStream === false || this.stopped) return;
    const labels = { source: this.source, namespace: scope.namespace };
    scope.stream = new EventStreamWatch({
      client: this.client,
      namespace: scope.namespace,
      tuning: this.tuning,
      bucket: new TokenBucket(this.tuning.streamRate),
      resumeFrom: () => scope.list.currentIndex + 1,
      ...(this.deps.random ? { random: this.deps.random } : {}),
      events: {
        onConnect: (relist) => {
          if (this.stopped) return;
          this.metrics.streamConnected.set(labels, 1);
          if (!relist) return;
          // The stream may have skipped what happened while it was away: re-read everything now.
          this.logger?.info({ ...labels }, 'Nomad event stream reconnected: re-reading every service');
          scope.list.kick();
          for (const st of this.services.values()) if (st.scope === scope) st.watch.kick();
        },
        onFrame: (index, events) => this.onEvents(scope, index, events),
        onDisconnect: (reason: DisconnectReason, error, consecutive) => {
          if (this.stopped) return;
          this.metrics.streamConnected.set(labels, 0);
          this.metrics.streamReconnects.inc({ ...labels, reason });
          const msg =
            reason === 'idle'
              ? `Nomad event stream silent for ${this.tuning.streamIdleTimeoutMs} ms (no event, no heartbeat): reconnecting`
              : reason === 'ended'
                ? 'Nomad event stream ended: reconnecting'
                : `Nomad event stream failed: ${error?.message ?? 'unknown error'}; retrying with backoff (blocking queries continue)`;
          if (consecutive <= 1) this.logger?.warn({ ...labels, reason, error: error?.message }, msg);
          else this.logger?.debug({ ...labels, reason, attempt: consecutive, error: error?.message }, msg);
        },
      },
    });
    scope.stream.start();
  }

  private onEvents(scope: Scope, index: number, events: readonly ServiceEvent[]): void {
    if (this.stopped) return;
    const now = performance.now();
    for (const e of events) {
      const reg = e.Service;
      const key = `${e.Namespace}/${reg.ServiceName}`;
      let st = this.services.get(key);
      const type = e.Type === 'ServiceRegistration' ? 'registration' : 'deregistration';
      if (!st) {
        // A service the list has not shown yet: start following it now, that is the point.
        if (e.Type !== 'ServiceRegistration' || !this.selects(reg.ServiceName, reg.Tags) || !scope.listRead) {
          this.metrics.events.inc({ source: this.source, type, outcome: 'ignored' });
          continue;
        }
        if ((e.Index || index) <= scope.list.currentIndex) {
          // A late event for a service the (newer) list no longer has.
          this.metrics.events.inc({ source: this.source, type, outcome: 'superseded' });
          continue;
        }
        st = this.watchService(scope, e.Namespace, reg.ServiceName);
        this.metrics.watchedServices.set({ source: this.source }, this.services.size);
      }
      const eventIndex = e.Index || index;
      if (st.readIndex > 0 && eventIndex <= st.readIndex) {
        // The blocking query already showed this (the stream lags): nothing to do.
        this.metrics.events.inc({ source: this.source, type, outcome: 'superseded' });
        continue;
      }
      const prev = st.pending.get(reg.ID);
      if (prev && prev.index >= eventIndex) continue;
      st.pending.set(reg.ID, { index: eventIndex, reg: e.Type === 'ServiceRegistration' ? reg : undefined, receivedAt: now });
      st.dirty = true;
      this.metrics.events.inc({ source: this.source, type, outcome: 'applied' });
    }
    this.schedulePublish();
  }

  /** Indexes went backwards: pending events may be from the old timeline; the stream starts over. */
  private dropPendingEvents(): void {
    for (const st of this.services.values()) {
      if (st.pending.size === 0) continue;
      st.pending.clear();
      st.dirty = true;
    }
    for (const s of this.scopes) s.stream?.reset();
    this.schedulePublish();
  }

  // ---- health checks -------------------------------------------------------------------

  private onChecksChanged(allocId: string): void {
    if (this.stopped) return;
    for (const key of this.allocServices.get(allocId) ?? []) {
      const st = this.services.get(key);
      if (st) st.dirty = true;
    }
    this.schedulePublish();
  }

  // ---- staleness -----------------------------------------------------------------------

  private staleMessage(latest: string): string {
    const total = this.scopes.length + this.services.size;
    return `Nomad ${this.client.address}: ${this.stale.failing.size} of ${total} queries failing: ${latest}`;
  }

  // ---- publishing ----------------------------------------------------------------------

  private schedulePublish(): void {
    if (this.publishTimer || this.stopped) return;
    // Coalesce: many queries answering together (start, a deployment) make one shard.
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      this.publish();
    }, 0);
  }

  /** Listing plus pending events: what Nomad holds now, as far as this adapter knows. */
  private effective(st: ServiceState): ServiceRegistration[] {
    const regs = new Map((st.listing ?? []).map((r) => [r.ID, r]));
    for (const [id, p] of [...st.pending].sort(([, a], [, b]) => a.index - b.index)) {
      if (p.reg) regs.set(id, p.reg);
      else regs.delete(id);
    }
    return [...regs.values()];
  }

  private trackAllocations(): void {
    const allocs = new Map<string, string>();
    const index = new Map<string, Set<string>>();
    for (const st of this.services.values()) {
      for (const r of this.effective(st)) {
        if (!r.AllocID) continue;
        allocs.set(r.AllocID, r.Namespace);
        let keys = index.get(r.AllocID);
        if (!keys) index.set(r.AllocID, (keys = new Set()));
        keys.add(st.key);
      }
    }
    this.allocServices = index;
    this.checks?.track(allocs);
  }

  private isComplete(): boolean {
    for (const s of this.scopes) if (!s.listRead) return false;
    for (const st of this.services.values()) if (st.listing === undefined) return false;
    if (this.checks) {
      for (const st of this.services.values()) for (const r of this.effective(st)) if (r.AllocID && !this.checks.decided(r.AllocID)) return false;
    }
    return true;
  }

  private publish(): void {
    if (this.stopped || !this.sink) return;
    this.trackAllocations();
    if (!this.synced && !this.isComplete()) return;
    const shard = this.buildShard();
    this.sink.replace(shard);
    if (!this.synced) {
      this.synced = true;
      this.logger?.info(
        { source: this.source, services: shard.services.length, workloads: shard.workloads.length },
        `Nomad synced: ${shard.services.length} services, ${shard.workloads.length} registrations`,
      );
    }
    if (this.stale.failing.size > 0) {
      // Other queries are still failing: keep the source marked stale after this update.
      this.sink.markStale(this.staleMessage([...this.stale.failing.values()].at(-1)!));
    }
  }

  private buildShard(): RegistryShard {
    const services = new Map<string, Service>();
    const workloads: Workload[] = [];
    const healthOf = (r: ServiceRegistration) => (this.checks ? registrationHealth(r, this.checks.checksOf(r.AllocID)) : 'HEALTHY');
    for (const st of [...this.services.values()].sort((a, b) => (a.key < b.key ? -1 : 1))) {
      if (st.dirty || !st.mapped) {
        // An allocation whose checks were never tried waits for them (it may be failing).
        const regs = this.effective(st).filter((r) => !this.checks || !r.AllocID || this.checks.decided(r.AllocID));
        st.mapped = mapService(st.name, st.namespace, regs, healthOf, this.mapping, st.ports);
        st.ports = st.mapped.service?.ports.length ? st.mapped.service.ports : st.ports;
        st.dirty = false;
        for (const note of st.mapped.notes) this.logOnce(`note:${note}`, 'warn', { service: st.key }, note);
      }
      const s = st.mapped.service;
      if (s) {
        const same = services.get(s.hostname);
        if (same) {
          // The same name in two Nomad namespaces under a naming without {namespace}: one Service.
          this.logOnce(`merge:${s.hostname}`, 'info', { host: s.hostname }, `Nomad services of several namespaces map to ${s.hostname} and are merged (use {namespace} in --nomad-domain to keep them apart)`);
          const ports = new Map(same.ports.map((p) => [p.number, p]));
          for (const p of s.ports) if (!ports.has(p.number)) ports.set(p.number, p);
          services.set(s.hostname, { ...same, ports: [...ports.values()].sort((a, b) => a.number - b.number) });
        } else {
          services.set(s.hostname, s);
        }
      }
      workloads.push(...st.mapped.workloads);
    }
    return { source: this.source, services: [...services.values()], workloads };
  }
}


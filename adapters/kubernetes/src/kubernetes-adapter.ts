import type { Registry } from 'prom-client';
import {
  jsonEqual,
  onceLog,
  PlatformStaleTracker,
  type Logger,
  type OnceLog,
  type PlatformAdapter,
  type RegistryShard,
  type RegistrySink,
  type Service,
  type Workload,
} from '@isthmus/core';
import { InformerGroup } from './informer-group.js';
import { KubeClient } from './kube-client.js';
import { loadKubeConfig, type LoadedKubeConfig } from './kube-config.js';
import { keyOf, SERVICE_NAME_LABEL, type KubeEndpointSlice, type KubeLabelled, type KubeObject, type KubePod, type KubeService } from './kube-types.js';
import { mapEndpoints, mapService, resolveMapping, type EndpointLookups, type ResolvedMapping } from './mapping.js';
import { KubernetesMetrics } from './metrics.js';
import { DEFAULT_CLUSTER_ID, DEFAULT_TUNING, kubernetesSourceKey, type KubernetesAdapterOptions, type KubernetesTuning } from './options.js';
import type { InformerProblem, ResilientInformer } from './resilient-informer.js';
import { NamespaceFilter } from './selectors.js';
import { slimLabelled, slimPod, slimService, slimSlice } from './slim.js';

export interface KubernetesAdapterDeps {
  readonly logger?: Logger | undefined;
  /** Prometheus registry for the adapter's metrics. */
  readonly metrics?: Registry | undefined;
  /** Jitter source (tests). */
  readonly random?: () => number;
}

/** What one Kubernetes Service contributes to the shard. */
interface Entry {
  readonly service: Service;
  readonly workloads: readonly Workload[];
  readonly pods: readonly string[];
  readonly nodes: readonly string[];
}

const SERVICES = { group: '', versions: ['v1'], plural: 'services', kind: 'Service' } as const;
const ENDPOINT_SLICES = { group: 'discovery.k8s.io', versions: ['v1'], plural: 'endpointslices', kind: 'EndpointSlice' } as const;
const PODS = { group: '', versions: ['v1'], plural: 'pods', kind: 'Pod' } as const;
const NODES = { group: '', versions: ['v1'], plural: 'nodes', kind: 'Node' } as const;
const NAMESPACES = { group: '', versions: ['v1'], plural: 'namespaces', kind: 'Namespace' } as const;

/** What each resource is needed for, for the message when it cannot be read. */
const WITHOUT: Readonly<Record<string, string>> = {
  pods: 'workloads have no pod labels (version subsets) and no identities',
  nodes: 'workloads have no region (only the zone their EndpointSlice names)',
};

/**
 * One Kubernetes cluster (one kubeconfig context) as one registry source
 * (`kubernetes/<clusterId>`).
 *
 * Services and EndpointSlices (discovery.k8s.io/v1) are watched cluster-wide, with Pods
 * (labels, service account) and Nodes (region, zone, subzone) joined to endpoints; with
 * namespace selectors, Namespaces too. Each resource is a resilient informer (see
 * resilient-informer.ts): it keeps its cache through any failure and retries.
 *
 * - The first shard is published once every informer has listed — except Pods and Nodes
 *   when they cannot be read at all (403 forbidden, or not served): the adapter then runs
 *   degraded (no pod labels and identities, or no locality), says so, and retries slowly.
 * - Changes are coalesced (`coalesceMs`) and only the Services they touch are mapped again;
 *   unchanged Services and Workloads keep their objects, and a shard is published only when
 *   something in it changed (or to clear a stale mark).
 * - Any failure marks the source stale with the resource and the error; a degraded
 *   resource keeps it marked. Only the API server's answers remove anything.
 */
export class KubernetesPlatformAdapter implements PlatformAdapter {
  readonly source: string;
  readonly clusterId: string;
  /** The kubeconfig context read (`inClusterContext` in a pod). */
  readonly context: string;
  private readonly config: LoadedKubeConfig;
  private readonly tuning: KubernetesTuning;
  private readonly mapping: ResolvedMapping;
  private readonly scope: NamespaceFilter;
  private readonly metrics: KubernetesMetrics;
  private readonly logger: Logger | undefined;
  private readonly group: InformerGroup;
  private readonly stale: PlatformStaleTracker;

  private readonly services: ResilientInformer<KubeService>;
  private readonly slices: ResilientInformer<KubeEndpointSlice>;
  private readonly pods: ResilientInformer<KubePod>;
  private readonly nodes: ResilientInformer<KubeLabelled>;
  private readonly namespaces: ResilientInformer<KubeLabelled> | undefined;
  /** Informers that must have listed before the first shard, and those that may be degraded instead. */
  private readonly essential: ResilientInformer<KubeObject>[];
  private readonly optional: ResilientInformer<KubeObject>[];

  /** `<ns>/<svc>` → slice keys. */
  private readonly slicesByService = new Map<string, Set<string>>();
  /** Pod key / node name → `<ns>/<svc>` of the Services whose workloads joined it. */
  private readonly servicesByPod = new Map<string, Set<string>>();
  private readonly servicesByNode = new Map<string, Set<string>>();
  private readonly entries = new Map<string, Entry>();
  private readonly dirty = new Set<string>();
  private readonly lookups: EndpointLookups;

  private sink: RegistrySink | undefined;
  private stopped = false;
  private synced = false;
  private forcePublish = false;
  private publishTimer: NodeJS.Timeout | undefined;
  private readonly logOnce: OnceLog;

  constructor(
    private readonly options: KubernetesAdapterOptions,
    private readonly deps: KubernetesAdapterDeps = {},
  ) {
    this.clusterId = options.clusterId || DEFAULT_CLUSTER_ID;
    this.source = kubernetesSourceKey(this.clusterId);
    this.config = loadKubeConfig(options);
    this.context = this.config.context;
    this.tuning = { ...DEFAULT_TUNING, ...(options.tuning ?? {}) };
    this.mapping = resolveMapping({ ...options, clusterId: this.clusterId }, this.source);
    this.scope = new NamespaceFilter(options.namespaces, options.namespaceSelectors);
    this.metrics = KubernetesMetrics.for(deps.metrics);
    this.logger = deps.logger;
    this.logOnce = onceLog(this.logger, this.source);
    this.stale = new PlatformStaleTracker({
      product: 'Kubernetes',
      source: this.source,
      reportIntervalMs: this.tuning.staleReportIntervalMs,
      logger: this.logger,
      isSynced: () => this.synced,
      message: (latest) => this.staleMessage(latest),
      setStaleGauge: (value) => this.metrics.stale.set({ source: this.source }, value),
      markStale: (message) => {
        if (!this.stopped) this.sink?.markStale(message);
      },
      onRecovered: () => this.schedulePublish(true),
    });
    this.group = new InformerGroup({
      source: this.source,
      client: new KubeClient(this.config.kc),
      tuning: this.tuning,
      metrics: this.metrics,
      logger: this.logger,
      random: deps.random,
      onError: (resource, err, consecutive, problem) => this.onInformerError(resource, err.message, consecutive, problem),
      onRecovered: (resource) => this.onInformerRecovered(resource),
    });

    this.services = this.group.add<KubeService>(SERVICES, {
      transform: slimService,
      onChange: (key) => this.markDirty(key),
      onListed: () => this.schedulePublish(),
    });
    this.slices = this.group.add<KubeEndpointSlice>(ENDPOINT_SLICES, {
      transform: slimSlice,
      onChange: (key, obj, prev) => this.onSlice(key, obj, prev),
      onListed: () => this.schedulePublish(),
    });
    this.pods = this.group.add<KubePod>(PODS, {
      transform: slimPod,
      onChange: (key, obj, prev) => this.onJoined(this.servicesByPod.get(key), obj, prev),
      onListed: () => this.schedulePublish(),
    });
    this.nodes = this.group.add<KubeLabelled>(NODES, {
      transform: slimLabelled,
      onChange: (key, obj, prev) => this.onJoined(this.servicesByNode.get(key), obj, prev),
      onListed: () => this.schedulePublish(),
    });
    this.namespaces = this.scope.needsLabels
      ? this.group.add<KubeLabelled>(NAMESPACES, {
          transform: slimLabelled,
          onChange: (name, obj, prev) => {
            if (obj && prev && jsonEqual(obj.metadata.labels ?? {}, prev.metadata.labels ?? {})) return;
            for (const s of this.services.values()) if (s.metadata.namespace === name) this.markDirty(keyOf(s));
          },
          onListed: () => this.schedulePublish(),
        })
      : undefined;
    // Without namespace labels a selector cannot decide: Namespaces are essential then.
    this.essential = [this.services, this.slices, ...(this.namespaces ? [this.namespaces] : [])] as ResilientInformer<KubeObject>[];
    this.optional = [this.pods, this.nodes] as ResilientInformer<KubeObject>[];
    this.lookups = {
      pod: (ns, name) => this.pods.get(`${ns}/${name}`),
      node: (name) => this.nodes.get(name),
    };
  }

  async start(sink: RegistrySink): Promise<void> {
    if (this.sink) throw new Error(`${this.source}: already started`);
    this.sink = sink;
    this.group.start();
    this.logger?.info(
      { source: this.source, context: this.context, server: this.config.server, namespaces: this.scope.describe() },
      `watching Kubernetes at ${this.config.server} (context ${this.context}, ${this.scope.describe()})`,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.publishTimer) clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    await this.group.stop();
  }

  // ---- informer events -----------------------------------------------------------------

  private markDirty(serviceKey: string): void {
    this.dirty.add(serviceKey);
    this.schedulePublish();
  }

  private onSlice(key: string, obj: KubeEndpointSlice | undefined, prev: KubeEndpointSlice | undefined): void {
    const before = prev && serviceKeyOfSlice(prev);
    const after = obj && serviceKeyOfSlice(obj);
    if (before && before !== after) {
      const set = this.slicesByService.get(before);
      set?.delete(key);
      if (set?.size === 0) this.slicesByService.delete(before);
      this.markDirty(before);
    }
    if (after) {
      let set = this.slicesByService.get(after);
      if (!set) this.slicesByService.set(after, (set = new Set()));
      set.add(key);
      this.markDirty(after);
    }
  }

  /** A Pod or Node changed: the Services whose workloads joined it map again (unless only its resourceVersion moved). */
  private onJoined(services: ReadonlySet<string> | undefined, obj: KubeObject | undefined, prev: KubeObject | undefined): void {
    if (!services || services.size === 0) return;
    if (obj && prev && sameBesidesVersion(obj, prev)) return;
    for (const s of services) this.dirty.add(s);
    this.schedulePublish();
  }

  private onInformerError(resource: string, message: string, consecutive: number, problem: InformerProblem | undefined): void {
    if (this.stopped) return;
    if (problem && consecutive === 1 && WITHOUT[resource]) {
      this.logger?.warn(
        { source: this.source, resource, error: message },
        `${this.source}: ${message}; running degraded: ${WITHOUT[resource]}; retrying every ${Math.round(this.tuning.slowRetryMs / 1000)} s`,
      );
    }
    this.stale.onError(resource, message, consecutive);
    // A degraded optional resource no longer holds back the first shard.
    if (problem) this.schedulePublish();
  }

  private onInformerRecovered(resource: string): void {
    if (this.stopped) return;
    this.stale.failing.delete(resource);
    if (this.stale.failing.size === 0) this.stale.clear();
  }

  private staleMessage(latest: string): string {
    const total = this.group.informers.length;
    return `${this.source} (${this.config.server}): ${this.stale.failing.size} of ${total} resources failing: ${latest}`;
  }

  // ---- publishing ----------------------------------------------------------------------

  /** Every informer listed, or (Pods, Nodes) cannot be read at all. */
  private ready(): boolean {
    return this.essential.every((i) => i.synced) && this.optional.every((i) => i.synced || i.problem !== undefined);
  }

  private schedulePublish(force = false): void {
    if (force) this.forcePublish = true;
    if (this.publishTimer || this.stopped) return;
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      try {
        this.publish();
      } catch (err) {
        // A timer callback that throws would take the process down; the next change retries.
        this.logger?.error({ source: this.source, err: String((err as Error)?.stack ?? err) }, `${this.source}: building the shard failed: ${(err as Error)?.message ?? err}`);
      }
    }, this.tuning.coalesceMs);
  }

  private publish(): void {
    if (this.stopped || !this.sink) return;
    if (!this.synced && !this.ready()) return;
    let changed = !this.synced || this.forcePublish;
    if (!this.synced) {
      // The first shard maps everything listed.
      for (const s of this.services.values()) this.dirty.add(keyOf(s));
    }
    for (const key of this.dirty) if (this.remap(key)) changed = true;
    this.dirty.clear();
    this.forcePublish = false;
    if (!changed) return;
    const shard = this.buildShard();
    this.sink.replace(shard);
    if (!this.synced) {
      this.synced = true;
      const degraded = this.optional.filter((i) => !i.synced).map((i) => i.name);
      this.logger?.info(
        { source: this.source, services: shard.services.length, workloads: shard.workloads.length, degraded },
        `Kubernetes synced: ${shard.services.length} services, ${shard.workloads.length} endpoints${degraded.length ? ` (without ${degraded.join(', ')})` : ''}`,
      );
    }
    if (this.stale.failing.size > 0) {
      // Other resources still fail (or are unreadable): keep the source marked stale after this update.
      this.sink.markStale(this.staleMessage([...this.stale.failing.values()].at(-1)!));
    }
  }

  /** Maps one Service again; true when its contribution changed. */
  private remap(key: string): boolean {
    const prev = this.entries.get(key);
    const next = this.mapEntry(key);
    this.reindex(key, prev, next);
    if (!next) {
      if (prev) this.entries.delete(key);
      return prev !== undefined;
    }
    // Keep the objects that did not change: the aggregator hashes each object once.
    const service = prev && jsonEqual(prev.service, next.service) ? prev.service : next.service;
    const before = new Map((prev?.workloads ?? []).map((w) => [w.id, w]));
    const workloads = next.workloads.map((w) => {
      const old = before.get(w.id);
      return old && jsonEqual(old, w) ? old : w;
    });
    const unchanged = prev !== undefined && service === prev.service && workloads.length === prev.workloads.length && workloads.every((w, i) => w === prev.workloads[i]);
    this.entries.set(key, { service, workloads, pods: next.pods, nodes: next.nodes });
    return !unchanged;
  }

  private mapEntry(key: string): Entry | undefined {
    const svc = this.services.get(key);
    if (!svc) return undefined;
    const namespace = svc.metadata.namespace ?? 'default';
    if (!this.scope.includes(namespace, this.namespaces?.get(namespace)?.metadata.labels)) return undefined;
    const mapped = mapService(svc, this.mapping);
    if ('skipped' in mapped) {
      this.logOnce(`skip:${key}`, 'debug', { service: key }, mapped.skipped);
      return undefined;
    }
    const slices = [...(this.slicesByService.get(key) ?? [])].flatMap((k) => {
      const s = this.slices.get(k);
      return s ? [s] : [];
    });
    const { workloads, pods, nodes } = mapEndpoints(svc, mapped.service, slices, this.lookups, this.mapping);
    return { service: mapped.service, workloads, pods, nodes };
  }

  /** Keeps the Pod/Node → Service indexes in step with what a Service's workloads joined. */
  private reindex(key: string, prev: Entry | undefined, next: Entry | undefined): void {
    const update = (index: Map<string, Set<string>>, before: readonly string[], after: readonly string[]) => {
      const keep = new Set(after);
      for (const b of before) {
        if (keep.has(b)) continue;
        const set = index.get(b);
        set?.delete(key);
        if (set?.size === 0) index.delete(b);
      }
      for (const a of after) {
        let set = index.get(a);
        if (!set) index.set(a, (set = new Set()));
        set.add(key);
      }
    };
    update(this.servicesByPod, prev?.pods ?? [], next?.pods ?? []);
    update(this.servicesByNode, prev?.nodes ?? [], next?.nodes ?? []);
  }

  private buildShard(): RegistryShard {
    const keys = [...this.entries.keys()].sort();
    const services: Service[] = [];
    const workloads: Workload[] = [];
    for (const k of keys) {
      const e = this.entries.get(k)!;
      services.push(e.service);
      for (const w of e.workloads) workloads.push(w);
    }
    return { source: this.source, services, workloads };
  }
}

function serviceKeyOfSlice(s: KubeEndpointSlice): string | undefined {
  const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
  return svc && s.metadata.namespace ? `${s.metadata.namespace}/${svc}` : undefined;
}

function sameBesidesVersion(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return jsonEqual(strip(a), strip(b));
}

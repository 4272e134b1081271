import type { Service, ServicePort } from '../model/service.js';
import type { Workload } from '../model/workload.js';
import type { SourceStatus } from '../model/shard.js';
import type { RegistryMessage } from '../bus/bus.js';
import type { EndpointSet, MeshService } from '../snapshot/mesh-snapshot.js';
import { contentHash, hashOf, stableStringify } from '../util/hash.js';
import { diffShard, type HostContribution, type ShardState } from './host-diff.js';

// Only changed hosts are hashed (host-diff.ts); a workload object kept across updates is
// hashed once.
const objectHashes = new WeakMap<object, string>();
function cachedHash(o: object): string {
  let h = objectHashes.get(o);
  if (h === undefined) {
    h = contentHash(stableStringify(o));
    objectHashes.set(o, h);
  }
  return h;
}

/**
 * Merges the registry shards of every source into one view keyed by mesh hostname.
 * A shard update recomputes only the hosts whose contribution from that source changed
 * (found by cheap comparison, see host-diff.ts), so after one pass over the shard the cost
 * of a change is proportional to what changed, not to the mesh size.
 */
export class RegistryAggregator {
  private readonly messages = new Map<string, RegistryMessage>();
  /** source → its last shard split by host */
  private readonly shards = new Map<string, ShardState>();
  private readonly services = new Map<string, MeshService>();
  private readonly endpoints = new Map<string, EndpointSet>();
  private changedServices = new Set<string>();
  private changedEndpoints = new Set<string>();

  /** Applies a source's message (undefined: the source is gone). Returns the hosts touched. */
  apply(source: string, message: RegistryMessage | undefined): number {
    return this.update(source, message).hosts;
  }

  /**
   * apply(), also saying how many of the touched hosts changed their service definition
   * (0: an endpoint-only change, which the engine may build without a quiet period).
   */
  update(source: string, message: RegistryMessage | undefined): { hosts: number; services: number } {
    if (message === undefined) this.messages.delete(source);
    else this.messages.set(source, message);
    const { state, changed } = diffShard(this.shards.get(source), message?.shard);
    if (state) this.shards.set(source, state);
    else this.shards.delete(source);
    let services = 0;
    for (const host of changed) if (this.recompute(host)) services++;
    return { hosts: changed.size, services };
  }

  /** Re-merges one host from every source; true when its service definition changed. */
  private recompute(host: string): boolean {
    const parts: { source: string; c: HostContribution }[] = [];
    for (const [source, shard] of this.shards) {
      const c = shard.hosts.get(host);
      if (c) parts.push({ source, c });
    }
    parts.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
    const defs = parts.flatMap((p) => (p.c.service ? [p.c.service] : []));
    const oldService = this.services.get(host);
    const oldEndpoints = this.endpoints.get(host);
    if (defs.length === 0) {
      // Workloads without a service definition are not routable; they wait for one.
      this.services.delete(host);
    } else {
      const service = mergeServices(defs);
      const version = hashOf(service);
      if (oldService?.version !== version) this.services.set(host, { service, version });
    }
    const workloads = parts.flatMap((p) => p.c.workloads);
    if (workloads.length === 0 && defs.length === 0) {
      this.endpoints.delete(host);
    } else {
      const version = contentHash(...workloads.map(cachedHash));
      if (oldEndpoints?.version !== version) this.endpoints.set(host, { hostname: host, workloads, version });
    }
    const serviceChanged = this.services.get(host) !== oldService;
    if (serviceChanged) this.changedServices.add(host);
    if (this.endpoints.get(host) !== oldEndpoints) this.changedEndpoints.add(host);
    return serviceChanged;
  }

  /** Returns and clears what changed since the last call. */
  takeChanges(): { services: Set<string>; endpoints: Set<string> } {
    const changes = { services: this.changedServices, endpoints: this.changedEndpoints };
    this.changedServices = new Set();
    this.changedEndpoints = new Set();
    return changes;
  }

  servicesView(): ReadonlyMap<string, MeshService> {
    return this.services;
  }

  endpointsView(): ReadonlyMap<string, EndpointSet> {
    return this.endpoints;
  }

  isSynced(source: string): boolean {
    return this.messages.get(source)?.synced === true;
  }

  sourceStatuses(): SourceStatus[] {
    return [...this.messages.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([source, m]) => ({
        source,
        synced: m.synced,
        stale: m.stale,
        ...(m.error ? { lastError: m.error } : {}),
        lastUpdate: m.updatedAt,
        services: m.shard.services.length,
        workloads: m.shard.workloads.length,
      }));
  }
}

/** One hostname from several sources: ports unioned by number (first source wins a clash). */
function mergeServices(defs: readonly Service[]): Service {
  const first = defs[0]!;
  if (defs.length === 1) return first;
  const ports = new Map<number, ServicePort>();
  const labels: Record<string, string> = {};
  const sources = new Set<string>();
  const exportTo = new Set<string>();
  for (const d of defs) {
    for (const p of d.ports) if (!ports.has(p.number)) ports.set(p.number, p);
    for (const [k, v] of Object.entries(d.labels)) labels[k] ??= v;
    for (const s of d.sources) sources.add(s);
    for (const e of d.exportTo) exportTo.add(e);
  }
  return {
    hostname: first.hostname,
    namespace: first.namespace,
    ports: [...ports.values()].sort((a, b) => a.number - b.number),
    labels,
    sources: [...sources].sort(),
    exportTo: exportTo.has('*') ? ['*'] : [...exportTo].sort(),
  };
}

import type { Service } from '../model/service.js';
import type { Workload } from '../model/workload.js';
import type { RegistryShard } from '../model/shard.js';
import { jsonEqual } from '../util/equal.js';

/** What one source says about one host: its service definition (if any) and its workloads. */
export interface HostContribution {
  readonly service?: Service;
  /** Sorted by id, so the order a platform lists instances in never matters. */
  readonly workloads: readonly Workload[];
}

/** A source's last shard, split by host. */
export interface ShardState {
  readonly shard: RegistryShard;
  /** Owned by the aggregator: the fast path updates it in place (the previous state is dropped). */
  readonly hosts: Map<string, HostContribution>;
  /** host → positions of its workloads in `shard.workloads`. */
  readonly positions: ReadonlyMap<string, readonly number[]>;
}

export interface ShardDiff {
  /** Undefined when the source has nothing (or is gone). */
  readonly state: ShardState | undefined;
  /** Hosts whose contribution was added, changed or removed. */
  readonly changed: ReadonlySet<string>;
}

/**
 * Splits a source's whole shard by host and finds the hosts whose contribution changed,
 * so only those are re-merged and re-hashed downstream. Adapters publish whole shards (a
 * platform listing is what they have); two paths keep that cheap:
 *
 * - same layout (same lengths, the same service objects, each changed workload slot still
 *   of the same host — what an adapter that keeps its unchanged objects publishes): only
 *   the slots whose object changed are looked at, O(shard) pointer comparisons plus
 *   O(changed hosts);
 * - otherwise every host is regrouped and compared with its previous contribution by
 *   identity, then by structure (adapters that build new objects from each listing):
 *   one pass with cheap comparisons, no hashing.
 */
export function diffShard(previous: ShardState | undefined, shard: RegistryShard | undefined): ShardDiff {
  if (!shard || (shard.services.length === 0 && shard.workloads.length === 0)) {
    return { state: undefined, changed: new Set(previous?.hosts.keys() ?? []) };
  }
  if (previous && previous.shard === shard) return { state: previous, changed: new Set() };
  return (previous && sameLayout(previous, shard)) ?? regroup(previous, shard);
}

/** The fast path, or undefined when the layout differs. */
function sameLayout(previous: ShardState, shard: RegistryShard): ShardDiff | undefined {
  const before = previous.shard;
  if (before.workloads.length !== shard.workloads.length || before.services.length !== shard.services.length) return undefined;
  if (nextDifference(before.services, shard.services, 0) >= 0) return undefined;
  const suspects = new Set<string>();
  for (let i = nextDifference(before.workloads, shard.workloads, 0); i >= 0; i = nextDifference(before.workloads, shard.workloads, i + 1)) {
    const w = shard.workloads[i]!;
    if (w.hostname !== before.workloads[i]!.hostname) return undefined;
    suspects.add(w.hostname);
  }
  const hosts = previous.hosts;
  const changed = new Set<string>();
  for (const host of suspects) {
    const prior = hosts.get(host)!;
    const input = previous.positions.get(host)!.map((i) => shard.workloads[i]!);
    const next = contribution(prior, prior.service, input);
    hosts.set(host, next);
    if (next !== prior) changed.add(host);
  }
  return { state: { shard, hosts, positions: previous.positions }, changed };
}

/**
 * The first slot at or after `from` whose object differs (-1: none). Only pointer
 * comparisons in the loop: a rarely taken branch reading a property inside a 10,000-slot
 * scan left V8's on-stack-replaced code without feedback for it, and the scan left
 * optimized code on nearly every republished shard (`--trace-deopt`).
 */
function nextDifference(a: readonly unknown[], b: readonly unknown[], from: number): number {
  for (let i = from; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function regroup(previous: ShardState | undefined, shard: RegistryShard): ShardDiff {
  const services = new Map<string, Service>();
  for (const s of shard.services) services.set(s.hostname, s);
  const positions = new Map<string, number[]>();
  shard.workloads.forEach((w, i) => {
    const list = positions.get(w.hostname);
    if (list) list.push(i);
    else positions.set(w.hostname, [i]);
  });
  for (const host of services.keys()) if (!positions.has(host)) positions.set(host, []);
  const hosts = new Map<string, HostContribution>();
  const changed = new Set<string>();
  for (const [host, at] of positions) {
    const prior = previous?.hosts.get(host);
    const next = contribution(prior, services.get(host), at.map((i) => shard.workloads[i]!));
    hosts.set(host, next);
    if (next !== prior) changed.add(host);
  }
  for (const host of previous?.hosts.keys() ?? []) if (!hosts.has(host)) changed.add(host);
  return { state: { shard, hosts, positions }, changed };
}

/** `prior` itself when the content is the same (whatever objects carry it), else a new contribution. */
function contribution(prior: HostContribution | undefined, service: Service | undefined, input: readonly Workload[]): HostContribution {
  const sorted = sortById(input);
  if (prior && (prior.service === service || jsonEqual(prior.service, service)) && sameWorkloads(prior.workloads, sorted)) return prior;
  return { ...(service ? { service } : {}), workloads: sorted };
}

function sameWorkloads(a: readonly Workload[], b: readonly Workload[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !jsonEqual(a[i], b[i])) return false;
  return true;
}

function sortById(ws: readonly Workload[]): Workload[] {
  return [...ws].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

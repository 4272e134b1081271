import type { Locality, LocalityLbSetting, Workload } from '@isthmus/core';
import type { JsonObject } from '../resources/resource-type.js';

/**
 * Locality-aware load balancing for one caller, as Istio does it, in EDS:
 * - failover: endpoints get priorities by how close they are to the caller (same
 *   subzone 0, zone 1, region 2, elsewhere 3), a `failover` target region of the caller's
 *   region ahead of the rest; or, with `failoverPriority`, by how many of the listed
 *   labels they share with the caller, in order. Priorities are compacted to 0, 1, 2, …
 *   (gRPC clients refuse gaps). Like Istio, only when the destination has outlier
 *   detection, which is what marks a failing locality unhealthy.
 * - distribute: from the caller's locality, each `to` locality pattern gets its share of
 *   traffic as locality weights; localities no pattern names get none (left out).
 * Both need the caller's locality (bootstrap `node.locality`); without a region nothing
 * changes.
 */

/** The caller: node locality and LABELS. */
export interface LocalityCaller {
  readonly locality: { readonly region?: string; readonly zone?: string; readonly sub_zone?: string };
  readonly labels: Readonly<Record<string, string>>;
}

/** One endpoint ready for EDS. */
export interface EndpointEntry {
  readonly workload: Workload;
  /** The `LbEndpoint` JSON. */
  readonly lbEndpoint: JsonObject;
  /** Its load-balancing weight (≥ 1). */
  readonly weight: number;
}

export interface LocalityOptions {
  readonly setting?: LocalityLbSetting;
  /** Whether the cluster has outlier detection (failover is applied only then). */
  readonly outlierDetection: boolean;
  readonly caller: LocalityCaller;
}

/** Istio's `LocalityMatch`: `region/zone/subzone`, `*` or an empty part matches anything. */
export function localityMatches(l: Locality, pattern: string): boolean {
  const [region = '', zone = '', subzone = ''] = pattern.split('/');
  const part = (rule: string, value: string | undefined, emptyIsAny: boolean): boolean =>
    rule === '*' || (emptyIsAny && rule === '') || rule === (value ?? '');
  return part(region, l.region, false) && part(zone, l.zone, true) && part(subzone, l.subzone, true);
}

function callerLocality(c: LocalityCaller): Locality {
  const l = c.locality;
  return { ...(l.region ? { region: l.region } : {}), ...(l.zone ? { zone: l.zone } : {}), ...(l.sub_zone ? { subzone: l.sub_zone } : {}) };
}

function localityKey(l: Locality): string {
  return `${l.region ?? ''}/${l.zone ?? ''}/${l.subzone ?? ''}`;
}

/** Istio's topology labels, read from the workload's locality when it has no such label. */
const TOPOLOGY_LABELS: Readonly<Record<string, keyof Locality>> = {
  'topology.kubernetes.io/region': 'region',
  'topology.kubernetes.io/zone': 'zone',
  'topology.istio.io/subzone': 'subzone',
};

function labelOf(labels: Readonly<Record<string, string>>, locality: Locality, name: string): string | undefined {
  if (labels[name] !== undefined) return labels[name];
  const field = TOPOLOGY_LABELS[name];
  return field ? locality[field] : undefined;
}

function failoverPriority(
  w: Workload,
  caller: LocalityCaller,
  me: Locality,
  setting: LocalityLbSetting,
): number {
  const labels = setting.failoverPriority;
  if (labels && labels.length > 0) {
    let matched = 0;
    for (const name of labels) {
      const mine = labelOf(caller.labels, me, name);
      if (mine === undefined || labelOf(w.labels, w.locality, name) !== mine) break;
      matched++;
    }
    return labels.length - matched;
  }
  const l = w.locality;
  if (l.region === me.region) {
    if (l.zone === me.zone) return l.subzone === me.subzone ? 0 : 1;
    return 2;
  }
  const rule = setting.failover?.find((f) => f.from === me.region);
  return rule && l.region !== rule.to ? 4 : 3;
}

/** `ClusterLoadAssignment.endpoints` for `entries` as seen from the caller. */
export function localityLbEndpoints(entries: readonly EndpointEntry[], opts: LocalityOptions): JsonObject[] {
  const me = callerLocality(opts.caller);
  const setting = opts.setting;
  const active = setting !== undefined && setting.enabled !== false && me.region !== undefined;
  const failover = active && opts.outlierDetection && !setting?.distribute;

  const groups = new Map<string, { locality: Locality; priority: number; entries: EndpointEntry[] }>();
  for (const e of entries) {
    const priority = failover ? failoverPriority(e.workload, opts.caller, me, setting!) : 0;
    const key = `${localityKey(e.workload.locality)}#${priority}`;
    const g = groups.get(key) ?? { locality: e.workload.locality, priority, entries: [] };
    g.entries.push(e);
    groups.set(key, g);
  }
  let list = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => ({ ...g, weight: g.entries.reduce((s, e) => s + e.weight, 0) }));

  const rule = active ? setting?.distribute?.find((d) => localityMatches(me, d.from)) : undefined;
  if (rule) {
    const weights = new Map<number, number>();
    const unclaimed = new Set(list.map((_, i) => i));
    for (const [pattern, share] of Object.entries(rule.to)) {
      const claimed = [...unclaimed].filter((i) => localityMatches(list[i]!.locality, pattern));
      const total = claimed.reduce((s, i) => s + list[i]!.weight, 0);
      for (const i of claimed) {
        unclaimed.delete(i);
        const w = Math.ceil((list[i]!.weight * share) / total);
        if (w > 0) weights.set(i, w);
      }
    }
    list = list.flatMap((g, i) => (weights.has(i) ? [{ ...g, weight: weights.get(i)! }] : []));
  }

  // Priorities must be 0, 1, 2, … without gaps.
  const used = [...new Set(list.map((g) => g.priority))].sort((a, b) => a - b);
  const compact = new Map(used.map((p, i) => [p, i]));
  return list
    .sort((a, b) => a.priority - b.priority || (localityKey(a.locality) < localityKey(b.locality) ? -1 : 1))
    .map((g) => {
      const locality: JsonObject = {};
      if (g.locality.region) locality.region = g.locality.region;
      if (g.locality.zone) locality.zone = g.locality.zone;
      if (g.locality.subzone) locality.sub_zone = g.locality.subzone;
      const out: JsonObject = {
        // Always present, weight > 0: gRPC clients NACK a missing locality and drop a weightless one.
        locality,
        lb_endpoints: g.entries.map((e) => e.lbEndpoint),
        load_balancing_weight: { value: g.weight },
      };
      const p = compact.get(g.priority) ?? 0;
      if (p > 0) out.priority = p;
      return out;
    });
}

/**
 * What localityLbEndpoints reads of the caller, for cache keys: nothing when no locality
 * setting applies (callers share the assignment), else the locality (and the labels, for
 * failoverPriority).
 */
export function localityCallerKey(opts: Omit<LocalityOptions, 'caller'> & { caller: LocalityCaller }): string {
  const s = opts.setting;
  if (!s || s.enabled === false || !opts.caller.locality.region) return '-';
  if (!s.distribute && !opts.outlierDetection) return '-';
  const l = opts.caller.locality;
  const labels = s.failoverPriority?.map((n) => `${n}=${opts.caller.labels[n] ?? ''}`).join(',') ?? '';
  return `${l.region ?? ''}/${l.zone ?? ''}/${l.sub_zone ?? ''}|${labels}`;
}

import type {
  ConnectionPoolPolicy,
  DestinationPolicy,
  LoadBalancerPolicy,
  OutlierDetectionPolicy,
  TrafficPolicy,
  TrafficPolicySections,
} from './compiled.js';

/** Where one section of an effective policy was written: `DestinationRule/default/reviews` + `spec.trafficPolicy.loadBalancer`. */
export interface PolicySource {
  readonly origin: string;
  readonly path: string;
}

/** The traffic policy that applies to one cluster (host, port, subset), with where each section came from. */
export interface EffectiveTrafficPolicy {
  readonly loadBalancer?: LoadBalancerPolicy;
  readonly connectionPool?: ConnectionPoolPolicy;
  readonly outlierDetection?: OutlierDetectionPolicy;
  readonly sources: {
    readonly loadBalancer?: PolicySource;
    readonly connectionPool?: PolicySource;
    readonly outlierDetection?: PolicySource;
  };
}

const SECTIONS = ['loadBalancer', 'connectionPool', 'outlierDetection'] as const;
type Section = (typeof SECTIONS)[number];

type Mutable = {
  -readonly [K in Section]?: TrafficPolicySections[K];
} & { sources: { -readonly [K in Section]?: PolicySource } };

function overlay(into: Mutable, from: TrafficPolicySections, origin: string, path: string): void {
  for (const s of SECTIONS) {
    const v = from[s];
    if (v === undefined) continue;
    (into as Record<Section, unknown>)[s] = v;
    into.sources[s] = { origin, path: `${path}.${s}` };
  }
}

function overlayPolicy(into: Mutable, tp: TrafficPolicy | undefined, port: number, fallbackOrigin: string): void {
  if (!tp) return;
  const origin = tp.origin ?? fallbackOrigin;
  overlay(into, tp, origin, tp.path ?? 'spec.trafficPolicy');
  const pl = tp.portLevelSettings?.find((p) => p.port === port);
  if (pl) overlay(into, pl, origin, pl.path ?? `${tp.path ?? 'spec.trafficPolicy'}.portLevelSettings`);
}

/**
 * The policy of cluster (port, subset), as Istio merges it: the DestinationRule's
 * top-level sections, replaced by its `portLevelSettings` for the port; then, section by
 * section, the subset's own policy and its port-level settings for the port. A section
 * is replaced whole, never merged field by field.
 */
export function effectiveTrafficPolicy(
  policy: DestinationPolicy | undefined,
  port: number,
  subsetName?: string,
): EffectiveTrafficPolicy {
  const out: Mutable = { sources: {} };
  if (!policy) return out;
  overlayPolicy(out, policy.trafficPolicy, port, policy.origin);
  if (subsetName !== undefined) {
    const subset = policy.subsets.find((s) => s.name === subsetName);
    overlayPolicy(out, subset?.trafficPolicy, port, policy.origin);
  }
  return out;
}

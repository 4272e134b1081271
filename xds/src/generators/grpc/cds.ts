import { effectiveTrafficPolicy as coreEffectiveTrafficPolicy, hashOf, type EffectiveTrafficPolicy, type MeshSnapshot } from '@isthmus/core';
import { clusterPolicy, formatUnenforced, type ReportUnenforced } from '../../capabilities/adapt.js';
import { profileFor, type ClientProfile } from '../../capabilities/profiles.js';
import { withClusterPolicy } from '../../configurers/cluster-policy.js';
import { withOrigin } from '../../validation/provenance.js';
import { adsConfigSource } from '../../configurers/common.js';
import { clusterType } from '../../resources/cluster.js';
import type { EncodedResource } from '../../resources/encoded.js';
import type { JsonObject } from '../../resources/resource-type.js';
import { CLUSTER_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator, ResourceDependencies } from '../generator.js';
import { allClusters, clusterByName, parseOutboundClusterName, type ClusterRef } from '../mesh.js';
import { namedPerScope, proxyScope } from '../scope.js';

/**
 * The clusters a proxy gets: those it named that exist, or all of them (wildcard); only
 * those `visible` to it (Sidecar egress hosts, exportTo) when given.
 */
/** The cluster `name` names, if it exists and is visible. */
export function clusterTarget(snapshot: MeshSnapshot, name: string, visible?: (host: string, port: number) => boolean): ClusterRef | undefined {
  const ref = clusterByName(snapshot, name);
  return ref && (!visible || visible(ref.host, ref.port.number)) ? ref : undefined;
}

export function clusterTargets(
  snapshot: MeshSnapshot,
  names: ReadonlySet<string> | undefined,
  visible?: (host: string, port: number) => boolean,
): ClusterRef[] {
  const seen = (ref: ClusterRef) => !visible || visible(ref.host, ref.port.number);
  if (!names) return allClusters(snapshot).filter(seen);
  const out: ClusterRef[] = [];
  for (const name of [...names].sort()) {
    const ref = clusterByName(snapshot, name);
    if (ref && seen(ref)) out.push(ref);
  }
  return out;
}

/**
 * What a cluster (or its assignment) named `outbound|<port>|<subset>|<host>` reads: the
 * host's service, DestinationRule and endpoints (visibility also reads Sidecars, which
 * stay "any"). A name that does not parse reads nothing: it can never exist.
 */
export function clusterDependencies(name: string): ResourceDependencies {
  const host = parseOutboundClusterName(name)?.host;
  const hosts = host ? [host] : [];
  return { services: hosts, endpoints: hosts, destinations: hosts };
}

/**
 * The DestinationRule policy that applies to a cluster: top-level sections, replaced by
 * port-level settings for its port, then by the subset's own (and its port-level) ones,
 * section by section (Istio's merge; core's effectiveTrafficPolicy).
 */
export function effectiveTrafficPolicy(ref: ClusterRef): EffectiveTrafficPolicy {
  return coreEffectiveTrafficPolicy(ref.policy, ref.port.number, ref.subset?.name);
}

/**
 * CDS for proxyless gRPC: EDS clusters fed over ADS, with the DestinationRule policy the
 * client can enforce (capabilities/): ROUND_ROBIN, or RING_HASH for consistent hashing
 * (not for C-core ≤ 1.51, which crashes on it), max_requests circuit breaking, outlier
 * detection as failure-percentage ejection. What a client cannot enforce is left out
 * for it and reported; clusters are cached per client profile.
 */
export const grpcClusterGenerator: Generator = {
  typeUrl: CLUSTER_TYPE_URL,
  resourceType: clusterType,
  client: 'grpc',
  inputs: ['services', 'destinations', 'sidecars'],
  generate(ctx: GenerateContext): EncodedResource[] {
    const profile = profileFor(ctx.proxy, 'grpc');
    const scope = proxyScope(ctx.snapshot, ctx.proxy);
    // A cluster reads only the snapshot and the client profile.
    const one = (ref: ClusterRef) => {
      const eff = effectiveTrafficPolicy(ref);
      return ctx.memo.get(ref.name, `${profile.id}|${hashOf(eff)}`, (warn) => grpcCluster(ref, eff, profile, (u) => warn(formatUnenforced(u, profile))));
    };
    if (ctx.names) {
      return namedPerScope(scope, `grpc-cds|${profile.id}`, ctx.names, (name) => {
        const ref = clusterTarget(ctx.snapshot, name, scope.visible);
        return ref && one(ref);
      });
    }
    return clusterTargets(ctx.snapshot, undefined, scope.visible).flatMap((ref) => one(ref) ?? []);
  },
  dependencies: (_snapshot, name) => clusterDependencies(name),
};

/** The cluster for a gRPC client of `profile`, tagged with the DestinationRule it came from. */
export function grpcCluster(ref: ClusterRef, eff: EffectiveTrafficPolicy, profile: ClientProfile, report: ReportUnenforced): JsonObject {
  const cluster = withClusterPolicy(edsCluster(ref.name), clusterPolicy(eff, profile, report), profile, { protocol: ref.port.protocol });
  return ref.policy ? withOrigin(cluster, ref.policy.origin) : cluster;
}

/** A bare EDS cluster fed over ADS, round robin. */
export function edsCluster(name: string, maxRequests?: number): JsonObject {
  const cluster: JsonObject = {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: adsConfigSource(), service_name: name },
    lb_policy: 'ROUND_ROBIN',
  };
  if (maxRequests !== undefined && maxRequests > 0) {
    cluster.circuit_breakers = { thresholds: [{ priority: 'DEFAULT', max_requests: { value: maxRequests } }] };
  }
  return cluster;
}

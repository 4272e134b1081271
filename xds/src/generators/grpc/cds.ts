import type { MeshSnapshot, TrafficPolicy } from '@isthmus/core';
import { adsConfigSource } from '../../configurers/common.js';
import { clusterType } from '../../resources/cluster.js';
import type { EncodedResource } from '../../resources/encoded.js';
import type { JsonObject } from '../../resources/resource-type.js';
import { CLUSTER_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator } from '../generator.js';
import { allClusters, clusterByName, type ClusterRef } from '../mesh.js';

/** The clusters a proxy gets: those it named that exist, or all of them (wildcard). */
export function clusterTargets(snapshot: MeshSnapshot, names: ReadonlySet<string> | undefined): ClusterRef[] {
  if (!names) return allClusters(snapshot);
  const out: ClusterRef[] = [];
  for (const name of [...names].sort()) {
    const ref = clusterByName(snapshot, name);
    if (ref) out.push(ref);
  }
  return out;
}

/** Subset settings replace the DestinationRule's top-level ones, section by section (Istio). */
export function effectiveTrafficPolicy(ref: ClusterRef): TrafficPolicy {
  const top = ref.policy?.trafficPolicy ?? {};
  const sub = ref.subset?.trafficPolicy ?? {};
  return { ...top, ...sub };
}

/**
 * CDS for proxyless gRPC: EDS clusters fed over ADS, round robin (gRPC NACKs
 * LEAST_REQUEST; RANDOM and PASSTHROUGH have no gRPC equivalent). The one traffic-policy
 * field sent is connectionPool.maxRequests (a circuit breaker both clients enforce).
 */
export const grpcClusterGenerator: Generator = {
  typeUrl: CLUSTER_TYPE_URL,
  resourceType: clusterType,
  client: 'grpc',
  inputs: ['services', 'destinations'],
  generate(ctx: GenerateContext): EncodedResource[] {
    const out: EncodedResource[] = [];
    for (const ref of clusterTargets(ctx.snapshot, ctx.names)) {
      const maxRequests = effectiveTrafficPolicy(ref).connectionPool?.maxRequests;
      const res = ctx.memo.get(ref.name, `${maxRequests ?? '-'}`, () => edsCluster(ref.name, maxRequests));
      if (res) out.push(res);
    }
    return out;
  },
};

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

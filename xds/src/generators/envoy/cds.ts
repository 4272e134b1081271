import { effectiveTrafficPolicy, hashOf, type Protocol } from '@isthmus/core';
import { clusterPolicy, formatUnenforced } from '../../capabilities/adapt.js';
import { ENVOY_PROFILE } from '../../capabilities/profiles.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, withClusterPolicy } from '../../configurers/cluster-policy.js';
import { adsConfigSource, durationFromMs } from '../../configurers/common.js';
import { clusterType } from '../../resources/cluster.js';
import type { EncodedResource } from '../../resources/encoded.js';
import type { JsonObject } from '../../resources/resource-type.js';
import { CLUSTER_TYPE_URL, HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator } from '../generator.js';
import { allClusters, clusterByName, type ClusterRef } from '../mesh.js';
import { proxyScope } from '../scope.js';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, socketAddress } from './filters.js';
import { inboundClusterName, inboundPorts, interceptionMode, ownWorkloads, type InboundPort } from './node.js';

/**
 * CDS for Envoy sidecars: an EDS cluster `outbound|<port>|<subset>|<host>` for every
 * service port the proxy sees and every DestinationRule subset of it (the effective
 * traffic policy through the shared capability pipeline — clusterPolicy for the Envoy
 * profile, then withClusterPolicy; HTTP/2 upstream for GRPC and HTTP2 ports), a
 * STATIC `inbound|<port>||` cluster per inbound port (the local application), and
 * Istio's BlackHoleCluster and PassthroughCluster (REDIRECT interception only).
 */
export const envoyClusterGenerator: Generator = {
  typeUrl: CLUSTER_TYPE_URL,
  resourceType: clusterType,
  client: 'envoy',
  inputs: ['services', 'destinations', 'endpoints', 'sidecars'],
  generate(ctx: GenerateContext): EncodedResource[] {
    const { snapshot, proxy, names } = ctx;
    const scope = proxyScope(snapshot, proxy);
    const out: EncodedResource[] = [];
    const want = (name: string) => !names || names.has(name);
    const outbound = names
      ? [...names].sort().flatMap((n) => {
          const ref = clusterByName(snapshot, n);
          return ref ? [ref] : [];
        })
      : allClusters(snapshot);
    for (const ref of outbound) {
      if (!scope.visible(ref.host, ref.port.number)) continue;
      const policy = effectiveTrafficPolicy(snapshot.destinations.get(ref.host), ref.port.number, ref.subset?.name);
      const res = ctx.memo.get(ref.name, hashOf({ policy, protocol: ref.port.protocol }), (warn) => outboundCluster(ref, warn));
      if (res) out.push(res);
    }
    for (const p of inboundPorts(snapshot, proxy, ownWorkloads(snapshot, proxy))) {
      const name = inboundClusterName(p.port);
      if (!want(name)) continue;
      const res = ctx.memo.get(name, hashOf({ endpoint: p.endpoint, protocol: p.protocol }), () => inboundCluster(name, p));
      if (res) out.push(res);
    }
    if (interceptionMode(proxy) === 'REDIRECT') {
      for (const [name, build] of [
        [BLACKHOLE_CLUSTER, blackHoleCluster],
        [PASSTHROUGH_CLUSTER, passthroughCluster],
      ] as const) {
        if (!want(name)) continue;
        const res = ctx.memo.get(name, 'static', build);
        if (res) out.push(res);
      }
    }
    return out;
  },
};

export function outboundCluster(ref: ClusterRef, warn: (m: string) => void): JsonObject {
  const eff = effectiveTrafficPolicy(ref.policy, ref.port.number, ref.subset?.name);
  const policy = clusterPolicy(eff, ENVOY_PROFILE, (u) => warn(formatUnenforced(u, ENVOY_PROFILE)));
  const base: JsonObject = { name: ref.name, type: 'EDS', eds_cluster_config: { eds_config: adsConfigSource(), service_name: ref.name } };
  return withClusterPolicy(withUpstreamProtocol(base, ref.port.protocol), policy, ENVOY_PROFILE, { protocol: ref.port.protocol });
}

/** GRPC and HTTP2 ports: speak HTTP/2 to the upstream (Envoy's HttpProtocolOptions extension). */
function withUpstreamProtocol(cluster: JsonObject, protocol: Protocol): JsonObject {
  if (protocol !== 'GRPC' && protocol !== 'HTTP2') return cluster;
  return {
    ...cluster,
    typed_extension_protocol_options: {
      [HTTP_PROTOCOL_OPTIONS_KEY]: { '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL, explicit_http_config: { http2_protocol_options: {} } },
    },
  };
}

function inboundCluster(name: string, p: InboundPort): JsonObject {
  const cluster: JsonObject = {
    name,
    type: 'STATIC',
    connect_timeout: durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS),
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(p.endpoint.address, p.endpoint.port) } }] }],
    },
  };
  return withUpstreamProtocol(cluster, p.protocol);
}

/** Istio's BlackHoleCluster: no endpoints, every connection fails. */
function blackHoleCluster(): JsonObject {
  return { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS) };
}

/** Istio's PassthroughCluster: connects to the caller's original destination. */
function passthroughCluster(): JsonObject {
  return {
    name: PASSTHROUGH_CLUSTER,
    type: 'ORIGINAL_DST',
    connect_timeout: durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS),
    lb_policy: 'CLUSTER_PROVIDED',
  };
}

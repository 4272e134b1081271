import { isHttpProtocol, type Protocol } from '@isthmus/core';
import { durationFromMs } from '../../configurers/common.js';
import { rdsConnectionManager, withCorsFilter, withFaultFilter, withRouterFilter } from '../../configurers/listener.js';
import type { JsonObject } from '../../resources/resource-type.js';
import { HCM_TYPE_URL, TYPE_URL_PREFIX } from '../../resources/type-urls.js';

/** Envoy sidecar names and the network/listener filter blocks its listeners are made of. */

export const TCP_PROXY_TYPE_URL = `${TYPE_URL_PREFIX}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`;
export const ORIGINAL_DST_TYPE_URL = `${TYPE_URL_PREFIX}envoy.extensions.filters.listener.original_dst.v3.OriginalDst`;
export const TLS_INSPECTOR_TYPE_URL = `${TYPE_URL_PREFIX}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`;

export const HCM_FILTER_NAME = 'envoy.filters.network.http_connection_manager';
export const TCP_PROXY_FILTER_NAME = 'envoy.filters.network.tcp_proxy';

/** Istio's names for the catch-all clusters and virtual listeners. */
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
export const VIRTUAL_OUTBOUND_LISTENER = 'virtualOutbound';
export const VIRTUAL_INBOUND_LISTENER = 'virtualInbound';

export function socketAddress(address: string, port: number): JsonObject {
  return { socket_address: { address, port_value: port } };
}

export function originalDstListenerFilter(): JsonObject {
  return { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': ORIGINAL_DST_TYPE_URL } };
}

export function tlsInspectorListenerFilter(): JsonObject {
  return { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TLS_INSPECTOR_TYPE_URL } };
}

export function tcpProxyFilter(cluster: string, statPrefix = cluster): JsonObject {
  return { name: TCP_PROXY_FILTER_NAME, typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: statPrefix, cluster } };
}

/**
 * The outbound HttpConnectionManager: routes from RDS `<routeConfigName>` over ADS, and
 * Istio's filter chain — CORS, fault, router — always present (routes switch CORS and
 * faults on per route through typed_per_filter_config, so the listener does not change
 * when a rule does).
 */
export function outboundHttpFilter(routeConfigName: string, statPrefix: string): JsonObject {
  const hcm = withRouterFilter(withCorsFilter(withFaultFilter(rdsConnectionManager(routeConfigName))));
  return { name: HCM_FILTER_NAME, typed_config: { ...hcm, stat_prefix: statPrefix, codec_type: 'AUTO' } };
}

/** The inbound HttpConnectionManager: everything to the local application's cluster, no route timeout. */
export function inboundHttpFilter(cluster: string, port: number): JsonObject {
  const hcm = withRouterFilter({ '@type': HCM_TYPE_URL, http_filters: [] });
  return {
    name: HCM_FILTER_NAME,
    typed_config: {
      ...hcm,
      stat_prefix: `inbound_0.0.0.0_${port}`,
      codec_type: 'AUTO',
      route_config: {
        name: cluster,
        virtual_hosts: [
          {
            name: `inbound|http|${port}`,
            domains: ['*'],
            routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: durationFromMs(0) } }],
          },
        ],
        validate_clusters: { value: false },
      },
    },
  };
}

/** The filter chain in front of the local application on one inbound port. */
export function inboundFilters(cluster: string, port: number, protocol: Protocol): JsonObject[] {
  return isHttpProtocol(protocol) ? [inboundHttpFilter(cluster, port)] : [tcpProxyFilter(cluster)];
}

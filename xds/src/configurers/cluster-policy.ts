import type { Protocol } from '@isthmus/core';
import { FAILURE_PERCENTAGE_THRESHOLD, failurePercentageVolume, type ClusterPolicy } from '../capabilities/adapt.js';
import type { ClientProfile } from '../capabilities/profiles.js';
import type { JsonObject } from '../resources/resource-type.js';
import { HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE_URL } from '../resources/type-urls.js';
import { durationFromMs } from './common.js';

/**
 * DestinationRule traffic policy → Cluster fields, for any client: the policy was
 * already reduced to what the client can take (capabilities/adapt.ts `clusterPolicy`),
 * so this only decides shapes. Envoy gets Istio's defaults where a rule says nothing
 * (unlimited circuit breakers, 10 s connect timeout); proxyless gRPC only what a rule
 * sets, since gRPC clients ignore or refuse the rest.
 */

const UINT32_MAX = 4_294_967_295;

/** Istio's mesh-wide default connect timeout. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface ClusterPolicyOptions {
  /** The service port's protocol: which HTTP version the upstream speaks (Envoy). */
  readonly protocol?: Protocol;
}

export function withClusterPolicy(cluster: JsonObject, policy: ClusterPolicy, profile: ClientProfile, opts: ClusterPolicyOptions = {}): JsonObject {
  let out: JsonObject = { ...cluster, lb_policy: policy.lbPolicy };
  if (policy.lbPolicy === 'PASSTHROUGH') {
    // Istio: connect to the address the caller asked for, no endpoints.
    delete out.eds_cluster_config;
    out.type = 'ORIGINAL_DST';
    out.lb_policy = 'CLUSTER_PROVIDED';
  }
  out = withLoadBalancerConfig(out, policy);
  out = withCircuitBreakers(out, policy, profile);
  if (profile.client === 'envoy') {
    out.connect_timeout = durationFromMs(policy.connectionPool?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    out = withTcpKeepalive(out, policy);
    out = withHttpProtocolOptions(out, policy, opts.protocol);
    // Envoy honours EDS locality weights only when asked to (distribute).
    if (policy.locality?.distribute) out.common_lb_config = { ...(out.common_lb_config as JsonObject), locality_weighted_lb_config: {} };
  }
  return withOutlierDetection(out, policy, profile);
}

function withLoadBalancerConfig(cluster: JsonObject, policy: ClusterPolicy): JsonObject {
  const out = { ...cluster };
  if (policy.lbPolicy === 'RING_HASH' && policy.minimumRingSize !== undefined) {
    out.ring_hash_lb_config = { minimum_ring_size: { value: policy.minimumRingSize } };
  }
  if (policy.lbPolicy === 'MAGLEV' && policy.maglevTableSize !== undefined) {
    out.maglev_lb_config = { table_size: { value: policy.maglevTableSize } };
  }
  if (policy.warmupMs !== undefined) {
    const slowStart = { slow_start_config: { slow_start_window: durationFromMs(policy.warmupMs) } };
    if (policy.lbPolicy === 'ROUND_ROBIN') out.round_robin_lb_config = slowStart;
    else if (policy.lbPolicy === 'LEAST_REQUEST') out.least_request_lb_config = slowStart;
  }
  return out;
}

/**
 * `circuit_breakers.thresholds[DEFAULT]`. Envoy: Istio's defaults (every limit at the
 * maximum, so Envoy's own 1024 never surprises anyone) with the rule's limits on top.
 * gRPC: only max_requests, and only when a rule sets it (both clients enforce it).
 */
function withCircuitBreakers(cluster: JsonObject, policy: ClusterPolicy, profile: ClientProfile): JsonObject {
  const pool = policy.connectionPool ?? {};
  const limit = (v: number | undefined, fallback: number | undefined): JsonObject | undefined => {
    const n = v !== undefined && v > 0 ? v : fallback;
    return n !== undefined ? { value: n } : undefined;
  };
  const envoy = profile.client === 'envoy';
  const t: JsonObject = { priority: 'DEFAULT' };
  const fields: [string, number | undefined][] = [
    ['max_connections', pool.maxConnections],
    ['max_pending_requests', pool.maxPendingRequests],
    ['max_requests', pool.maxRequests],
    ['max_retries', pool.maxRetries],
  ];
  for (const [name, v] of fields) {
    const value = limit(v, envoy ? UINT32_MAX : undefined);
    if (value) t[name] = value;
  }
  if (Object.keys(t).length === 1) return cluster;
  if (envoy) t.track_remaining = true;
  return { ...cluster, circuit_breakers: { thresholds: [t] } };
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function withTcpKeepalive(cluster: JsonObject, policy: ClusterPolicy): JsonObject {
  const ka = policy.connectionPool?.tcpKeepalive;
  if (!ka) return cluster;
  const keepalive: JsonObject = {};
  if (ka.probes !== undefined) keepalive.keepalive_probes = { value: ka.probes };
  if (ka.timeMs !== undefined) keepalive.keepalive_time = { value: seconds(ka.timeMs) };
  if (ka.intervalMs !== undefined) keepalive.keepalive_interval = { value: seconds(ka.intervalMs) };
  return { ...cluster, upstream_connection_options: { ...(cluster.upstream_connection_options as JsonObject), tcp_keepalive: keepalive } };
}

/**
 * `typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]`:
 * idle timeout, requests and duration per connection, HTTP/2 streams, the HTTP version.
 * Merged into what the cluster already has (the sidecar generator sets HTTP/2 for gRPC
 * ports); created with the port's protocol when absent, since the message needs one.
 */
function withHttpProtocolOptions(cluster: JsonObject, policy: ClusterPolicy, protocol: Protocol | undefined): JsonObject {
  const pool = policy.connectionPool ?? {};
  const common: JsonObject = {};
  if (pool.idleTimeoutMs !== undefined) common.idle_timeout = durationFromMs(pool.idleTimeoutMs);
  if (pool.maxRequestsPerConnection !== undefined && pool.maxRequestsPerConnection > 0) {
    common.max_requests_per_connection = { value: pool.maxRequestsPerConnection };
  }
  if (pool.maxConnectionDurationMs !== undefined) common.max_connection_duration = durationFromMs(pool.maxConnectionDurationMs);
  const streams = pool.maxConcurrentStreams;
  const upgrade = pool.h2UpgradePolicy === 'UPGRADE';
  const downstream = pool.useClientProtocol === true;
  if (Object.keys(common).length === 0 && streams === undefined && !upgrade && !downstream) return cluster;

  const all = { ...((cluster.typed_extension_protocol_options as JsonObject | undefined) ?? {}) };
  const existing = (all[HTTP_PROTOCOL_OPTIONS_KEY] as JsonObject | undefined) ?? { '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL };
  const options: JsonObject = { ...existing };
  if (Object.keys(common).length > 0) options.common_http_protocol_options = { ...(existing.common_http_protocol_options as JsonObject), ...common };
  const http2 = upgrade || protocol === 'GRPC' || protocol === 'HTTP2' || (existing.explicit_http_config as JsonObject | undefined)?.http2_protocol_options !== undefined;
  const h2Options: JsonObject = streams !== undefined ? { max_concurrent_streams: { value: streams } } : {};
  if (downstream) {
    delete options.explicit_http_config;
    delete options.auto_config;
    options.use_downstream_protocol_config = { http_protocol_options: {}, http2_protocol_options: h2Options };
  } else if (!options.use_downstream_protocol_config && !options.auto_config) {
    const explicit = (existing.explicit_http_config as JsonObject | undefined) ?? {};
    options.explicit_http_config = http2
      ? { http2_protocol_options: { ...(explicit.http2_protocol_options as JsonObject), ...h2Options } }
      : { http_protocol_options: { ...(explicit.http_protocol_options as JsonObject) } };
  }
  all[HTTP_PROTOCOL_OPTIONS_KEY] = options;
  return { ...cluster, typed_extension_protocol_options: all };
}

/**
 * OutlierDetection. Envoy, as Istio sends it: consecutive 5xx and gateway errors
 * (enforced 100%, or 0 when the rule sets 0), success-rate ejection off, the panic
 * threshold from minHealthPercent. Proxyless gRPC (the outlier-detection decision, see
 * docs/traffic-management.md): gRPC implements failure-percentage ejection only, so
 * "N consecutive errors" becomes "more than 99% of at least N calls in an interval
 * failed", on any number of hosts (minimum_hosts 1), success rate off.
 */
function withOutlierDetection(cluster: JsonObject, policy: ClusterPolicy, profile: ClientProfile): JsonObject {
  const od = policy.outlierDetection;
  if (!od) return cluster;
  const out: JsonObject = {};
  if (profile.outlierDetection === 'failure-percentage') {
    const volume = failurePercentageVolume(od);
    if (volume === undefined) return cluster;
    if (od.intervalMs !== undefined) out.interval = durationFromMs(od.intervalMs);
    if (od.baseEjectionTimeMs !== undefined) out.base_ejection_time = durationFromMs(od.baseEjectionTimeMs);
    if (od.maxEjectionPercent !== undefined) out.max_ejection_percent = { value: od.maxEjectionPercent };
    out.enforcing_success_rate = { value: 0 };
    out.failure_percentage_threshold = { value: FAILURE_PERCENTAGE_THRESHOLD };
    out.enforcing_failure_percentage = { value: 100 };
    out.failure_percentage_minimum_hosts = { value: 1 };
    out.failure_percentage_request_volume = { value: volume };
    return { ...cluster, outlier_detection: out };
  }
  if (od.consecutive5xxErrors !== undefined) {
    out.consecutive_5xx = { value: od.consecutive5xxErrors };
    out.enforcing_consecutive_5xx = { value: od.consecutive5xxErrors > 0 ? 100 : 0 };
  }
  if (od.consecutiveGatewayErrors !== undefined) {
    out.consecutive_gateway_failure = { value: od.consecutiveGatewayErrors };
    out.enforcing_consecutive_gateway_failure = { value: od.consecutiveGatewayErrors > 0 ? 100 : 0 };
  }
  if (od.intervalMs !== undefined) out.interval = durationFromMs(od.intervalMs);
  if (od.baseEjectionTimeMs !== undefined) out.base_ejection_time = durationFromMs(od.baseEjectionTimeMs);
  if (od.maxEjectionPercent !== undefined) out.max_ejection_percent = { value: od.maxEjectionPercent };
  out.enforcing_success_rate = { value: 0 };
  if (od.splitExternalLocalOriginErrors) {
    out.split_external_local_origin_errors = true;
    if (od.consecutiveLocalOriginFailures !== undefined) {
      out.consecutive_local_origin_failure = { value: od.consecutiveLocalOriginFailures };
      out.enforcing_consecutive_local_origin_failure = { value: od.consecutiveLocalOriginFailures > 0 ? 100 : 0 };
    }
  }
  const result: JsonObject = { ...cluster, outlier_detection: out };
  if (od.minHealthPercent !== undefined) {
    result.common_lb_config = { ...(cluster.common_lb_config as JsonObject), healthy_panic_threshold: { value: od.minHealthPercent } };
  }
  return result;
}

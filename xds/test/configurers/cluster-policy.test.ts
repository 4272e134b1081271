import { describe, expect, it } from 'vitest';
import type { ClusterPolicy } from '../../src/capabilities/adapt.js';
import { ENVOY_PROFILE, GRPC_JS_PROFILE } from '../../src/capabilities/profiles.js';
import { withClusterPolicy } from '../../src/configurers/cluster-policy.js';
import { edsCluster } from '../../src/generators/grpc/cds.js';
import { HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE_URL } from '../../src/resources/type-urls.js';

const MAX = { value: 4_294_967_295 };
const envoy = (p: ClusterPolicy, protocol: 'HTTP' | 'GRPC' = 'HTTP') => {
  const { name: _n, type: _t, eds_cluster_config: _e, ...rest } = withClusterPolicy(edsCluster('c'), p, ENVOY_PROFILE, { protocol });
  return rest;
};
const grpc = (p: ClusterPolicy) => {
  const { name: _n, type: _t, eds_cluster_config: _e, ...rest } = withClusterPolicy(edsCluster('c'), p, GRPC_JS_PROFILE);
  return rest;
};

describe('withClusterPolicy', () => {
  it('Envoy without a policy: Istio defaults (10 s connect timeout, circuit breakers at the maximum)', () => {
    expect(envoy({ lbPolicy: 'ROUND_ROBIN' })).toEqual({
      lb_policy: 'ROUND_ROBIN',
      circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: MAX, max_pending_requests: MAX, max_requests: MAX, max_retries: MAX, track_remaining: true }] },
      connect_timeout: { seconds: 10, nanos: 0 },
    });
  });

  it('gRPC without a policy: nothing but round robin', () => {
    expect(grpc({ lbPolicy: 'ROUND_ROBIN' })).toEqual({ lb_policy: 'ROUND_ROBIN' });
  });

  it('load balancers: ring hash with its ring size, Maglev with its table, slow start', () => {
    expect(grpc({ lbPolicy: 'RING_HASH', minimumRingSize: 2048, hash: { header: 'x' } })).toEqual({ lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 2048 } } });
    expect(envoy({ lbPolicy: 'MAGLEV', maglevTableSize: 65537 })).toMatchObject({ lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 65537 } } });
    expect(envoy({ lbPolicy: 'LEAST_REQUEST', warmupMs: 90_000 })).toMatchObject({ lb_policy: 'LEAST_REQUEST', least_request_lb_config: { slow_start_config: { slow_start_window: { seconds: 90, nanos: 0 } } } });
    expect(envoy({ lbPolicy: 'ROUND_ROBIN', warmupMs: 1000 })).toMatchObject({ round_robin_lb_config: { slow_start_config: { slow_start_window: { seconds: 1, nanos: 0 } } } });
    expect(withClusterPolicy(edsCluster('c'), { lbPolicy: 'PASSTHROUGH' }, ENVOY_PROFILE)).toMatchObject({ type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' });
  });

  it('connection pool → thresholds, connect timeout, keepalive, HTTP protocol options (port protocol decides HTTP/1 or 2)', () => {
    const pool = {
      maxConnections: 100,
      maxPendingRequests: 10,
      maxRequests: 1000,
      maxRetries: 3,
      connectTimeoutMs: 250,
      tcpKeepalive: { probes: 9, timeMs: 7_200_000, intervalMs: 75_000 },
      idleTimeoutMs: 30_000,
      maxRequestsPerConnection: 10,
      maxConnectionDurationMs: 600_000,
      maxConcurrentStreams: 64,
    };
    expect(envoy({ lbPolicy: 'ROUND_ROBIN', connectionPool: pool }, 'GRPC')).toEqual({
      lb_policy: 'ROUND_ROBIN',
      circuit_breakers: {
        thresholds: [{ priority: 'DEFAULT', max_connections: { value: 100 }, max_pending_requests: { value: 10 }, max_requests: { value: 1000 }, max_retries: { value: 3 }, track_remaining: true }],
      },
      connect_timeout: { seconds: 0, nanos: 250_000_000 },
      upstream_connection_options: { tcp_keepalive: { keepalive_probes: { value: 9 }, keepalive_time: { value: 7200 }, keepalive_interval: { value: 75 } } },
      typed_extension_protocol_options: {
        [HTTP_PROTOCOL_OPTIONS_KEY]: {
          '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL,
          common_http_protocol_options: {
            idle_timeout: { seconds: 30, nanos: 0 },
            max_requests_per_connection: { value: 10 },
            max_connection_duration: { seconds: 600, nanos: 0 },
          },
          explicit_http_config: { http2_protocol_options: { max_concurrent_streams: { value: 64 } } },
        },
      },
    });
    expect(grpc({ lbPolicy: 'ROUND_ROBIN', connectionPool: { maxRequests: 7 } })).toEqual({
      lb_policy: 'ROUND_ROBIN',
      circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_requests: { value: 7 } }] },
    });
  });

  it('keeps and extends HTTP protocol options a generator already set; useClientProtocol and h2 upgrade', () => {
    const base = {
      ...edsCluster('c'),
      typed_extension_protocol_options: { [HTTP_PROTOCOL_OPTIONS_KEY]: { '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL, explicit_http_config: { http2_protocol_options: {} } } },
    };
    expect(withClusterPolicy(base, { lbPolicy: 'ROUND_ROBIN', connectionPool: { idleTimeoutMs: 5000 } }, ENVOY_PROFILE).typed_extension_protocol_options).toEqual({
      [HTTP_PROTOCOL_OPTIONS_KEY]: {
        '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL,
        explicit_http_config: { http2_protocol_options: {} },
        common_http_protocol_options: { idle_timeout: { seconds: 5, nanos: 0 } },
      },
    });
    expect((envoy({ lbPolicy: 'ROUND_ROBIN', connectionPool: { useClientProtocol: true } }).typed_extension_protocol_options as any)[HTTP_PROTOCOL_OPTIONS_KEY]).toEqual({
      '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL,
      use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
    });
    expect((envoy({ lbPolicy: 'ROUND_ROBIN', connectionPool: { h2UpgradePolicy: 'UPGRADE' } }).typed_extension_protocol_options as any)[HTTP_PROTOCOL_OPTIONS_KEY]).toEqual({
      '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL,
      explicit_http_config: { http2_protocol_options: {} },
    });
  });

  it('outlier detection: Envoy as Istio sends it (consecutive errors, success rate off, panic threshold)', () => {
    expect(
      envoy({
        lbPolicy: 'ROUND_ROBIN',
        outlierDetection: {
          consecutive5xxErrors: 0,
          consecutiveGatewayErrors: 3,
          intervalMs: 5000,
          baseEjectionTimeMs: 30_000,
          maxEjectionPercent: 40,
          splitExternalLocalOriginErrors: true,
          consecutiveLocalOriginFailures: 2,
          minHealthPercent: 60,
        },
      }),
    ).toMatchObject({
      outlier_detection: {
        consecutive_5xx: { value: 0 },
        enforcing_consecutive_5xx: { value: 0 },
        consecutive_gateway_failure: { value: 3 },
        enforcing_consecutive_gateway_failure: { value: 100 },
        interval: { seconds: 5, nanos: 0 },
        base_ejection_time: { seconds: 30, nanos: 0 },
        max_ejection_percent: { value: 40 },
        enforcing_success_rate: { value: 0 },
        split_external_local_origin_errors: true,
        consecutive_local_origin_failure: { value: 2 },
        enforcing_consecutive_local_origin_failure: { value: 100 },
      },
      common_lb_config: { healthy_panic_threshold: { value: 60 } },
    });
  });

  it('outlier detection for gRPC: failure-percentage ejection standing in for consecutive errors; off when the rule turns it off', () => {
    expect(grpc({ lbPolicy: 'ROUND_ROBIN', outlierDetection: { consecutive5xxErrors: 4, intervalMs: 1000, baseEjectionTimeMs: 60_000, maxEjectionPercent: 50 } })).toEqual({
      lb_policy: 'ROUND_ROBIN',
      outlier_detection: {
        interval: { seconds: 1, nanos: 0 },
        base_ejection_time: { seconds: 60, nanos: 0 },
        max_ejection_percent: { value: 50 },
        enforcing_success_rate: { value: 0 },
        failure_percentage_threshold: { value: 99 },
        enforcing_failure_percentage: { value: 100 },
        failure_percentage_minimum_hosts: { value: 1 },
        failure_percentage_request_volume: { value: 4 },
      },
    });
    expect(grpc({ lbPolicy: 'ROUND_ROBIN', outlierDetection: { consecutive5xxErrors: 0 } })).toEqual({ lb_policy: 'ROUND_ROBIN' });
  });

  it('locality weights need locality_weighted_lb_config on Envoy', () => {
    expect(envoy({ lbPolicy: 'ROUND_ROBIN', locality: { distribute: [{ from: 'a/*', to: { 'a/*': 100 } }] } }).common_lb_config).toEqual({ locality_weighted_lb_config: {} });
    expect(grpc({ lbPolicy: 'ROUND_ROBIN', locality: { distribute: [{ from: 'a/*', to: { 'a/*': 100 } }] } }).common_lb_config).toBeUndefined();
  });
});

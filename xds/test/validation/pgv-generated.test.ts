import type { EffectiveTrafficPolicy, HttpRoute, MeshSnapshot, TrafficPolicy } from '@isthmus/core';
import { describe, expect, it } from 'vitest';
import { ResourceCache } from '../../src/cache/resource-cache.js';
import { clusterPolicy, ignoreUnenforced } from '../../src/capabilities/adapt.js';
import { ENVOY_PROFILE } from '../../src/capabilities/profiles.js';
import { withClusterPolicy } from '../../src/configurers/cluster-policy.js';
import { translateRoutes } from '../../src/configurers/route-table.js';
import { edsCluster } from '../../src/generators/grpc/cds.js';
import { grpcClusterGenerator } from '../../src/generators/grpc/cds.js';
import { grpcEndpointGenerator } from '../../src/generators/grpc/eds.js';
import { grpcRouteGenerator } from '../../src/generators/grpc/rds.js';
import type { Generator } from '../../src/generators/generator.js';
import { clusterType } from '../../src/resources/cluster.js';
import { encodeResource } from '../../src/resources/encoded.js';
import { routeType } from '../../src/resources/route.js';
import { aDestinationPolicy, aMatch, aProxy, aRouteTable, aService, aSnapshot, aWorkload, canarySnapshot, GREETER, GRPC_JS_AGENT, versionSubsets } from '../helpers/builders.js';
import { anEnvoyProxy } from '../helpers/envoy.js';
import { generate } from '../helpers/generate.js';
import { recordingLogger } from '../helpers/logger.js';

// Every class of PGV-invalid resource a rule can produce, fed to the generators as a
// compiled rule (past config validation, which catches most of them earlier): the
// resource is refused — not pushed — and the error names the field, the `validate.rules`
// rule it breaks and the rule (config key + field) that produced it.

const ORIGIN = 'VirtualService/default/test spec.http[0]';
const GRPC_JS = aProxy({ userAgent: GRPC_JS_AGENT });
type RouteInput = Partial<HttpRoute> & Pick<HttpRoute, 'destinations'>;

/** The errors of a refused resource of `generator` (none refused: []). */
function refusedBy(generator: Generator, snapshot: MeshSnapshot, proxy = GRPC_JS): string[] {
  const { logger, resources } = generate(generator, snapshot, { proxy });
  const refused = logger.at('error').flatMap((l) => l.obj.errors as string[]);
  if (refused.length > 0) expect(resources.map((r) => r.name)).not.toContain((logger.at('error')[0]!.obj as { name: string }).name);
  return refused;
}

const grpcRoute = (route: RouteInput): string[] => refusedBy(grpcRouteGenerator, canarySnapshot().withRoutes(aRouteTable(GREETER, [route])).build());

/** The errors of an Envoy RouteConfiguration built by translateRoutes for `route`. */
function envoyRoute(route: RouteInput, snapshot = canarySnapshot().withRoutes(aRouteTable(GREETER, [route])).build()): string[] {
  const proxy = anEnvoyProxy({ ip: '10.9.9.9', namespace: 'default', labels: { app: 'client' } });
  const routes = translateRoutes(snapshot.routes.get(GREETER), { snapshot, host: GREETER, port: 50051, proxy, client: 'envoy', warn: () => undefined });
  const resource = { name: '50051', virtual_hosts: [{ name: `${GREETER}:50051`, domains: [GREETER], routes }] };
  const result = encodeResource(routeType, '50051', resource, 'envoy');
  return result.valid ? [] : result.errors;
}

function envoyCluster(tp: TrafficPolicy): string[] {
  const eff: EffectiveTrafficPolicy = { ...tp, sources: {} };
  const cluster = withClusterPolicy(edsCluster('outbound|50051||x'), clusterPolicy(eff, ENVOY_PROFILE, ignoreUnenforced), ENVOY_PROFILE, { protocol: 'GRPC' });
  const result = encodeResource(clusterType, cluster.name as string, cluster, 'envoy');
  return result.valid ? [] : result.errors;
}

const grpcCluster = (tp: TrafficPolicy): string[] =>
  refusedBy(grpcClusterGenerator, canarySnapshot().withDestinations(aDestinationPolicy(GREETER, [], tp)).build());

const to = (subset = 'v1') => [{ host: GREETER, subset, weight: 100 }];

describe('PGV-invalid resources from rules are refused, naming the rule', () => {
  it('fault delay of 0 → FaultDelay.fixed_delay (duration.gt)', () => {
    expect(grpcRoute({ destinations: to(), fault: { delay: { fixedDelayMs: 0, percentage: { value: 50 } } } })).toEqual([
      `virtual_hosts[0].routes[0].typed_per_filter_config["envoy.filters.http.fault"].delay.fixed_delay: must be greater than 0s, got 0s (validate.rules duration.gt) (from ${ORIGIN})`,
    ]);
  });

  it('fault abort with HTTP status 100 → FaultAbort.http_status (uint32 200..599)', () => {
    expect(grpcRoute({ destinations: to(), fault: { abort: { httpStatus: 100, percentage: { value: 5 } } } })[0]).toMatch(
      /abort\.http_status: must be at least 200 and less than 600, got 100 \(validate.rules uint32.gte\) \(from VirtualService\/default\/test spec.http\[0\]\)$/,
    );
  });

  it('an empty header-prefix match → HeaderMatcher.prefix_match / StringMatcher.prefix (string.min_len)', () => {
    const route = { destinations: to(), matches: [aMatch({ headers: { 'x-a': { prefix: '' } } })] };
    expect(grpcRoute(route)).toEqual([
      `virtual_hosts[0].routes[0].match.headers[0].prefix_match: must not be empty (validate.rules string.min_len) (from ${ORIGIN})`,
    ]);
    expect(envoyRoute(route)).toEqual([
      `virtual_hosts[0].routes[0].match.headers[0].string_match.prefix: must not be empty (validate.rules string.min_len) (from ${ORIGIN})`,
    ]);
  });

  it('an empty header name → HeaderMatcher.name (string.min_len)', () => {
    expect(grpcRoute({ destinations: to(), matches: [aMatch({ headers: { '': { exact: 'a' } } })] })).toContain(
      `virtual_hosts[0].routes[0].match.headers[0].name: must not be empty (validate.rules string.min_len) (from ${ORIGIN})`,
    );
  });

  it('a direct response status outside 200..599 → DirectResponseAction.status (Envoy)', () => {
    expect(envoyRoute({ destinations: [], directResponse: { status: 150 } })).toEqual([
      `virtual_hosts[0].routes[0].direct_response.status: must be at least 200 and less than 600, got 150 (validate.rules uint32.gte) (from ${ORIGIN})`,
    ]);
  });

  it('a header value with a line break, an empty header to remove → HeaderValue.value, request_headers_to_remove (Envoy)', () => {
    expect(envoyRoute({ destinations: to(), headers: { request: { set: { 'x-a': 'one\ntwo' }, remove: [''] } } })).toEqual([
      `virtual_hosts[0].routes[0].request_headers_to_add[0].header.value: must be a header value (no NUL, CR or LF; HTTP_HEADER_VALUE), got "one\\ntwo" (validate.rules string.well_known_regex) (from ${ORIGIN})`,
      `virtual_hosts[0].routes[0].request_headers_to_remove[0]: must not be empty (validate.rules string.min_len) (from ${ORIGIN})`,
    ]);
  });

  it('a rewritten authority with a line break → RouteAction.host_rewrite_literal (Envoy)', () => {
    expect(envoyRoute({ destinations: to(), rewrite: { authority: 'a\r\nb' } })[0]).toMatch(/route\.host_rewrite_literal: must be a header value .* \(from VirtualService\/default\/test spec\.http\[0\]\)$/);
  });

  it('a redirect code Envoy does not have → RedirectAction.response_code (enum)', () => {
    expect(envoyRoute({ destinations: [], redirect: { uri: '/x', redirectCode: 305 } })).toEqual([
      `virtual_hosts[0].routes[0].redirect.response_code: 305 is not a value of envoy.config.route.v3.RedirectAction.RedirectResponseCode (from ${ORIGIN})`,
    ]);
  });

  it('an empty CORS origin prefix → StringMatcher.prefix (Envoy)', () => {
    const corsPolicy = { allowOrigins: [{ prefix: '' }], allowMethods: [], allowHeaders: [], exposeHeaders: [] };
    expect(envoyRoute({ destinations: to(), corsPolicy })).toEqual([
      `virtual_hosts[0].routes[0].typed_per_filter_config["envoy.filters.http.cors"].allow_origin_string_match[0].prefix: must not be empty (validate.rules string.min_len) (from ${ORIGIN})`,
    ]);
  });

  it('a retry back-off below a nanosecond → RetryBackOff.base_interval (duration.gt)', () => {
    expect(grpcRoute({ destinations: to(), retries: { attempts: 2, retryOn: 'unavailable', backoffMs: 1e-7 } })).toEqual([
      `virtual_hosts[0].routes[0].route.retry_policy.retry_back_off.base_interval: must be greater than 0s, got 0s (validate.rules duration.gt) (from ${ORIGIN})`,
    ]);
  });

  it('a consistent hash on an empty header name → HashPolicy.Header.header_name (both clients)', () => {
    const snapshot = canarySnapshot()
      .withDestinations(versionSubsets(GREETER, { loadBalancer: { consistentHash: { key: { header: '' }, algorithm: 'RING_HASH' } } }))
      .withRoutes(aRouteTable(GREETER, [{ destinations: to() }]))
      .build();
    expect(refusedBy(grpcRouteGenerator, snapshot)).toEqual([
      `virtual_hosts[0].routes[0].route.hash_policy[0].header.header_name: must not be empty (validate.rules string.min_len) (from ${ORIGIN})`,
    ]);
    expect(envoyRoute({ destinations: to() }, snapshot)[0]).toContain('hash_policy[0].header.header_name: must not be empty');
  });

  it('a ring larger than Envoy allows → RingHashLbConfig.minimum_ring_size (uint64.lte)', () => {
    expect(grpcCluster({ loadBalancer: { consistentHash: { key: { header: 'x-user' }, algorithm: 'RING_HASH', minimumRingSize: 9_000_000 } } })).toEqual([
      'ring_hash_lb_config.minimum_ring_size: must be at most 8388608, got 9000000 (validate.rules uint64.lte) (from DestinationRule/default/test)',
    ]);
  });

  it('outlier detection with a 0 interval and 150 % ejection → OutlierDetection (duration.gt, uint32.lte)', () => {
    expect(grpcCluster({ outlierDetection: { consecutive5xxErrors: 3, intervalMs: 0, maxEjectionPercent: 150 } })).toEqual([
      'outlier_detection.interval: must be greater than 0s, got 0s (validate.rules duration.gt) (from DestinationRule/default/test)',
      'outlier_detection.max_ejection_percent: must be at most 100, got 150 (validate.rules uint32.lte) (from DestinationRule/default/test)',
    ]);
  });

  it('a 0 connect timeout and an oversized Maglev table → Cluster.connect_timeout, MaglevLbConfig.table_size (Envoy)', () => {
    expect(envoyCluster({ connectionPool: { connectTimeoutMs: 0 } })).toEqual(['connect_timeout: must be greater than 0s, got 0s (validate.rules duration.gt)']);
    expect(envoyCluster({ loadBalancer: { consistentHash: { key: { sourceIp: true }, algorithm: 'MAGLEV', maglevTableSize: 6_000_011 } } })).toEqual([
      'maglev_lb_config.table_size: must be at most 5000011, got 6000011 (validate.rules uint64.lte)',
    ]);
  });

  it('an endpoint port above 65535 → SocketAddress.port_value (uint32.lte); port 0 → the endpoint rules', () => {
    const withPort = (port: number): MeshSnapshot =>
      aSnapshot()
        .withService(aService(GREETER).withPort('grpc', 50051).build())
        .withWorkloads(aWorkload(GREETER, 'w').at('10.0.0.1').withPort('grpc', port).build())
        .build();
    expect(refusedBy(grpcEndpointGenerator, withPort(70000))).toEqual([
      'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: must be at most 65535, got 70000 (validate.rules uint32.lte)',
      'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: 70000 out of range',
    ]);
    expect(refusedBy(grpcEndpointGenerator, withPort(0))).toEqual(['endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: 0 out of range']);
  });

  it('keeps serving the last valid copy of a resource whose new version is refused, and says why', () => {
    const logger = recordingLogger();
    const cache = ResourceCache.forGenerator(grpcRouteGenerator, logger);
    const good = canarySnapshot().withRoutes(aRouteTable(GREETER, [{ destinations: to(), fault: { delay: { fixedDelayMs: 100, percentage: { value: 5 } } } }])).build();
    const bad = canarySnapshot().withRoutes(aRouteTable(GREETER, [{ destinations: to(), fault: { delay: { fixedDelayMs: 0, percentage: { value: 5 } } } }])).build();
    const first = generate(grpcRouteGenerator, good, { proxy: GRPC_JS, cache }).resources[0]!;
    cache.epoch++;
    const second = generate(grpcRouteGenerator, bad, { proxy: GRPC_JS, cache }).resources[0]!;
    expect(second.version).toBe(first.version);
    expect(cache.refusals()).toEqual([
      {
        type: 'RDS',
        name: `${GREETER}:50051`,
        errors: [expect.stringContaining(`fixed_delay: must be greater than 0s, got 0s (validate.rules duration.gt) (from ${ORIGIN})`)],
        servedVersion: first.version,
      },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { translateRoutes, defaultRoute } from '../../src/configurers/route-table.js';
import { PREVIOUS_HOSTS_TYPE_URL, CORS_POLICY_TYPE_URL, PREVIOUS_PRIORITIES_TYPE_URL } from '../../src/resources/type-urls.js';
import { aMatch, aProxy, aRouteTable, canarySnapshot, GREETER, GRPC_JS_AGENT, versionSubsets } from '../helpers/builders.js';
import { anEnvoyProxy } from '../helpers/envoy.js';

const V1 = `outbound|50051|v1|${GREETER}`;
const V2 = `outbound|50051|v2|${GREETER}`;
const ENVOY = anEnvoyProxy({ ip: '10.9.9.9', namespace: 'default', labels: { app: 'web' } });
const GRPC_JS = aProxy({ userAgent: GRPC_JS_AGENT, labels: { app: 'web' } });

function translate(routes: Parameters<typeof aRouteTable>[1], client: 'envoy' | 'grpc', snapshotBuilder = canarySnapshot()) {
  const snapshot = snapshotBuilder.withRoutes(aRouteTable(GREETER, routes)).build();
  const warnings: string[] = [];
  const out = translateRoutes(snapshot.routes.get(GREETER), {
    snapshot,
    host: GREETER,
    port: 50051,
    proxy: client === 'envoy' ? ENVOY : GRPC_JS,
    client,
    warn: (m) => warnings.push(m),
  });
  // Route names carry a content hash; compare without it.
  return { routes: out.map(({ name, ...r }) => ({ name: String(name).split('#')[0], ...r })) as any[], warnings };
}

const ISTIO_DEFAULT_RETRIES = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: { value: 2 },
  retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': PREVIOUS_HOSTS_TYPE_URL } }],
  host_selection_retry_max_attempts: 5,
  retriable_status_codes: [503],
};

describe('translateRoutes for Envoy', () => {
  it('matches on uri, method, authority, headers (string_match), absent headers and query parameters', () => {
    const { routes } = translate(
      [
        {
          name: 'm',
          matches: [
            aMatch({
              uri: { regex: '/api/.*' },
              method: { exact: 'GET' },
              authority: { prefix: 'greeter' },
              headers: { 'x-a': { exact: '1' } },
              withoutHeaders: { 'x-b': { regex: '.*' } },
              queryParams: { q: { prefix: 'z' } },
              ignoreUriCase: true,
            }),
          ],
          destinations: [{ host: GREETER, subset: 'v1', weight: 100 }],
        },
      ],
      'envoy',
    );
    expect(routes[0].match).toEqual({
      safe_regex: { regex: '/api/.*' },
      case_sensitive: { value: false },
      headers: [
        { name: ':authority', string_match: { prefix: 'greeter' } },
        { name: ':method', string_match: { exact: 'GET' } },
        { name: 'x-a', string_match: { exact: '1' } },
        { name: 'x-b', string_match: { safe_regex: { regex: '.*' } }, invert_match: true },
      ],
      query_parameters: [{ name: 'q', string_match: { prefix: 'z' } }],
    });
  });

  it('a route without retries gets Istio defaults and no timeout; attempts 0 gets none; numeric conditions become status codes', () => {
    const { routes } = translate(
      [
        { name: 'a', matches: [aMatch({ headers: { a: { exact: '1' } } })], destinations: [{ host: GREETER, subset: 'v1', weight: 100 }] },
        { name: 'b', matches: [aMatch({ headers: { b: { exact: '1' } } })], destinations: [{ host: GREETER, subset: 'v1', weight: 100 }], retries: { attempts: 0 } },
        {
          name: 'c',
          destinations: [{ host: GREETER, subset: 'v1', weight: 100 }],
          timeoutMs: 2500,
          retries: { attempts: 4, retryOn: '5xx,503,504', perTryTimeoutMs: 250, retryRemoteLocalities: true, retryIgnorePreviousHosts: false, backoffMs: 25 },
        },
      ],
      'envoy',
    );
    expect(routes[0].route).toEqual({ cluster: V1, timeout: { seconds: 0, nanos: 0 }, retry_policy: ISTIO_DEFAULT_RETRIES });
    expect(routes[1].route).toEqual({ cluster: V1, timeout: { seconds: 0, nanos: 0 } });
    expect(routes[2].route).toEqual({
      cluster: V1,
      timeout: { seconds: 2, nanos: 500_000_000 },
      retry_policy: {
        retry_on: '5xx,retriable-status-codes',
        num_retries: { value: 4 },
        per_try_timeout: { seconds: 0, nanos: 250_000_000 },
        retry_priority: { name: 'envoy.retry_priorities.previous_priorities', typed_config: { '@type': PREVIOUS_PRIORITIES_TYPE_URL, update_frequency: 2 } },
        retriable_status_codes: [503, 504],
        retry_back_off: { base_interval: { seconds: 0, nanos: 25_000_000 } },
      },
    });
  });

  it('redirects and direct responses are answered by Envoy itself', () => {
    const { routes } = translate(
      [
        { name: 'r', matches: [aMatch({ uri: { prefix: '/old' } })], destinations: [], redirect: { uri: '/new', authority: 'x.example', scheme: 'https', derivePort: 'FROM_REQUEST_PORT', redirectCode: 308 } },
        { name: 'd', matches: [aMatch({ uri: { exact: '/health' } })], destinations: [], directResponse: { status: 200, body: { string: 'ok' } } },
        { name: 'b', matches: [aMatch({ uri: { exact: '/bin' } })], destinations: [], directResponse: { status: 503, body: { bytes: 'AAE=' } } },
      ],
      'envoy',
    );
    expect(routes.map(({ match: _m, name: _n, ...r }) => r)).toEqual([
      { redirect: { scheme_redirect: 'https', host_redirect: 'x.example', port_redirect: 50051, path_redirect: '/new', response_code: 'PERMANENT_REDIRECT' } },
      { direct_response: { status: 200, body: { inline_string: 'ok' } } },
      { direct_response: { status: 503, body: { inline_bytes: 'AAE=' } } },
    ]);
  });

  it('rewrites (prefix, whole path under a regex match, regex rewrite, authority), header edits, mirrors, CORS', () => {
    const { routes } = translate(
      [
        {
          name: 'w',
          matches: [aMatch({ uri: { prefix: '/api/v1/' } }), aMatch({ uri: { regex: '/legacy/.*' } })],
          destinations: [
            { host: GREETER, subset: 'v1', weight: 75 },
            { host: GREETER, subset: 'v2', weight: 25, headers: { request: { set: { 'x-canary': '1' } } } },
          ],
          rewrite: { uri: '/api/', authority: 'internal' },
          headers: { request: { add: { 'x-mesh': 'isthmus' }, remove: ['x-debug'] }, response: { set: { 'x-frame-options': 'DENY' } } },
          mirrors: [{ host: GREETER, subset: 'v2', percentage: { value: 12.5 } }],
          corsPolicy: {
            allowOrigins: [{ exact: 'https://a.example' }, { regex: 'https://.*\\.b\\.example' }],
            allowMethods: ['GET', 'POST'],
            allowHeaders: ['authorization'],
            exposeHeaders: ['x-id'],
            maxAgeSeconds: 86400,
            allowCredentials: true,
          },
        },
        { name: 'x', destinations: [{ host: GREETER, subset: 'v1', weight: 100 }], rewrite: { uriRegex: { match: '^/a/(.*)$', rewrite: '/b/\\1' } } },
      ],
      'envoy',
    );
    const [prefixed, regexed, regexRewrite] = routes;
    expect(prefixed.route).toEqual({
      weighted_clusters: {
        clusters: [
          { name: V1, weight: { value: 75 } },
          { name: V2, weight: { value: 25 }, request_headers_to_add: [{ header: { key: 'x-canary', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] },
        ],
      },
      timeout: { seconds: 0, nanos: 0 },
      retry_policy: ISTIO_DEFAULT_RETRIES,
      request_mirror_policies: [{ cluster: V2, runtime_fraction: { default_value: { numerator: 125_000, denominator: 'MILLION' } } }],
      prefix_rewrite: '/api/',
      host_rewrite_literal: 'internal',
    });
    expect(regexed.route.regex_rewrite).toEqual({ pattern: { regex: '^.*$' }, substitution: '/api/' });
    expect(regexed.route.prefix_rewrite).toBeUndefined();
    expect(regexRewrite.route.regex_rewrite).toEqual({ pattern: { regex: '^/a/(.*)$' }, substitution: '/b/\\1' });
    expect(prefixed.request_headers_to_add).toEqual([{ header: { key: 'x-mesh', value: 'isthmus' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' }]);
    expect(prefixed.request_headers_to_remove).toEqual(['x-debug']);
    expect(prefixed.response_headers_to_add).toEqual([{ header: { key: 'x-frame-options', value: 'DENY' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
    expect(prefixed.typed_per_filter_config).toEqual({
      'envoy.filters.http.cors': {
        '@type': CORS_POLICY_TYPE_URL,
        allow_origin_string_match: [{ exact: 'https://a.example' }, { safe_regex: { regex: 'https://.*\\.b\\.example' } }],
        allow_methods: 'GET,POST',
        allow_headers: 'authorization',
        expose_headers: 'x-id',
        max_age: '86400',
        allow_credentials: { value: true },
      },
    });
  });

  it('one destination: its header edits merge into the route; consistent hash from the DestinationRule on every route to it', () => {
    const snapshot = canarySnapshot().withDestinations(versionSubsets(GREETER, { loadBalancer: { consistentHash: { key: { cookie: { name: 's', ttlMs: 60_000 } }, algorithm: 'RING_HASH' } } }));
    const { routes } = translate(
      [{ name: 'one', destinations: [{ host: GREETER, subset: 'v1', weight: 100, headers: { request: { set: { 'x-a': 'dest' } } } }], headers: { request: { set: { 'x-a': 'route', 'x-b': 'r' } } } }],
      'envoy',
      snapshot,
    );
    expect(routes[0].request_headers_to_add).toEqual([
      { header: { key: 'x-a', value: 'dest' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-b', value: 'r' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ]);
    expect(routes[0].route.hash_policy).toEqual([{ cookie: { name: 's', ttl: { seconds: 60, nanos: 0 } } }]);
  });

  it('the default route: no timeout, Istio retries, and the host’s hash policy', () => {
    const snapshot = canarySnapshot().withDestinations(versionSubsets(GREETER, { loadBalancer: { consistentHash: { key: { sourceIp: true }, algorithm: 'RING_HASH' } } })).build();
    const route = defaultRoute({ snapshot, proxy: ENVOY, host: GREETER, port: 50051, client: 'envoy' });
    expect(route.route).toEqual({
      cluster: `outbound|50051||${GREETER}`,
      timeout: { seconds: 0, nanos: 0 },
      retry_policy: ISTIO_DEFAULT_RETRIES,
      hash_policy: [{ connection_properties: { source_ip: true } }],
    });
    const grpc = defaultRoute({ snapshot, proxy: GRPC_JS, host: GREETER, port: 50051, client: 'grpc' });
    expect(grpc.route).toEqual({ cluster: `outbound|50051||${GREETER}`, hash_policy: [{ filter_state: { key: 'io.grpc.channel_id' } }] });
  });
});

describe('translateRoutes for proxyless gRPC', () => {
  it('a route whose destinations all weigh 0 (or do not resolve) is left out, never an empty weighted_clusters', () => {
    const { routes, warnings } = translate(
      [
        { name: 'zero', matches: [aMatch({ headers: { a: { exact: '1' } } })], destinations: [{ host: GREETER, subset: 'v1', weight: 0 }, { host: GREETER, subset: 'v9', weight: 100 }] },
        { name: 'rest', destinations: [{ host: GREETER, subset: 'v1', weight: 100 }] },
      ],
      'grpc',
    );
    expect(routes.map((r) => r.name)).toEqual(['rest']);
    expect(warnings).toContain('route zero: no destination resolves; route left out');
  });

  it('leaves out a redirect rule (reported) so calls fall through; strips what gRPC ignores', () => {
    const { routes, warnings } = translate(
      [
        { name: 'r', matches: [aMatch({ headers: { a: { exact: '1' } } })], destinations: [], redirect: { uri: '/x', redirectCode: 301 } },
        {
          name: 'rest',
          destinations: [{ host: GREETER, subset: 'v1', weight: 100 }],
          mirrors: [{ host: GREETER, subset: 'v2', percentage: { value: 100 } }],
          headers: { request: { set: { a: 'b' } } },
          rewrite: { uri: '/y' },
          timeoutMs: 400,
        },
      ],
      'grpc',
    );
    expect(routes).toHaveLength(1);
    expect(routes[0].route).toEqual({
      cluster: V1,
      max_stream_duration: { max_stream_duration: { seconds: 0, nanos: 400_000_000 }, grpc_timeout_header_max: { seconds: 0, nanos: 400_000_000 } },
    });
    expect(routes[0].request_headers_to_add).toBeUndefined();
    expect(warnings.filter((w) => w.includes('not enforced on proxyless gRPC (grpc-js)')).map((w) => w.split(': ')[0])).toEqual([
      'VirtualService/default/test spec.http[0].redirect',
      'VirtualService/default/test spec.http[1].rewrite',
      'VirtualService/default/test spec.http[1].headers',
      'VirtualService/default/test spec.http[1].mirror',
    ]);
  });

  it('hashes on the header for grpc-js; different keys on the destinations of one route: no hash policy (warned)', () => {
    const snapshot = canarySnapshot().withDestinations({
      ...versionSubsets(GREETER, { loadBalancer: { consistentHash: { key: { header: 'x-user' }, algorithm: 'RING_HASH' } } }),
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } },
      ],
    });
    const { routes, warnings } = translate(
      [
        { name: 'one', matches: [aMatch({ headers: { a: { exact: '1' } } })], destinations: [{ host: GREETER, subset: 'v1', weight: 100 }] },
        { name: 'split', destinations: [{ host: GREETER, subset: 'v1', weight: 50 }, { host: GREETER, subset: 'v2', weight: 50 }] },
      ],
      'grpc',
      snapshot,
    );
    expect(routes[0].route.hash_policy).toEqual([{ header: { header_name: 'x-user' } }]);
    expect(routes[1].route.hash_policy).toBeUndefined();
    expect(warnings.some((w) => w.includes('route split: its destinations hash on different keys'))).toBe(true);
  });
});

describe('route-action configurers', async () => {
  const { hashPolicy, redirectAction, grpcRetryPolicy } = await import('../../src/configurers/route-action.js');
  it('hash policies for every consistent-hash key', () => {
    expect(hashPolicy({ header: 'x-user' })).toEqual({ header: { header_name: 'x-user' } });
    expect(hashPolicy({ cookie: { name: 's', path: '/', ttlMs: 1500 } })).toEqual({ cookie: { name: 's', path: '/', ttl: { seconds: 1, nanos: 500_000_000 } } });
    expect(hashPolicy({ sourceIp: true })).toEqual({ connection_properties: { source_ip: true } });
    expect(hashPolicy({ queryParameter: 'u' })).toEqual({ query_parameter: { name: 'u' } });
    expect(hashPolicy({ channelId: true })).toEqual({ filter_state: { key: 'io.grpc.channel_id' } });
  });

  it.each([
    [301, 'MOVED_PERMANENTLY'],
    [302, 'FOUND'],
    [303, 'SEE_OTHER'],
    [307, 'TEMPORARY_REDIRECT'],
    [308, 'PERMANENT_REDIRECT'],
  ])('redirect code %i is %s; FROM_PROTOCOL_DEFAULT leaves the port to the scheme', (code, name) => {
    expect(redirectAction({ redirectCode: code, derivePort: 'FROM_PROTOCOL_DEFAULT', scheme: 'https' }, 8080)).toEqual({ scheme_redirect: 'https', response_code: name });
  });

  it('gRPC retries: Istio’s default conditions reduced to gRPC statuses; none without a rule or with 0 attempts', () => {
    expect(grpcRetryPolicy({ attempts: 2 })).toEqual({ retry_on: 'unavailable,cancelled', num_retries: { value: 2 } });
    expect(grpcRetryPolicy(undefined)).toBeUndefined();
    expect(grpcRetryPolicy({ attempts: 0, retryOn: 'unavailable' })).toBeUndefined();
  });
});

describe('translateRoutes with a subset that has no healthy endpoint', () => {
  const split = [{ name: 'split', destinations: [{ host: GREETER, subset: 'v1', weight: 95 }, { host: GREETER, subset: 'v2', weight: 5 }] }];
  it('sends the share of an empty subset to the healthy ones, for both clients', () => {
    for (const client of ['grpc', 'envoy'] as const) {
      const base = canarySnapshot().build();
      // v2 deregistered: only the v1 workload is left.
      const snapshot = { ...base, endpoints: new Map([[GREETER, { ...base.endpoints.get(GREETER)!, workloads: base.endpoints.get(GREETER)!.workloads.filter((w) => w.labels.version === 'v1'), version: 'only-v1' }]]) };
      const warnings: string[] = [];
      const table = aRouteTable(GREETER, split);
      const out = translateRoutes(table, { snapshot: { ...snapshot, routes: new Map([[GREETER, table]]) }, host: GREETER, port: 50051, proxy: client === 'envoy' ? ENVOY : GRPC_JS, client, warn: (m) => warnings.push(m) });
      expect(out[0]!.route).toMatchObject({ cluster: V1 });
      expect(warnings.join('\n')).toContain(`${V2} has no healthy endpoint; its 5% goes to the other destinations`);
    }
  });

  it('keeps the split when every subset is empty, and when both are healthy', () => {
    const { routes } = translate(split, 'grpc');
    expect(routes[0].route.weighted_clusters.clusters.map((c: any) => c.name)).toEqual([V1, V2]);
    const empty = canarySnapshot().build();
    const none = { ...empty, endpoints: new Map() };
    const table = aRouteTable(GREETER, split);
    const out = translateRoutes(table, { snapshot: { ...none, routes: new Map([[GREETER, table]]) }, host: GREETER, port: 50051, proxy: GRPC_JS, client: 'grpc', warn: () => {} });
    expect((out[0]!.route as any).weighted_clusters.clusters).toHaveLength(2);
  });
});

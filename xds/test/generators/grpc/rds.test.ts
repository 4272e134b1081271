import { describe, expect, it } from 'vitest';
import { grpcRouteGenerator } from '../../../src/generators/grpc/rds.js';
import { FAULT_TYPE_URL } from '../../../src/resources/type-urls.js';
import { ResourceCache } from '../../../src/cache/resource-cache.js';
import {
  aDestinationPolicy,
  aMatch,
  aProxy,
  aRouteTable,
  aService,
  aSnapshot,
  canarySnapshot,
  GREETER,
  versionSubsets,
} from '../../helpers/builders.js';
import { generate } from '../../helpers/generate.js';
import { recordingLogger } from '../../helpers/logger.js';

const NAME = `${GREETER}:50051`;
const v1 = `outbound|50051|v1|${GREETER}`;
const v2 = `outbound|50051|v2|${GREETER}`;
const routesOf = (rc: any) => rc.virtual_hosts[0].routes;

describe('grpc RDS', () => {
  it('translates the canary: header match to v2, then a 95/5 split adding up to total_weight 100', () => {
    const rc = generate(grpcRouteGenerator, canarySnapshot().build()).byName.get(NAME) as any;
    expect(rc.name).toBe(NAME);
    expect(rc.virtual_hosts).toHaveLength(1);
    expect(rc.virtual_hosts[0].name).toBe(NAME);
    expect(rc.virtual_hosts[0].domains).toEqual([NAME, GREETER]);
    const [iphone, split] = routesOf(rc);
    expect(iphone).toEqual({
      name: expect.stringMatching(/^iphone-to-canary#[0-9a-f]{8}$/),
      match: { prefix: '/', headers: [{ name: 'x-device', exact_match: 'iphone' }] },
      route: { cluster: v2 },
    });
    expect(split).toEqual({
      name: expect.stringMatching(/^canary-split#[0-9a-f]{8}$/),
      match: { prefix: '/' },
      route: {
        weighted_clusters: {
          clusters: [
            { name: v1, weight: { value: 95 } },
            { name: v2, weight: { value: 5 } },
          ],
          total_weight: { value: 100 },
        },
      },
    });
  });

  it('routes to outbound|<port>||<host> when the host has no route table', () => {
    const snapshot = aSnapshot().withService(aService(GREETER).withPort('grpc', 50051).build()).build();
    const rc = generate(grpcRouteGenerator, snapshot).byName.get(NAME) as any;
    expect(routesOf(rc)).toEqual([
      { name: expect.stringMatching(/^default#/), match: { prefix: '/' }, route: { cluster: `outbound|50051||${GREETER}` } },
    ]);
  });

  it('uses exact/prefix/safe_regex header matchers (never string_match), lowercase names, inverted withoutHeaders', () => {
    const snapshot = canarySnapshot()
      .withRoutes(
        aRouteTable(GREETER, [
          {
            matches: [
              aMatch({
                uri: { prefix: '/helloworld.Greeter/' },
                headers: { 'X-User': { prefix: 'ad' }, 'x-re': { regex: 'a.*' } },
                withoutHeaders: { 'x-debug': { exact: '1' } },
              }),
            ],
            destinations: [{ host: GREETER, weight: 100 }],
          },
        ]),
      )
      .build();
    const [route] = routesOf(generate(grpcRouteGenerator, snapshot).byName.get(NAME));
    expect(route.match).toEqual({
      prefix: '/helloworld.Greeter/',
      headers: [
        { name: 'x-debug', exact_match: '1', invert_match: true },
        { name: 'x-re', safe_regex_match: { regex: 'a.*' } },
        { name: 'x-user', prefix_match: 'ad' },
      ],
    });
    expect(JSON.stringify(route)).not.toContain('string_match');
  });

  it('maps exact and regex URIs and ignoreUriCase', () => {
    const snapshot = canarySnapshot()
      .withRoutes(
        aRouteTable(GREETER, [
          { matches: [aMatch({ uri: { exact: '/a.B/C' }, ignoreUriCase: true })], destinations: [{ host: GREETER, weight: 100 }] },
          { matches: [aMatch({ uri: { regex: '/x.*' } })], destinations: [{ host: GREETER, weight: 100 }] },
        ]),
      )
      .build();
    const routes = routesOf(generate(grpcRouteGenerator, snapshot).byName.get(NAME));
    expect(routes[0].match).toEqual({ path: '/a.B/C', case_sensitive: { value: false } });
    expect(routes[1].match).toEqual({ safe_regex: { regex: '/x.*' } });
  });

  it('one route per alternative match, matches for other ports and impossible ones left out', () => {
    const snapshot = canarySnapshot()
      .withRoutes(
        aRouteTable(GREETER, [
          {
            name: 'r',
            matches: [
              aMatch({ headers: { a: { exact: '1' } } }),
              aMatch({ headers: { b: { exact: '2' } }, port: 9999 }),
              aMatch({ headers: { c: { exact: '3' } }, port: 50051 }),
              aMatch({ queryParams: { q: { exact: '1' } } }),
              aMatch({ method: { exact: 'GET' } }),
              aMatch({ method: { exact: 'POST' }, headers: { d: { exact: '4' } } }),
            ],
            destinations: [{ host: GREETER, weight: 100 }],
          },
        ]),
      )
      .build();
    const routes = routesOf(generate(grpcRouteGenerator, snapshot).byName.get(NAME));
    expect(routes.map((r: any) => r.match.headers[0].name)).toEqual(['a', 'c', 'd']);
  });

  it('applies sourceLabels and sourceNamespace per proxy, sharing the resource between equal proxies', () => {
    const snapshot = canarySnapshot()
      .withRoutes(
        aRouteTable(GREETER, [
          { name: 'from-web', matches: [aMatch({ sourceLabels: { app: 'web' } })], destinations: [{ host: GREETER, subset: 'v2', weight: 100 }] },
          { name: 'from-shop', matches: [aMatch({ sourceNamespace: 'shop' })], destinations: [{ host: GREETER, subset: 'v1', weight: 100 }] },
          { name: 'rest', destinations: [{ host: GREETER, subset: 'v1', weight: 100 }] },
        ]),
      )
      .build();
    const cache = ResourceCache.forGenerator(grpcRouteGenerator, recordingLogger());
    const names = (proxy: ReturnType<typeof aProxy>) =>
      routesOf(generate(grpcRouteGenerator, snapshot, { proxy, cache }).byName.get(NAME)).map((r: any) => r.name.split('#')[0]);
    expect(names(aProxy({ labels: { app: 'web' }, namespace: 'default' }))).toEqual(['from-web', 'rest']);
    expect(names(aProxy({ labels: { app: 'db' }, namespace: 'shop' }))).toEqual(['from-shop', 'rest']);
    expect(names(aProxy({ id: 'other-web', labels: { app: 'web', tier: 'x' }, namespace: 'default' }))).toEqual(['from-web', 'rest']);
    expect(cache.stats).toMatchObject({ builds: 2, hits: 1 });
  });

  it('timeout → max_stream_duration; retries (no per-try timeout: gRPC has none); attempts 0 → no retry_policy', () => {
    const snapshot = canarySnapshot()
      .withRoutes(
        aRouteTable(GREETER, [
          { name: 'a', matches: [aMatch({ headers: { a: { exact: '1' } } })], destinations: [{ host: GREETER, weight: 100 }], timeoutMs: 2500, retries: { attempts: 3, retryOn: 'unavailable', perTryTimeoutMs: 500 } },
          { name: 'b', destinations: [{ host: GREETER, weight: 100 }], retries: { attempts: 0 } },
        ]),
      )
      .build();
    const { byName, logger } = generate(grpcRouteGenerator, snapshot);
    const [a, b] = routesOf(byName.get(NAME));
    expect(a.route.max_stream_duration).toEqual({
      max_stream_duration: { seconds: 2, nanos: 500_000_000 },
      grpc_timeout_header_max: { seconds: 2, nanos: 500_000_000 },
    });
    expect(a.route.timeout).toBeUndefined();
    expect(a.route.retry_policy).toEqual({ retry_on: 'unavailable', num_retries: { value: 3 } });
    expect(JSON.stringify(logger.lines)).toContain('retries.perTryTimeout: not enforced on proxyless gRPC (unrecognised client): gRPC clients have no per-attempt timeout');
    expect(b.route.retry_policy).toBeUndefined();
    expect(b.route.max_stream_duration).toBeUndefined();
  });

  it('puts faults in typed_per_filter_config and changes the route name when the fault changes', () => {
    const table = (value: number) =>
      aRouteTable(GREETER, [
        { name: 'f', destinations: [{ host: GREETER, weight: 100 }], fault: { abort: { grpcStatus: 8, percentage: { value } }, delay: { fixedDelayMs: 1500, percentage: { value: 12.5 } } } },
      ]);
    const plain = aRouteTable(GREETER, [{ name: 'f', destinations: [{ host: GREETER, weight: 100 }] }]);
    const route = (t: ReturnType<typeof aRouteTable>) => routesOf(generate(grpcRouteGenerator, canarySnapshot().withRoutes(t).build()).byName.get(NAME))[0];
    const half = route(table(50));
    expect(half.typed_per_filter_config).toEqual({
      'envoy.filters.http.fault': {
        '@type': FAULT_TYPE_URL,
        delay: { fixed_delay: { seconds: 1, nanos: 500_000_000 }, percentage: { numerator: 125_000, denominator: 'MILLION' } },
        abort: { grpc_status: 8, percentage: { numerator: 500_000, denominator: 'MILLION' } },
      },
    });
    const names = new Set([route(plain).name, half.name, route(table(60)).name]);
    expect(names.size).toBe(3);
  });

  it('normalises weights to integers adding up to 100 and drops weight-0 destinations', () => {
    const snapshot = canarySnapshot()
      .withRoutes(
        aRouteTable(GREETER, [
          { destinations: [{ host: GREETER, subset: 'v1', weight: 33.4 }, { host: GREETER, subset: 'v2', weight: 66.6 }] },
        ]),
      )
      .build();
    const [r] = routesOf(generate(grpcRouteGenerator, snapshot).byName.get(NAME));
    expect(r.route.weighted_clusters.clusters.map((c: any) => c.weight.value)).toEqual([33, 67]);
    const zero = canarySnapshot().withRoutes(aRouteTable(GREETER, [{ destinations: [{ host: GREETER, subset: 'v1', weight: 0 }, { host: GREETER, subset: 'v2', weight: 100 }] }])).build();
    expect(routesOf(generate(grpcRouteGenerator, zero).byName.get(NAME))[0].route).toEqual({ cluster: v2 });
  });

  it('resolves destination ports: explicit, the listener port on its own host, the only port of another host', () => {
    const OTHER = 'other.default.svc.cluster.local';
    const MULTI = 'multi.default.svc.cluster.local';
    const snapshot = aSnapshot()
      .withService(
        aService(GREETER).withPort('grpc', 50051).withPort('alt', 50052).build(),
        aService(OTHER).withPort('grpc', 7000).build(),
        aService(MULTI).withPort('a', 1).withPort('b', 2).build(),
      )
      .withRoutes(
        aRouteTable(GREETER, [
          { name: 'own', matches: [aMatch({ headers: { a: { exact: '1' } } })], destinations: [{ host: GREETER, weight: 100 }] },
          { name: 'explicit', matches: [aMatch({ headers: { b: { exact: '1' } } })], destinations: [{ host: GREETER, port: 50052, weight: 100 }] },
          { name: 'only', matches: [aMatch({ headers: { c: { exact: '1' } } })], destinations: [{ host: OTHER, weight: 100 }] },
          { name: 'ambiguous', matches: [aMatch({ headers: { d: { exact: '1' } } })], destinations: [{ host: MULTI, weight: 100 }] },
        ]),
      )
      .build();
    const { byName, resources } = generate(grpcRouteGenerator, snapshot);
    const clusters = (name: string) => routesOf(byName.get(name)).map((r: any) => r.route.cluster);
    expect(clusters(`${GREETER}:50051`)).toEqual([`outbound|50051||${GREETER}`, `outbound|50052||${GREETER}`, `outbound|7000||${OTHER}`]);
    expect(clusters(`${GREETER}:50052`)).toEqual([`outbound|50052||${GREETER}`, `outbound|50052||${GREETER}`, `outbound|7000||${OTHER}`]);
    expect(resources[0]?.warnings.join('\n')).toContain(`destination ${MULTI} does not resolve`);
  });

  it('leaves out destinations that are not clusters (unknown subset or host) and warns', () => {
    const snapshot = canarySnapshot()
      .withDestinations(aDestinationPolicy(GREETER, [{ name: 'v1', labels: { version: 'v1' } }]))
      .withRoutes(
        aRouteTable(GREETER, [
          { name: 'split', destinations: [{ host: GREETER, subset: 'v1', weight: 50 }, { host: GREETER, subset: 'v3', weight: 50 }] },
          { name: 'ghost', destinations: [{ host: 'ghost.svc', port: 80, weight: 100 }] },
        ]),
      )
      .build();
    const { byName, resources } = generate(grpcRouteGenerator, snapshot);
    const routes = routesOf(byName.get(NAME));
    expect(routes).toHaveLength(1);
    expect(routes[0].route).toEqual({ cluster: v1 });
    expect(resources[0]?.warnings).toHaveLength(3);
  });

  it('falls back to the default route when no rule applies on the port', () => {
    const snapshot = canarySnapshot()
      .withRoutes(aRouteTable(GREETER, [{ matches: [aMatch({ port: 1234 })], destinations: [{ host: GREETER, subset: 'v2', weight: 100 }] }]))
      .build();
    expect(routesOf(generate(grpcRouteGenerator, snapshot).byName.get(NAME))[0].route).toEqual({ cluster: `outbound|50051||${GREETER}` });
  });

  it('rebuilds when a destination service changes ports (the cache key covers it)', () => {
    const OTHER = 'other.default.svc.cluster.local';
    const build = (port: number) =>
      aSnapshot()
        .withService(aService(GREETER).withPort('grpc', 50051).build(), aService(OTHER).withPort('grpc', port).build())
        .withRoutes(aRouteTable(GREETER, [{ destinations: [{ host: OTHER, weight: 100 }] }]))
        .withDestinations(versionSubsets(GREETER))
        .build();
    const cache = ResourceCache.forGenerator(grpcRouteGenerator, recordingLogger());
    const cluster = (port: number) => routesOf(generate(grpcRouteGenerator, build(port), { cache }).byName.get(NAME))[0].route.cluster;
    expect(cluster(7000)).toBe(`outbound|7000||${OTHER}`);
    expect(cluster(7001)).toBe(`outbound|7001||${OTHER}`);
  });
});

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileRules, formatIssue, hashOf, type Service } from '@isthmus/core';
import { GREETER_DR, GREETER_HOST, objectsOf, shuffled } from '../config/helpers.js';

function services(...hosts: string[]): Map<string, Service> {
  return new Map(
    hosts.map((hostname) => [
      hostname,
      { hostname, namespace: 'default', ports: [{ name: 'http', number: 80, protocol: 'HTTP' }], labels: {}, sources: ['test/a'], exportTo: ['*'] },
    ]),
  );
}

const vs = (name: string, body: string, meta = ''): string => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: default${meta} }
spec:
${body}
---`;

describe('compileRules', () => {
  it('resolves short names and normalises every field', () => {
    const objects = objectsOf(`
${GREETER_DR}
---
${vs(
  'greeter',
  `  hosts: [greeter]
  http:
    - match:
        - uri: { prefix: /helloworld.Greeter/ }
          method: { exact: POST }
          headers: { X-Device: { exact: iphone }, x-debug: {} }
          withoutHeaders: { X-Canary: { exact: "off" } }
          queryParams: { lang: { regex: "^en" } }
          sourceLabels: { app: frontend }
          sourceNamespace: web
          port: 80
          ignoreUriCase: true
      route:
        - destination: { host: greeter, subset: v2, port: { number: 80 } }
      timeout: 1.5s
      retries: { attempts: 0 }
      fault:
        delay: { fixedDelay: 300ms, percentage: { value: 12.5 } }
        abort: { grpcStatus: UNAVAILABLE, percentage: { value: 1 } }
    - name: split
      route:
        - { destination: { host: greeter.default.svc.cluster.local, subset: v1 }, weight: 90 }
        - { destination: { host: greeter, subset: v2 }, weight: 10 }
      retries: { attempts: 3, perTryTimeout: 1m, retryOn: "unavailable,503" }
      fault:
        abort: { httpStatus: 503, percent: 5 }`,
)}`);
    const { routes, destinations, issues } = compileRules(objects, services(GREETER_HOST));
    expect(issues).toEqual([]);
    const table = routes.get(GREETER_HOST)!;
    const { version, ...content } = table;
    expect(content).toEqual({
      host: GREETER_HOST,
      origins: ['VirtualService/default/greeter'],
      routes: [
        {
          name: 'default/greeter#0',
          origin: 'VirtualService/default/greeter',
          matches: [
            {
              uri: { prefix: '/helloworld.Greeter/' },
              method: { exact: 'POST' },
              headers: { 'x-device': { exact: 'iphone' }, 'x-debug': { regex: '.*' } },
              withoutHeaders: { 'x-canary': { exact: 'off' } },
              queryParams: { lang: { regex: '^en' } },
              sourceLabels: { app: 'frontend' },
              sourceNamespace: 'web',
              port: 80,
              ignoreUriCase: true,
            },
          ],
          destinations: [{ host: GREETER_HOST, subset: 'v2', port: 80, weight: 100 }],
          path: 'spec.http[0]',
          timeoutMs: 1500,
          retries: { attempts: 0 },
          fault: {
            delay: { fixedDelayMs: 300, percentage: { value: 12.5 } },
            abort: { grpcStatus: 14, percentage: { value: 1 } },
          },
        },
        {
          name: 'split',
          origin: 'VirtualService/default/greeter',
          matches: [],
          destinations: [
            { host: GREETER_HOST, subset: 'v1', weight: 90 },
            { host: GREETER_HOST, subset: 'v2', weight: 10 },
          ],
          retries: { attempts: 3, perTryTimeoutMs: 60_000, retryOn: 'unavailable,503' },
          fault: { abort: { httpStatus: 503, percentage: { value: 5 } } },
          path: 'spec.http[1]',
        },
      ],
    });
    expect(version).toBe(hashOf(content));
    const dp = destinations.get(GREETER_HOST)!;
    expect(dp).toEqual({
      host: GREETER_HOST,
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' } },
      ],
      origin: 'DestinationRule/default/greeter',
      version: dp.version,
    });
  });

  it('gives identical output, versions included, for any input order', () => {
    const objects = objectsOf(`
${GREETER_DR}
---
${vs('a', '  hosts: [greeter]\n  http: [{ route: [{ destination: { host: greeter, subset: v1 } }] }]')}
${vs('b', '  hosts: [greeter, ratings]\n  http: [{ route: [{ destination: { host: ratings } }] }]')}
${vs('wild', '  hosts: ["*.example.com"]\n  http: [{ timeout: 2s, route: [{ destination: { host: api.example.com } }] }]')}
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings }
spec: { host: ratings, trafficPolicy: { loadBalancer: { simple: LEAST_CONN } } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings-subsets }
spec: { host: ratings.default.svc.cluster.local, subsets: [{ name: v1, labels: { version: v1 } }] }`);
    const svc = services(GREETER_HOST, 'ratings.default.svc.cluster.local', 'api.example.com', 'web.example.com');
    const expected = compileRules(objects, svc);
    expect([...expected.routes.keys()]).toEqual(['api.example.com', GREETER_HOST, 'ratings.default.svc.cluster.local', 'web.example.com']);
    for (let seed = 1; seed <= 8; seed++) {
      const got = compileRules(shuffled(objects, seed), svc);
      expect([...got.routes.entries()]).toEqual([...expected.routes.entries()]);
      expect([...got.destinations.entries()]).toEqual([...expected.destinations.entries()]);
      expect(got.issues).toEqual(expected.issues);
    }
    // Merged DestinationRules: subsets from both, the policy from the one that has it.
    expect(expected.destinations.get('ratings.default.svc.cluster.local')).toMatchObject({
      subsets: [{ name: 'v1', labels: { version: 'v1' } }],
      trafficPolicy: { loadBalancer: { simple: 'LEAST_REQUEST' } },
      origin: 'DestinationRule/default/ratings,DestinationRule/default/ratings-subsets',
    });
  });

  it('lets the oldest of several VirtualServices for one host win, and warns about the others', () => {
    const objects = objectsOf(`
${vs('newer', '  hosts: [greeter]\n  http: [{ route: [{ destination: { host: greeter } }] }]', ', creationTimestamp: "2026-02-01T00:00:00Z"')}
${vs('older', '  hosts: [greeter]\n  http: [{ timeout: 1s, route: [{ destination: { host: greeter } }] }]', ', creationTimestamp: "2026-01-01T00:00:00Z"')}`);
    const { routes, issues } = compileRules(objects, services(GREETER_HOST));
    expect(routes.get(GREETER_HOST)!.origins).toEqual(['VirtualService/default/older']);
    expect(issues.map(formatIssue)).toEqual([
      'test.yaml:3:VirtualService/default/newer: spec.hosts[0]: ignored for greeter.default.svc.cluster.local: VirtualService default/older is older and defines the routes for this host (one VirtualService per host; the oldest wins)',
    ]);
  });

  it('without creation times, orders VirtualServices for one host by namespace/name', () => {
    const objects = objectsOf(`
${vs('zeta', '  hosts: [greeter]\n  http: [{ route: [{ destination: { host: greeter } }] }]')}
${vs('alpha', '  hosts: [greeter.default.svc.cluster.local]\n  http: [{ route: [{ destination: { host: greeter } }] }]')}`);
    const { routes, issues } = compileRules(objects, services(GREETER_HOST));
    expect(routes.get(GREETER_HOST)!.origins).toEqual(['VirtualService/default/alpha']);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ name: 'zeta', severity: 'warning', path: 'spec.hosts[0]' });
  });

  it('binds wildcard hosts to every matching service; an exact host and a more specific wildcard win', () => {
    const objects = objectsOf(`
${vs('all', '  hosts: ["*.example.com"]\n  http: [{ timeout: 1s, route: [{ destination: { host: backend.example.com } }] }]')}
${vs('api', '  hosts: ["*.api.example.com"]\n  http: [{ timeout: 2s, route: [{ destination: { host: backend.example.com } }] }]')}
${vs('exact', '  hosts: [shop.example.com]\n  http: [{ timeout: 3s, route: [{ destination: { host: backend.example.com } }] }]')}`);
    const { routes, issues } = compileRules(
      objects,
      services('shop.example.com', 'web.example.com', 'v1.api.example.com', 'example.com', 'greeter.default.svc.cluster.local'),
    );
    expect(issues).toEqual([]);
    const timeoutOf = (h: string): number | undefined => routes.get(h)?.routes[0]?.timeoutMs;
    expect([...routes.keys()]).toEqual(['shop.example.com', 'v1.api.example.com', 'web.example.com']);
    expect(timeoutOf('web.example.com')).toBe(1000);
    expect(timeoutOf('v1.api.example.com')).toBe(2000);
    expect(timeoutOf('shop.example.com')).toBe(3000);
  });

  it('skips rules meant only for gateways', () => {
    const objects = objectsOf(`
${vs('gw', '  hosts: [greeter]\n  gateways: [ingress]\n  http: [{ route: [{ destination: { host: greeter } }] }]')}
${vs('mixed', `  hosts: [ratings]
  http:
    - match: [{ gateways: [ingress], uri: { prefix: /admin } }]
      route: [{ destination: { host: ratings } }]
    - route: [{ destination: { host: ratings } }]`)}`);
    const { routes } = compileRules(objects, services(GREETER_HOST));
    expect(routes.has(GREETER_HOST)).toBe(false);
    expect(routes.get('ratings.default.svc.cluster.local')!.routes.map((r) => r.name)).toEqual(['default/mixed#1']);
  });

  it('compiles DestinationRule traffic policies to milliseconds and Envoy names', () => {
    const objects = objectsOf(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: greeter }
spec:
  host: greeter
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    connectionPool:
      tcp: { maxConnections: 100, connectTimeout: 250ms }
      http: { http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRetries: 3 }
    outlierDetection: { consecutive5xxErrors: 5, consecutiveErrors: 7, interval: 10s, baseEjectionTime: 3m, maxEjectionPercent: 50 }
  subsets:
    - name: v1
      labels: { version: v1 }
      trafficPolicy: { loadBalancer: { simple: UNSPECIFIED } }`);
    const dp = compileRules(objects, services(GREETER_HOST)).destinations.get(GREETER_HOST)!;
    expect(dp.trafficPolicy).toEqual({
      loadBalancer: { simple: 'ROUND_ROBIN' },
      connectionPool: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 1000, maxRetries: 3, connectTimeoutMs: 250 },
      outlierDetection: { consecutive5xxErrors: 5, consecutiveGatewayErrors: 7, intervalMs: 10_000, baseEjectionTimeMs: 180_000, maxEjectionPercent: 50 },
      origin: 'DestinationRule/default/greeter',
      path: 'spec.trafficPolicy',
    });
    expect(dp.subsets).toEqual([{ name: 'v1', labels: { version: 'v1' } }]);
  });

  it('compiles the legacy canary RouteRules directly: iPhone → v2, everyone else 95/5', () => {
    const file = fileURLToPath(new URL('../../../examples/canary-routerule/route-rule.yaml', import.meta.url));
    const { routes, destinations, issues } = compileRules(objectsOf(readFileSync(file, 'utf8')), services(GREETER_HOST));
    expect(issues).toEqual([]);
    const table = routes.get(GREETER_HOST)!;
    expect(table.routes.map((r) => ({ matches: r.matches.map((m) => m.headers), destinations: r.destinations }))).toEqual([
      { matches: [{ 'x-device': { exact: 'iphone' } }], destinations: [{ host: GREETER_HOST, subset: 'version-v2', weight: 100 }] },
      {
        matches: [],
        destinations: [
          { host: GREETER_HOST, subset: 'version-v1', weight: 95 },
          { host: GREETER_HOST, subset: 'version-v2', weight: 5 },
        ],
      },
    ]);
    expect(destinations.get(GREETER_HOST)!.subsets.map((s) => s.name)).toEqual(['version-v1', 'version-v2']);
  });

  it('reports a converted RouteRule that another VirtualService shadows against the RouteRule', () => {
    const objects = objectsOf(`
${vs('greeter', '  hosts: [greeter]\n  http: [{ route: [{ destination: { host: greeter } }] }]')}
apiVersion: config.istio.io/v1alpha2
kind: RouteRule
metadata: { name: canary, namespace: default }
spec:
  destination: { name: greeter }
  route: [{ labels: { version: v1 } }]`);
    const { routes, issues } = compileRules(objects, services(GREETER_HOST));
    expect(routes.get(GREETER_HOST)!.origins).toEqual(['VirtualService/default/greeter']);
    expect(issues.map(formatIssue)).toEqual([
      'test.yaml:10:RouteRule/default/canary: spec.destination: ignored for greeter.default.svc.cluster.local: VirtualService default/greeter is older and defines the routes for this host (one VirtualService per host; the oldest wins)',
    ]);
  });

  it('changes a version only when the content changes', () => {
    const make = (weight: number) =>
      objectsOf(`
${GREETER_DR}
---
${vs('greeter', `  hosts: [greeter]\n  http: [{ route: [{ destination: { host: greeter, subset: v1 }, weight: ${100 - weight} }, { destination: { host: greeter, subset: v2 }, weight: ${weight} }] }]`)}`);
    const a = compileRules(make(5), services(GREETER_HOST));
    const b = compileRules(make(5), services(GREETER_HOST));
    const c = compileRules(make(50), services(GREETER_HOST));
    expect(b.routes.get(GREETER_HOST)!.version).toBe(a.routes.get(GREETER_HOST)!.version);
    expect(c.routes.get(GREETER_HOST)!.version).not.toBe(a.routes.get(GREETER_HOST)!.version);
    expect(c.destinations.get(GREETER_HOST)!.version).toBe(a.destinations.get(GREETER_HOST)!.version);
  });
});

describe('compileRules: the full VirtualService and DestinationRule surface', () => {
  it('compiles redirects, direct responses, rewrites, header edits, mirrors, CORS and retry details', () => {
    const objects = objectsOf(`
${GREETER_DR}
---
${vs(
  'greeter',
  `  hosts: [greeter]
  http:
    - match: [{ uri: { prefix: /old }, headers: { x-any: { prefix: "" } } }]
      redirect: { uri: /new, authority: new.example, derivePort: FROM_REQUEST_PORT, scheme: https }
    - match: [{ uri: { exact: /health } }]
      directResponse: { status: 200, body: { string: ok } }
    - rewrite: { uri: /v2, authority: internal }
      headers:
        request: { set: { X-A: "1" }, add: { x-b: "2" }, remove: [X-C, x-c] }
        response: { remove: [server] }
      mirror: { host: greeter, subset: v2 }
      mirrorPercentage: { value: 12.5 }
      mirrors: [{ destination: { host: greeter, subset: v1 } }]
      corsPolicy:
        allowOrigins: [{ exact: https://a.example }, { prefix: "" }]
        allowOrigin: ["*"]
        allowMethods: [GET]
        maxAge: 1m
        allowCredentials: false
        unmatchedPreflights: IGNORE
      retries: { attempts: 2, retryOn: " unavailable , 503", retryRemoteLocalities: true, retryIgnorePreviousHosts: false, backoff: 25ms }
      route:
        - destination: { host: greeter, subset: v1 }
          weight: 60
        - destination: { host: greeter, subset: v2 }
          weight: 40
          headers: { response: { set: { x-version: v2 } } }`,
)}`);
    const { routes, issues } = compileRules(objects, services(GREETER_HOST));
    expect(issues).toEqual([]);
    const [redirect, direct, full] = routes.get(GREETER_HOST)!.routes;
    expect(redirect).toMatchObject({
      destinations: [],
      redirect: { uri: '/new', authority: 'new.example', derivePort: 'FROM_REQUEST_PORT', scheme: 'https', redirectCode: 301 },
      matches: [{ uri: { prefix: '/old' }, headers: { 'x-any': { regex: '.*' } } }],
      path: 'spec.http[0]',
    });
    expect(direct).toMatchObject({ destinations: [], directResponse: { status: 200, body: { string: 'ok' } } });
    expect(full).toMatchObject({
      rewrite: { uri: '/v2', authority: 'internal' },
      headers: { request: { set: { 'x-a': '1' }, add: { 'x-b': '2' }, remove: ['x-c'] }, response: { remove: ['server'] } },
      mirrors: [
        { host: GREETER_HOST, subset: 'v2', percentage: { value: 12.5 } },
        { host: GREETER_HOST, subset: 'v1', percentage: { value: 100 } },
      ],
      corsPolicy: {
        allowOrigins: [{ exact: 'https://a.example' }, { regex: '.*' }, { regex: '.*' }],
        allowMethods: ['GET'],
        allowHeaders: [],
        exposeHeaders: [],
        maxAgeSeconds: 60,
        allowCredentials: false,
        unmatchedPreflights: 'IGNORE',
      },
      retries: { attempts: 2, retryOn: 'unavailable,503', retryRemoteLocalities: true, retryIgnorePreviousHosts: false, backoffMs: 25 },
      destinations: [
        { host: GREETER_HOST, subset: 'v1', weight: 60 },
        { host: GREETER_HOST, subset: 'v2', weight: 40, headers: { response: { set: { 'x-version': 'v2' } } } },
      ],
    });
  });

  it('compiles consistent hashing, locality settings, the whole pool, outlier detection and port-level settings', () => {
    const objects = objectsOf(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: greeter }
spec:
  host: greeter
  trafficPolicy:
    loadBalancer:
      consistentHash: { httpCookie: { name: s, path: /, ttl: 10s }, ringHash: { minimumRingSize: 512 } }
      localityLbSetting: { distribute: [{ from: "a/*", to: { "a/*": 100 } }] }
      warmup: { duration: 30s }
    connectionPool:
      tcp: { maxConnectionDuration: 1h, tcpKeepalive: { probes: 3, time: 60s, interval: 10s } }
      http: { maxRequestsPerConnection: 5, idleTimeout: 15s, maxConcurrentStreams: 32, h2UpgradePolicy: UPGRADE, useClientProtocol: true }
    outlierDetection: { consecutiveLocalOriginFailures: 2, splitExternalLocalOriginErrors: true, minHealthPercent: 30 }
    portLevelSettings:
      - port: { number: 80 }
        loadBalancer: { consistentHash: { maglev: { tableSize: 65537 }, useSourceIp: true } }
  subsets:
    - name: v1
      labels: { version: v1 }
      trafficPolicy:
        loadBalancer: { consistentHash: { httpQueryParameterName: user } }`);
    const dp = compileRules(objects, services(GREETER_HOST)).destinations.get(GREETER_HOST)!;
    expect(dp.trafficPolicy).toEqual({
      loadBalancer: {
        consistentHash: { key: { cookie: { name: 's', path: '/', ttlMs: 10_000 } }, algorithm: 'RING_HASH', minimumRingSize: 512 },
        localityLbSetting: { distribute: [{ from: 'a/*', to: { 'a/*': 100 } }] },
        warmupMs: 30_000,
      },
      connectionPool: {
        maxConnectionDurationMs: 3_600_000,
        tcpKeepalive: { probes: 3, timeMs: 60_000, intervalMs: 10_000 },
        maxRequestsPerConnection: 5,
        idleTimeoutMs: 15_000,
        maxConcurrentStreams: 32,
        h2UpgradePolicy: 'UPGRADE',
        useClientProtocol: true,
      },
      outlierDetection: { consecutiveLocalOriginFailures: 2, splitExternalLocalOriginErrors: true, minHealthPercent: 30 },
      portLevelSettings: [
        { port: 80, loadBalancer: { consistentHash: { key: { sourceIp: true }, algorithm: 'MAGLEV', maglevTableSize: 65537 } }, path: 'spec.trafficPolicy.portLevelSettings[0]' },
      ],
      origin: 'DestinationRule/default/greeter',
      path: 'spec.trafficPolicy',
    });
    expect(dp.subsets[0]!.trafficPolicy).toEqual({
      loadBalancer: { consistentHash: { key: { queryParameter: 'user' }, algorithm: 'RING_HASH' } },
      origin: 'DestinationRule/default/greeter',
      path: 'spec.subsets[0].trafficPolicy',
    });
  });
});

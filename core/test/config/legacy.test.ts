import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { convertLegacy, formatIssue, readableSubsetName, validateObjects, type SourcedObject } from '@isthmus/core';
import { errors, GREETER_HOST, objectsOf, shuffled, warnings } from './helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/canary-routerule/route-rule.yaml', import.meta.url));

const rule = (name: string, spec: string, ns = 'default'): string => `
apiVersion: config.istio.io/v1alpha2
kind: RouteRule
metadata: { name: ${name}, namespace: ${ns} }
spec:
${spec}
---`;

const specs = (objects: readonly SourcedObject[]): Record<string, unknown>[] =>
  objects.map((o) => ({ kind: o.object.kind, name: o.object.metadata.name, spec: o.object.spec }));

describe('convertLegacy: the article canary (examples/canary-routerule/route-rule.yaml)', () => {
  const objects = objectsOf(readFileSync(EXAMPLE, 'utf8'), 'examples/canary-routerule/route-rule.yaml');

  it('is valid, with only the deprecation notes', () => {
    const issues = validateObjects(objects, { knownHosts: new Set([GREETER_HOST]) });
    expect(errors(issues)).toEqual([]);
    expect(warnings(issues)).toEqual([
      'examples/canary-routerule/route-rule.yaml:8:RouteRule/default/canary-release: deprecated: RouteRule is converted to a VirtualService and DestinationRule (`isthmus convert` shows them)',
      'examples/canary-routerule/route-rule.yaml:27:RouteRule/default/iphone-to-v2: deprecated: RouteRule is converted to a VirtualService and DestinationRule (`isthmus convert` shows them)',
    ]);
  });

  it('becomes one VirtualService (iPhone rule first, then 95/5) and one DestinationRule with subsets v1/v2', () => {
    const { objects: out, issues } = convertLegacy(objects);
    expect(issues).toEqual([]);
    expect(out.map((o) => o.object)).toEqual([
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: {
          name: 'greeter-routerules',
          namespace: 'default',
          annotations: { 'isthmus.io/converted-from': 'RouteRule/default/canary-release,RouteRule/default/iphone-to-v2' },
        },
        spec: {
          host: GREETER_HOST,
          subsets: [
            { name: 'version-v1', labels: { version: 'v1' } },
            { name: 'version-v2', labels: { version: 'v2' } },
          ],
        },
      },
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: {
          name: 'greeter-routerules',
          namespace: 'default',
          annotations: { 'isthmus.io/converted-from': 'RouteRule/default/iphone-to-v2,RouteRule/default/canary-release' },
        },
        spec: {
          hosts: [GREETER_HOST],
          http: [
            {
              name: 'RouteRule/default/iphone-to-v2',
              match: [{ headers: { 'x-device': { exact: 'iphone' } } }],
              route: [{ destination: { host: GREETER_HOST, subset: 'version-v2' } }],
            },
            {
              name: 'RouteRule/default/canary-release',
              route: [
                { destination: { host: GREETER_HOST, subset: 'version-v1' }, weight: 95 },
                { destination: { host: GREETER_HOST, subset: 'version-v2' }, weight: 5 },
              ],
            },
          ],
        },
      },
    ]);
    // The converted objects pass validation on their own.
    expect(errors(validateObjects(out))).toEqual([]);
  });

  it('does not depend on the input order', () => {
    const a = convertLegacy(objects);
    const b = convertLegacy([...objects].reverse());
    expect(b.objects.map((o) => o.object)).toEqual(a.objects.map((o) => o.object));
  });
});

describe('convertLegacy: precedence', () => {
  const input = objectsOf(
    [
      rule('low', `  destination: { name: greeter }\n  precedence: 1\n  match: { request: { headers: { x-a: { exact: "1" } } } }\n  route: [{ labels: { version: v1 } }]`),
      rule('high', `  destination: { name: greeter }\n  precedence: 5\n  match: { request: { headers: { x-b: { exact: "1" } } } }\n  route: [{ labels: { version: v2 } }]`),
      rule('mid-b', `  destination: { name: greeter }\n  precedence: 3\n  match: { request: { headers: { x-c: { exact: "1" } } } }\n  route: [{ labels: { version: v1 } }]`),
      rule('mid-a', `  destination: { name: greeter }\n  precedence: 3\n  match: { request: { headers: { x-d: { exact: "1" } } } }\n  route: [{ labels: { version: v2 } }]`),
      rule('catch-all', `  destination: { name: greeter }\n  precedence: 10\n  route: [{ labels: { version: v1 } }]`),
      rule('second-catch-all', `  destination: { name: greeter }\n  route: [{ labels: { version: v2 } }]`),
    ].join('\n'),
  );

  it('orders rules with a match by precedence (highest first), ties by name, catch-alls last', () => {
    const { objects, issues } = convertLegacy(input);
    const vs = objects.find((o) => o.object.kind === 'VirtualService')!;
    const names = (vs.object.spec.http as { name: string }[]).map((h) => h.name);
    expect(names).toEqual([
      'RouteRule/default/high',
      'RouteRule/default/mid-a',
      'RouteRule/default/mid-b',
      'RouteRule/default/low',
      'RouteRule/default/catch-all',
      'RouteRule/default/second-catch-all',
    ]);
    expect(issues.map((i) => `${i.severity} ${formatIssue(i)}`)).toEqual([
      'warning test.yaml:22:RouteRule/default/mid-b: spec.precedence: same precedence (3) as RouteRule default/mid-a for greeter.default.svc.cluster.local; ordered by namespace/name, so this rule is evaluated after it',
      'warning test.yaml:51:RouteRule/default/second-catch-all: unreachable: RouteRule default/catch-all has no match either and is evaluated first, so it takes every request to greeter.default.svc.cluster.local this rule could take',
      'warning test.yaml:42:RouteRule/default/catch-all: spec.precedence: this rule has no match, so it is evaluated after the rules with a match (such as RouteRule default/low, precedence 1) despite its higher precedence',
    ]);
  });

  it('gives the same result for any input order', () => {
    const expected = convertLegacy(input);
    for (let seed = 1; seed <= 5; seed++) {
      const got = convertLegacy(shuffled(input, seed));
      expect(got.objects.map((o) => o.object)).toEqual(expected.objects.map((o) => o.object));
      expect(got.issues).toEqual(expected.issues);
    }
  });
});

describe('convertLegacy: what a rule carries', () => {
  it('maps header matches (uri, method, authority, scheme are special; plain strings are exact), timeouts, retries and faults', () => {
    const { objects, issues } = convertLegacy(
      objectsOf(
        rule(
          'all-fields',
          `  destination: { name: greeter }
  match:
    source: { name: frontend, labels: { version: v2 } }
    request:
      headers:
        uri: { prefix: /helloworld.Greeter/ }
        method: POST
        authority: { regex: "greeter(:.*)?" }
        X-Device: iphone
        cookie: { regex: "^(.*?;)?(user=jason)(;.*)?$" }
  route:
    - { labels: { version: v2 } }
  httpReqTimeout: { simpleTimeout: { timeout: 1.5s } }
  httpReqRetries: { simpleRetry: { attempts: 3, perTryTimeout: 300ms } }
  httpFault:
    delay: { fixedDelay: 5s }
    abort: { percent: 10, grpcStatus: UNAVAILABLE }`,
        ),
      ),
    );
    expect(issues).toEqual([]);
    const http = (objects.find((o) => o.object.kind === 'VirtualService')!.object.spec.http as unknown[])[0];
    expect(http).toEqual({
      name: 'RouteRule/default/all-fields',
      match: [
        {
          uri: { prefix: '/helloworld.Greeter/' },
          method: { exact: 'POST' },
          authority: { regex: 'greeter(:.*)?' },
          headers: { 'X-Device': { exact: 'iphone' }, cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' } },
          sourceLabels: { version: 'v2', app: 'frontend' },
          sourceNamespace: 'default',
        },
      ],
      route: [{ destination: { host: GREETER_HOST, subset: 'version-v2' } }],
      timeout: '1.5s',
      retries: { attempts: 3, perTryTimeout: '300ms' },
      // v1alpha2: no percent means every request.
      fault: {
        delay: { fixedDelay: '5s', percentage: { value: 100 } },
        abort: { percentage: { value: 10 }, grpcStatus: 'UNAVAILABLE' },
      },
    });
  });

  it('resolves destinations: short names in the rule namespace, destination namespace and domain, FQDN service', () => {
    const { objects } = convertLegacy(
      objectsOf(
        [
          rule('a', '  destination: { name: ratings }', 'prod'),
          rule('b', '  destination: { name: reviews, namespace: shop }'),
          rule('c', '  destination: { name: billing, domain: svc.corp.local }'),
          rule('d', '  destination: { service: api.example.com }'),
        ].join('\n'),
      ),
    );
    expect(specs(objects)).toEqual([
      { kind: 'VirtualService', name: 'api-example-com-routerules', spec: { hosts: ['api.example.com'], http: [{ name: 'RouteRule/default/d', route: [{ destination: { host: 'api.example.com' } }] }] } },
      { kind: 'VirtualService', name: 'billing-routerules', spec: { hosts: ['billing.default.svc.corp.local'], http: [{ name: 'RouteRule/default/c', route: [{ destination: { host: 'billing.default.svc.corp.local' } }] }] } },
      { kind: 'VirtualService', name: 'ratings-routerules', spec: { hosts: ['ratings.prod.svc.cluster.local'], http: [{ name: 'RouteRule/prod/a', route: [{ destination: { host: 'ratings.prod.svc.cluster.local' } }] }] } },
      { kind: 'VirtualService', name: 'reviews-routerules', spec: { hosts: ['reviews.shop.svc.cluster.local'], http: [{ name: 'RouteRule/default/b', route: [{ destination: { host: 'reviews.shop.svc.cluster.local' } }] }] } },
    ]);
    expect(objects.find((o) => o.object.metadata.name === 'ratings-routerules')!.object.metadata.namespace).toBe('prod');
  });

  it('reports problems of the converted VirtualService against the RouteRule field', () => {
    const issues = validateObjects(
      objectsOf(
        rule(
          'canary',
          `  destination: { name: greeter }
  rewrite: { uri: "/v2\\n" }
  route:
    - { labels: { version: v1 }, weight: 95 }
    - { labels: { version: v2 }, weight: 5 }`,
        ),
      ),
      { knownHosts: new Set() },
    );
    expect(errors(issues)).toEqual(['test.yaml:2:RouteRule/default/canary: spec.rewrite.uri: must not contain NUL, CR or LF characters']);
    expect(warnings(issues).filter((w) => !w.includes('deprecated'))).toEqual([
      'test.yaml:2:RouteRule/default/canary: spec.destination: unknown host "greeter.default.svc.cluster.local": no service or ServiceEntry has it yet, so this rule has no effect until one does',
    ]);
  });
});

describe('convertLegacy: subsets and DestinationPolicies', () => {
  it('names subsets readably, or by hash when the labels are not plain names', () => {
    expect(readableSubsetName({ version: 'v1' })).toBe('version-v1');
    expect(readableSubsetName({ version: 'v1', env: 'prod' })).toBe('env-prod-version-v1');
    expect(readableSubsetName({ 'app.kubernetes.io/version': '1.2' })).toBeUndefined();
    const { objects } = convertLegacy(
      objectsOf(rule('r', `  destination: { name: greeter }\n  route: [{ labels: { "app.kubernetes.io/version": "1.2" } }]`)),
    );
    const dr = objects.find((o) => o.object.kind === 'DestinationRule')!;
    expect(dr.object.spec.subsets).toEqual([{ name: expect.stringMatching(/^labels-[0-9a-f]{8}$/), labels: { 'app.kubernetes.io/version': '1.2' } }]);
  });

  it('merges a DestinationPolicy into the DestinationRule (host-wide and per version)', () => {
    const { objects, issues } = convertLegacy(
      objectsOf(`
${rule('canary', `  destination: { name: greeter }\n  route: [{ labels: { version: v1 }, weight: 50 }, { labels: { version: v2 }, weight: 50 }]`)}
apiVersion: config.istio.io/v1alpha2
kind: DestinationPolicy
metadata: { name: greeter-lb }
spec:
  destination: { name: greeter }
  loadBalancing: { name: RANDOM }
---
apiVersion: config.istio.io/v1alpha2
kind: DestinationPolicy
metadata: { name: greeter-v1-cb }
spec:
  destination: { name: greeter, labels: { version: v1 } }
  circuitBreaker:
    simpleCb: { maxConnections: 100, httpMaxPendingRequests: 10, httpConsecutiveErrors: 7, sleepWindow: 15m, httpDetectionInterval: 5m, httpMaxEjectionPercent: 50 }`),
    );
    expect(issues).toEqual([]);
    const dr = objects.find((o) => o.object.kind === 'DestinationRule')!;
    expect(dr.object.metadata.annotations).toEqual({
      'isthmus.io/converted-from': 'RouteRule/default/canary,DestinationPolicy/default/greeter-lb,DestinationPolicy/default/greeter-v1-cb',
    });
    expect(dr.object.spec).toEqual({
      host: GREETER_HOST,
      trafficPolicy: { loadBalancer: { simple: 'RANDOM' } },
      subsets: [
        {
          name: 'version-v1',
          labels: { version: 'v1' },
          trafficPolicy: {
            connectionPool: { tcp: { maxConnections: 100 }, http: { http1MaxPendingRequests: 10 } },
            outlierDetection: { consecutive5xxErrors: 7, interval: '5m', baseEjectionTime: '15m', maxEjectionPercent: 50 },
          },
        },
        { name: 'version-v2', labels: { version: 'v2' } },
      ],
    });
  });

  it("reuses a user DestinationRule's subsets and adds the missing ones to it", () => {
    const user = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: greeter }
spec:
  host: greeter
  subsets:
    - { name: stable, labels: { version: v1 } }
---`;
    const { objects, issues } = convertLegacy(
      objectsOf(`${user}\n${rule('canary', `  destination: { name: greeter }\n  route: [{ labels: { version: v1 }, weight: 90 }, { labels: { version: v2 }, weight: 10 }]`)}`),
    );
    expect(issues).toEqual([]);
    expect(specs(objects)).toEqual([
      {
        kind: 'DestinationRule',
        name: 'greeter',
        spec: {
          host: 'greeter',
          subsets: [
            { name: 'stable', labels: { version: 'v1' } },
            { name: 'version-v2', labels: { version: 'v2' } },
          ],
        },
      },
      {
        kind: 'VirtualService',
        name: 'greeter-routerules',
        spec: {
          hosts: [GREETER_HOST],
          http: [
            {
              name: 'RouteRule/default/canary',
              route: [
                { destination: { host: GREETER_HOST, subset: 'stable' }, weight: 90 },
                { destination: { host: GREETER_HOST, subset: 'version-v2' }, weight: 10 },
              ],
            },
          ],
        },
      },
    ]);
    expect(objects[0]!.object.metadata.annotations).toEqual({ 'isthmus.io/merged-subsets-from': 'RouteRule/default/canary' });
  });

  it('refuses a generated subset name the user DestinationRule uses for other labels', () => {
    const issues = validateObjects(
      objectsOf(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: greeter }
spec:
  host: greeter
  subsets:
    - { name: version-v2, labels: { version: v3 } }
---
${rule('canary', `  destination: { name: greeter }\n  route: [{ labels: { version: v2 } }]`)}`),
    );
    expect(errors(issues)).toEqual([
      'test.yaml:11:RouteRule/default/canary: spec.route[0].labels: subset name "version-v2" derived from these labels is already used by DestinationRule default/greeter for different labels {"version":"v3"}',
    ]);
  });

  it('passes other objects through untouched', () => {
    const input = objectsOf(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: other }
spec: { hosts: [other], http: [{ route: [{ destination: { host: other } }] }] }`);
    const { objects, issues } = convertLegacy(input);
    expect(issues).toEqual([]);
    expect(objects).toEqual(input);
    expect(objects[0]).toBe(input[0]);
  });
});

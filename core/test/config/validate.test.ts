import { describe, expect, it } from 'vitest';
import { parseDuration, validateObjects } from '@isthmus/core';
import { errors, GREETER_DR, objectsOf, warnings } from './helpers.js';

/**
 * The error contract users see: `<source>:<kind>/<ns>/<name>: <field path>: <message>`.
 * Each case is one bad object (with the greeter DestinationRule from context.yaml beside
 * it) and the complete list of errors it must produce, as formatted strings.
 */
const VS = (http: string, extra = ''): string => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: greeter, namespace: default }
spec:
  hosts: [greeter]
${extra}  http:
${http}`;

const RR = (spec: string): string => `
apiVersion: config.istio.io/v1alpha2
kind: RouteRule
metadata: { name: canary, namespace: default }
spec:
  destination: { name: greeter }
${spec}`;

const SUPPORTED_KINDS =
  'AuthorizationPolicy, DestinationPolicy, DestinationRule, PeerAuthentication, RequestAuthentication, RouteRule, ServiceEntry, Sidecar, VirtualService, WorkloadEntry';
const HOST_RULE = "each dot-separated part must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit";
const VS_ID = 'test.yaml:2:VirtualService/default/greeter';
const RR_ID = 'test.yaml:2:RouteRule/default/canary';

const cases: { name: string; yaml: string; errors: string[] }[] = [
  {
    name: 'weights that do not add up to 100',
    yaml: VS(`    - route:
        - { destination: { host: greeter, subset: v1 }, weight: 60 }
        - { destination: { host: greeter, subset: v2 }, weight: 30 }`),
    errors: [`${VS_ID}: spec.http[0].route: weights must add up to 100, got 90`],
  },
  {
    name: 'a weight outside 0-100',
    yaml: VS(`    - route:
        - { destination: { host: greeter, subset: v1 }, weight: -10 }
        - { destination: { host: greeter, subset: v2 }, weight: 110 }`),
    errors: [
      `${VS_ID}: spec.http[0].route[0].weight: must be between 0 and 100, got -10`,
      `${VS_ID}: spec.http[0].route[1].weight: must be between 0 and 100, got 110`,
    ],
  },
  {
    name: 'a weight of the wrong type',
    yaml: VS(`    - route:
        - { destination: { host: greeter, subset: v1 }, weight: ninety }
        - { destination: { host: greeter, subset: v2 }, weight: 10 }`),
    errors: [`${VS_ID}: spec.http[0].route[0].weight: must be an integer, got "ninety"`],
  },
  {
    name: 'a misspelt field',
    yaml: VS(`    - route:
        - { destination: { host: greeter, subset: v1 }, weigth: 100 }`),
    errors: [`${VS_ID}: spec.http[0].route[0].weigth: unknown field (did you mean "weight"?)`],
  },
  {
    name: 'a subset no DestinationRule defines',
    yaml: VS(`    - route:
        - { destination: { host: greeter, subset: v3 } }`),
    errors: [
      `${VS_ID}: spec.http[0].route[0].destination.subset: subset "v3" is not defined by any DestinationRule for host greeter.default.svc.cluster.local`,
    ],
  },
  {
    name: 'a uri regex that does not compile',
    yaml: VS(`    - match:
        - uri: { regex: "/api/([a-z" }
      route:
        - destination: { host: greeter }`),
    errors: [`${VS_ID}: spec.http[0].match[0].uri.regex: invalid regular expression "/api/([a-z": unterminated character class (RE2 syntax)`],
  },
  {
    name: 'a header regex RE2 cannot run',
    yaml: VS(`    - match:
        - headers: { x-user: { regex: "^(?!admin).*" } }
      route:
        - destination: { host: greeter }`),
    errors: [
      `${VS_ID}: spec.http[0].match[0].headers.x-user.regex: invalid regular expression "^(?!admin).*": lookahead and lookbehind are not supported by RE2`,
    ],
  },
  {
    name: 'a string match with two kinds',
    yaml: VS(`    - match:
        - uri: { exact: /a, prefix: /b }
      route:
        - destination: { host: greeter }`),
    errors: [`${VS_ID}: spec.http[0].match[0].uri: only one of exact, prefix may be set`],
  },
  {
    name: 'no hosts',
    yaml: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: greeter, namespace: default }
spec:
  http:
    - route:
        - destination: { host: greeter }`,
    errors: [`${VS_ID}: spec.hosts: must list at least one host`],
  },
  {
    name: 'an invalid host name',
    yaml: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: greeter, namespace: default }
spec:
  hosts: [Greeter_Svc]
  http:
    - route:
        - destination: { host: greeter }`,
    errors: [`${VS_ID}: spec.hosts[0]: "Greeter_Svc" is not a valid host: ${HOST_RULE}`],
  },
  {
    name: 'the bare wildcard host',
    yaml: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: greeter, namespace: default }
spec:
  hosts: ["*"]
  http:
    - route:
        - destination: { host: greeter }`,
    errors: [`${VS_ID}: spec.hosts[0]: the bare wildcard "*" would capture every host; use a domain wildcard such as "*.example.com"`],
  },
  {
    name: 'a destination without host',
    yaml: VS(`    - route:
        - destination: { subset: v1 }`),
    errors: [`${VS_ID}: spec.http[0].route[0].destination.host: required field is missing`],
  },
  {
    name: 'a wildcard destination',
    yaml: VS(`    - route:
        - destination: { host: "*.example.com" }`),
    errors: [`${VS_ID}: spec.http[0].route[0].destination.host: must name one service; wildcards are not allowed here`],
  },
  {
    name: 'a timeout that is not a duration',
    yaml: VS(`    - timeout: ten
      route:
        - destination: { host: greeter }`),
    errors: [`${VS_ID}: spec.http[0].timeout: invalid duration "ten" (use e.g. "1.5s", "300ms", "1m", "1h")`],
  },
  {
    name: 'a timeout given as a number',
    yaml: VS(`    - timeout: 10
      route:
        - destination: { host: greeter }`),
    errors: [`${VS_ID}: spec.http[0].timeout: must be a string, got 10`],
  },
  {
    name: 'a per-try timeout below 1ms',
    yaml: VS(`    - retries: { attempts: 3, perTryTimeout: 0s }
      route:
        - destination: { host: greeter }`),
    errors: [`${VS_ID}: spec.http[0].retries.perTryTimeout: must be at least 1ms, got "0s"`],
  },
  {
    name: 'an unknown retry condition',
    yaml: VS(`    - retries: { attempts: 3, retryOn: "5xx,sometimes" }
      route:
        - destination: { host: greeter }`),
    errors: [
      `${VS_ID}: spec.http[0].retries.retryOn: unknown retry condition "sometimes" (use e.g. "5xx,connect-failure,unavailable" or status codes such as "503")`,
    ],
  },
  {
    name: 'an abort status outside 200-599',
    yaml: VS(`    - fault: { abort: { httpStatus: 700, percentage: { value: 10 } } }
      route:
        - destination: { host: greeter }`),
    errors: [`${VS_ID}: spec.http[0].fault.abort.httpStatus: must be an HTTP status between 200 and 599, got 700`],
  },
  {
    name: 'an unknown gRPC status',
    yaml: VS(`    - fault: { abort: { grpcStatus: NOPE, percentage: { value: 10 } } }
      route:
        - destination: { host: greeter }`),
    errors: [`${VS_ID}: spec.http[0].fault.abort.grpcStatus: unknown gRPC status "NOPE" (use a name such as "UNAVAILABLE" or a code 0-16)`],
  },
  {
    name: 'a percentage above 100 and a bad fixed delay',
    yaml: VS(`    - fault: { delay: { fixedDelay: 5x, percentage: { value: 150 } } }
      route:
        - destination: { host: greeter }`),
    errors: [
      `${VS_ID}: spec.http[0].fault.delay.fixedDelay: invalid duration "5x" (use e.g. "1.5s", "300ms", "1m", "1h")`,
      `${VS_ID}: spec.http[0].fault.delay.percentage.value: must be between 0 and 100, got 150`,
    ],
  },
  {
    name: 'a redirect with a code Envoy does not have and a retry it cannot use',
    yaml: VS(`    - redirect: { uri: /v2, redirectCode: 305 }
      retries: { attempts: 2 }`),
    errors: [
      `${VS_ID}: spec.http[0].retries: cannot be combined with redirect: the proxy answers the request itself`,
      `${VS_ID}: spec.http[0].redirect.redirectCode: must be one of 301, 302, 303, 307, 308, got 305`,
    ],
  },
  {
    name: 'a direct response with a status outside 200-599 and a body that is not base64',
    yaml: VS(`    - directResponse: { status: 150, body: { bytes: "not base64!" } }`),
    errors: [
      `${VS_ID}: spec.http[0].directResponse.body.bytes: must be a valid byte, got "not base64!"`,
      `${VS_ID}: spec.http[0].directResponse.status: must be an HTTP status between 200 and 599, got 150`,
    ],
  },
  {
    name: 'a delegate (not supported)',
    yaml: VS(`    - delegate: { name: reviews }`),
    errors: [`${VS_ID}: spec.http[0].delegate: not supported by Isthmus yet: delegate VirtualServices; use route, redirect or directResponse`],
  },
  {
    name: 'header operations on Host, a pseudo-header, and a value with a newline',
    yaml: VS(`    - headers:
        request:
          set: { host: example.com, x-ok: "a\\nb" }
          remove: [":path"]
      route:
        - destination: { host: greeter }`),
    errors: [
      `${VS_ID}: spec.http[0].headers.request.set.host: the Host header cannot be modified here; use rewrite.authority`,
      `${VS_ID}: spec.http[0].headers.request.set.x-ok: must not contain NUL, CR or LF characters`,
      `${VS_ID}: spec.http[0].headers.request.remove[0]: pseudo-headers cannot be removed`,
    ],
  },
  {
    name: 'a rewrite with both uri forms and a regex RE2 cannot run',
    yaml: VS(`    - rewrite: { uri: /a, uriRegexRewrite: { match: "(?=x)", rewrite: /b } }
      route:
        - destination: { host: greeter }`),
    errors: [
      `${VS_ID}: spec.http[0].rewrite: only one of uri and uriRegexRewrite may be set`,
      `${VS_ID}: spec.http[0].rewrite.uriRegexRewrite.match: invalid regular expression "(?=x)": lookahead and lookbehind are not supported by RE2`,
    ],
  },
  {
    name: 'a mirror percentage above 100 and a CORS policy with a bad method and max age',
    yaml: VS(`    - mirror: { host: greeter }
      mirrorPercentage: { value: 101 }
      corsPolicy: { allowMethods: ["GET POST"], maxAge: 1500ms }
      route:
        - destination: { host: greeter }`),
    errors: [
      `${VS_ID}: spec.http[0].mirrorPercentage.value: must be between 0 and 100, got 101`,
      `${VS_ID}: spec.http[0].corsPolicy.allowMethods[0]: "GET POST" is not an HTTP method`,
      `${VS_ID}: spec.http[0].corsPolicy.maxAge: must be a whole number of seconds, got "1500ms"`,
    ],
  },
  {
    name: 'a route with nothing to do',
    yaml: VS(`    - timeout: 1s`),
    errors: [`${VS_ID}: spec.http[0]: must set route, redirect or directResponse`],
  },
  {
    name: 'a route without destinations',
    yaml: VS(`    - route: []`),
    errors: [`${VS_ID}: spec.http[0].route: must list at least one destination`],
  },
  {
    name: 'an unknown kind',
    yaml: `
apiVersion: networking.istio.io/v1
kind: VirtualServce
metadata: { name: greeter }
spec: {}`,
    errors: [`test.yaml:2:VirtualServce/default/greeter: kind: unknown kind "VirtualServce" (did you mean VirtualService?); supported kinds: ${SUPPORTED_KINDS}`],
  },
  {
    name: 'a kind in an unsupported apiVersion',
    yaml: `
apiVersion: networking.istio.io/v2
kind: VirtualService
metadata: { name: greeter }
spec: {}`,
    errors: [
      `${VS_ID}: apiVersion: unsupported apiVersion "networking.istio.io/v2" for VirtualService; supported: networking.istio.io/v1, networking.istio.io/v1beta1, networking.istio.io/v1alpha3`,
    ],
  },
  {
    name: 'an invalid object name',
    yaml: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: Greeter_DR }
spec: { host: greeter }`,
    errors: [
      `test.yaml:2:DestinationRule/default/Greeter_DR: metadata.name: "Greeter_DR" is not a valid name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
    ],
  },
  {
    name: 'a DestinationRule without host and with a repeated subset',
    yaml: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v1, labels: { version: v2 } }`,
    errors: [
      'test.yaml:2:DestinationRule/default/reviews: spec.host: required field is missing',
      'test.yaml:2:DestinationRule/default/reviews: spec.subsets[1].name: subset "v1" is already defined by spec.subsets[0]',
    ],
  },
  {
    name: 'a DestinationRule with a bad policy',
    yaml: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: { simple: FASTEST }
    outlierDetection: { interval: 10, maxEjectionPercent: 200 }`,
    errors: [
      'test.yaml:2:DestinationRule/default/reviews: spec.trafficPolicy.loadBalancer.simple: must be one of UNSPECIFIED, LEAST_CONN, RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST, got "FASTEST"',
      'test.yaml:2:DestinationRule/default/reviews: spec.trafficPolicy.outlierDetection.interval: must be a string, got 10',
      'test.yaml:2:DestinationRule/default/reviews: spec.trafficPolicy.outlierDetection.maxEjectionPercent: must be between 0 and 100, got 200',
    ],
  },
  {
    name: 'a DestinationRule with a bad consistent hash, ring, Maglev table and port-level settings',
    yaml: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash: { httpHeaderName: "bad header", ringHash: { minimumRingSize: 9000000 } }
    portLevelSettings:
      - port: { number: 9080 }
        loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 65536 } } }
      - port: { number: 9080 }
        connectionPool: { http: { maxConcurrentStreams: 0, idleTimeout: 0s } }`,
    errors: [
      'test.yaml:2:DestinationRule/default/reviews: spec.trafficPolicy.loadBalancer.consistentHash.httpHeaderName: "bad header" is not a valid header name',
      'test.yaml:2:DestinationRule/default/reviews: spec.trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize: must be between 0 and 8388608, got 9000000',
      'test.yaml:2:DestinationRule/default/reviews: spec.trafficPolicy.portLevelSettings[0].loadBalancer.consistentHash.maglev.tableSize: must be a prime number no larger than 5000011, got 65536',
      'test.yaml:2:DestinationRule/default/reviews: spec.trafficPolicy.portLevelSettings[1].port.number: port 9080 already has settings in spec.trafficPolicy.portLevelSettings[0]',
      'test.yaml:2:DestinationRule/default/reviews: spec.trafficPolicy.portLevelSettings[1].connectionPool.http.maxConcurrentStreams: must be between 1 and 2147483647, got 0',
      'test.yaml:2:DestinationRule/default/reviews: spec.trafficPolicy.portLevelSettings[1].connectionPool.http.idleTimeout: must be at least 1ms, got "0s"',
    ],
  },
  {
    name: 'a DestinationRule with locality weights that do not add up and failover to the same region',
    yaml: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings }
spec:
  host: ratings
  trafficPolicy:
    outlierDetection: { consecutive5xxErrors: 3, minHealthPercent: 120 }
    loadBalancer:
      localityLbSetting:
        distribute:
          - { from: "us-west/*/x", to: { "us-west/*": 60, "us-*": 30 } }
  subsets:
    - name: v1
      labels: { version: v1 }
      trafficPolicy:
        loadBalancer:
          localityLbSetting: { failover: [{ from: us-west, to: us-west }, { from: us-west/a, to: eu }] }`,
    errors: [
      'test.yaml:2:DestinationRule/default/ratings: spec.trafficPolicy.outlierDetection.minHealthPercent: must be between 0 and 100, got 120',
      'test.yaml:2:DestinationRule/default/ratings: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].from: "us-west/*/x" is not a locality (region/zone/subzone; "*" only as the whole last part)',
      'test.yaml:2:DestinationRule/default/ratings: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to["us-*"]: "us-*" is not a locality (region/zone/subzone; "*" only as the whole last part)',
      'test.yaml:2:DestinationRule/default/ratings: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to: weights must add up to 100, got 90',
      'test.yaml:2:DestinationRule/default/ratings: spec.subsets[0].trafficPolicy.loadBalancer.localityLbSetting.failover[0].to: must differ from from',
      'test.yaml:2:DestinationRule/default/ratings: spec.subsets[0].trafficPolicy.loadBalancer.localityLbSetting.failover[1].from: must be a region (no "/"), got "us-west/a"',
    ],
  },
  {
    name: 'a STATIC ServiceEntry endpoint with a host name',
    yaml: `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db }
spec:
  hosts: [db.example.com]
  resolution: STATIC
  ports: [{ name: tcp, number: 5432, protocol: TCP }]
  endpoints:
    - address: db-1.example.com`,
    errors: ['test.yaml:2:ServiceEntry/default/db: spec.endpoints[0].address: must be an IP address when resolution is STATIC, got "db-1.example.com"'],
  },
  {
    name: 'a ServiceEntry with no hosts, a port out of range and a stray endpoint port',
    yaml: `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db }
spec:
  hosts: []
  resolution: STATIC
  ports: [{ name: tcp, number: 70000, protocol: TCP }]
  endpoints:
    - { address: 10.0.0.1, ports: { grpc: 5432 } }`,
    errors: [
      'test.yaml:2:ServiceEntry/default/db: spec.hosts: must not be empty',
      'test.yaml:2:ServiceEntry/default/db: spec.ports[0].number: must be between 1 and 65535, got 70000',
      'test.yaml:2:ServiceEntry/default/db: spec.endpoints[0].ports.grpc: "grpc" is not the name of a port of this ServiceEntry (declared: tcp)',
    ],
  },
  {
    name: 'a WorkloadEntry without address',
    yaml: `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-1 }
spec:
  labels: { app: greeter }`,
    errors: ['test.yaml:2:WorkloadEntry/default/vm-1: spec.address: required field is missing'],
  },
  {
    name: 'the same object twice',
    yaml: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec: { host: reviews }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec: { host: reviews }`,
    errors: ['test.yaml:7:DestinationRule/default/reviews: defined more than once (first at test.yaml:2)'],
  },
  {
    name: 'a RouteRule whose weights do not add up',
    yaml: RR(`  route:
    - { labels: { version: v1 }, weight: 60 }
    - { labels: { version: v2 }, weight: 30 }`),
    errors: [`${RR_ID}: spec.route: weights must add up to 100, got 90`],
  },
  {
    name: 'a RouteRule weight of the wrong type',
    yaml: RR(`  route:
    - { labels: { version: v1 }, weight: ninety }
    - { labels: { version: v2 }, weight: 10 }`),
    errors: [`${RR_ID}: spec.route[0].weight: must be an integer, got "ninety"`],
  },
  {
    name: 'a RouteRule with a bad timeout, header regex and abort',
    yaml: RR(`  match:
    request:
      headers:
        x-device: { regex: "iphone(" }
  httpReqTimeout: { simpleTimeout: { timeout: 10 seconds } }
  httpFault: { abort: { percent: 150, grpcStatus: NOPE } }`),
    errors: [
      `${RR_ID}: spec.match.request.headers.x-device.regex: invalid regular expression "iphone(": unterminated group (RE2 syntax)`,
      `${RR_ID}: spec.httpReqTimeout.simpleTimeout.timeout: invalid duration "10 seconds" (use e.g. "1.5s", "300ms", "1m", "1h")`,
      `${RR_ID}: spec.httpFault.abort.grpcStatus: unknown gRPC status "NOPE" (use a name such as "UNAVAILABLE" or a code 0-16)`,
      `${RR_ID}: spec.httpFault.abort.percent: must be between 0 and 100, got 150`,
    ],
  },
  {
    name: 'a RouteRule with a misspelt field and destination labels',
    yaml: `
apiVersion: config.istio.io/v1alpha2
kind: RouteRule
metadata: { name: canary, namespace: default }
spec:
  destination: { name: greeter, labels: { version: v1 } }
  precedance: 2`,
    errors: [
      `${RR_ID}: spec.precedance: unknown field (did you mean "precedence"?)`,
      `${RR_ID}: spec.destination.labels: must be empty: a RouteRule applies to every version of its destination; select versions with route[].labels`,
    ],
  },
  {
    name: 'a RouteRule without destination',
    yaml: `
apiVersion: config.istio.io/v1alpha2
kind: RouteRule
metadata: { name: canary }
spec:
  route: [{ labels: { version: v1 } }]`,
    errors: [`${RR_ID}: spec.destination: required field is missing`],
  },
  {
    name: 'a source-specific DestinationPolicy',
    yaml: `
apiVersion: config.istio.io/v1alpha2
kind: DestinationPolicy
metadata: { name: greeter-lb }
spec:
  source: { name: frontend }
  destination: { name: greeter }
  loadBalancing: { name: FASTEST }`,
    errors: [
      'test.yaml:2:DestinationPolicy/default/greeter-lb: spec.source: not supported by Isthmus: source-specific policies (a DestinationRule applies to every caller); remove source to apply the policy to all callers',
      'test.yaml:2:DestinationPolicy/default/greeter-lb: spec.loadBalancing.name: must be one of ROUND_ROBIN, LEAST_CONN, RANDOM, got "FASTEST"',
    ],
  },
];

describe('validateObjects: bad objects and their exact errors', () => {
  const context = objectsOf(GREETER_DR, 'context.yaml');
  it.each(cases)('$name', ({ yaml, errors: expected }) => {
    const issues = validateObjects([...context, ...objectsOf(yaml)]);
    expect(errors(issues)).toEqual(expected);
  });
});

describe('validateObjects: warnings', () => {
  it('warns (never errors) about hosts no service has', () => {
    const issues = validateObjects(
      objectsOf(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: greeter }
spec:
  hosts: [greeter]
  http:
    - route:
        - destination: { host: ratings.prod.svc.cluster.local }`),
      { knownHosts: new Set(['greeter.default.svc.cluster.local']) },
    );
    expect(errors(issues)).toEqual([]);
    expect(warnings(issues)).toEqual([
      'test.yaml:2:VirtualService/default/greeter: spec.http[0].route[0].destination.host: destination unknown host "ratings.prod.svc.cluster.local": no service or ServiceEntry has it yet, so this rule has no effect until one does',
    ]);
  });

  it('counts the hosts of ServiceEntries in the same set as known', () => {
    const issues = validateObjects(
      objectsOf(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext }
spec:
  hosts: [api.example.com]
  ports: [{ name: https, number: 443, protocol: TLS }]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ext }
spec:
  hosts: [api.example.com]
  http:
    - route:
        - destination: { host: api.example.com }`),
      { knownHosts: new Set() },
    );
    expect(issues).toEqual([]);
  });

  it('maps unknown port protocols to TCP with a warning', () => {
    const issues = validateObjects(
      objectsOf(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db }
spec:
  hosts: [db.example.com]
  resolution: DNS
  ports: [{ name: pg, number: 5432, protocol: POSTGRES }, { name: mongo, number: 27017, protocol: mongo }]`),
    );
    expect(errors(issues)).toEqual([]);
    expect(warnings(issues)).toEqual([
      'test.yaml:2:ServiceEntry/default/db: spec.ports[0].protocol: unknown protocol "POSTGRES", treated as TCP (known: HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, HTTP_PROXY, TCP, TLS, MONGO, REDIS, MYSQL, UDP)',
    ]);
  });

  it('says which fields are accepted but not applied yet', () => {
    const issues = validateObjects([
      ...objectsOf(GREETER_DR, 'context.yaml'),
      ...objectsOf(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: greeter }
spec:
  hosts: [greeter]
  http:
    - rewrite: { uri: /v2 }
      fault: { delay: { fixedDelay: 5s } }
      route:
        - { destination: { host: greeter, subset: v1 }, weight: 50 }
  tcp:
    - route: [{ destination: { host: greeter } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-all }
spec: {}`),
    ]);
    expect(errors(issues)).toEqual([]);
    expect(warnings(issues)).toEqual([
      'test.yaml:2:VirtualService/default/greeter: spec.http[0].route[0].weight: ignored: the only destination of a route receives all traffic (weight 100), not 50',
      'test.yaml:2:VirtualService/default/greeter: spec.http[0].fault.delay: percentage is not set, so no request is delayed (Istio semantics); set percentage.value between 0 and 100',
      'test.yaml:2:VirtualService/default/greeter: spec.tcp: ignored: Isthmus routes HTTP traffic only so far',
      'test.yaml:15:AuthorizationPolicy/default/deny-all: not enforced yet: Isthmus validates and stores AuthorizationPolicy objects but does not apply them to proxies',
    ]);
  });

  it('accepts the older networking versions with the same checks', () => {
    for (const version of ['v1beta1', 'v1alpha3']) {
      const issues = validateObjects([
        ...objectsOf(GREETER_DR, 'context.yaml'),
        ...objectsOf(`
apiVersion: networking.istio.io/${version}
kind: VirtualService
metadata: { name: greeter }
spec:
  hosts: [greeter]
  http:
    - route:
        - { destination: { host: greeter, subset: v1 }, weight: 90 }
        - { destination: { host: greeter, subset: v2 }, weigth: 10 }`),
      ]);
      expect(errors(issues)).toEqual([
        'test.yaml:2:VirtualService/default/greeter: spec.http[0].route[1].weigth: unknown field (did you mean "weight"?)',
        'test.yaml:2:VirtualService/default/greeter: spec.http[0].route: weights must add up to 100, got 90',
      ]);
    }
  });

  it('accepts a valid mesh without any issue', () => {
    const issues = validateObjects(
      objectsOf(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: greeter }
spec:
  hosts: [greeter.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ name: grpc, number: 50051, protocol: GRPC }]
  endpoints:
    - { address: 10.0.0.1, ports: { grpc: 50061 }, labels: { version: v1 } }
    - { address: "fd00::2", ports: { grpc: 50062 }, labels: { version: v2 } }
---
${GREETER_DR}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: greeter }
spec:
  hosts: [greeter]
  http:
    - name: iphone
      match:
        - headers: { x-device: { exact: iphone } }
          uri: { prefix: /helloworld.Greeter/ }
      route:
        - destination: { host: greeter, subset: v2 }
      retries: { attempts: 2, perTryTimeout: 300ms, retryOn: "unavailable,503" }
      timeout: 1.5s
      fault:
        abort: { grpcStatus: UNAVAILABLE, percentage: { value: 0.5 } }
    - route:
        - { destination: { host: greeter, subset: v1 }, weight: 95 }
        - { destination: { host: greeter, subset: v2 }, weight: 5 }`),
      { knownHosts: new Set() },
    );
    expect(issues).toEqual([]);
  });
});

describe('parseDuration', () => {
  it.each([
    ['1.5s', 1500],
    ['300ms', 300],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['250us', 0.25],
    ['0', 0],
  ])('%s is %d ms', (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
  });

  it.each(['', '10', '1x', '-1s', '1.5', 's'])('rejects %j', (s) => {
    expect(() => parseDuration(s)).toThrow(`invalid duration ${JSON.stringify(s)} (use e.g. "1.5s", "300ms", "1m", "1h")`);
  });
});

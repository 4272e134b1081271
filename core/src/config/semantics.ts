import type { ConfigObject } from './object.js';
import { DURATION_HINT, tryParseDuration } from './duration.js';
import { dnsLabelProblem, hostProblem, isIpAddress, isIpOrCidr } from './hosts.js';
import { describeValue, isRecord, joinPath, type FieldIssue } from './paths.js';
import { isIstioProtocol, ISTIO_PROTOCOL_NAMES } from './protocols.js';

/**
 * Per-object semantic checks, on top of the schema: what Istio's own validation webhook
 * checks (weights, durations, percentages, status codes, regexes, host names) plus what
 * Isthmus cannot honour yet. The rule for the latter: a field whose absence would send
 * traffic somewhere else than the user asked (a redirect, a scheme match) is an error; a
 * field whose absence only loses a decoration (a rewrite, CORS, mirroring) is a warning
 * saying it is ignored. Checks read the spec defensively: the schema errors already cover
 * wrong types, so a value of the wrong type is skipped here.
 */

class Findings {
  readonly list: FieldIssue[] = [];
  error(path: string, message: string): void {
    this.list.push({ severity: 'error', path, message });
  }
  warn(path: string, message: string): void {
    this.list.push({ severity: 'warning', path, message });
  }
}

const arr = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : []);
const rec = (v: unknown): Record<string, unknown> | undefined => (isRecord(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

// --- shared field checks ------------------------------------------------------------------

/** `minMs` 1 for delays and per-try timeouts (Istio: ≥ 1ms); 0 lets `timeout: 0s` mean "no timeout". */
function checkDuration(f: Findings, path: string, v: unknown, minMs: number): void {
  const s = str(v);
  if (s === undefined) return;
  const ms = tryParseDuration(s);
  if (ms === undefined) return f.error(path, `invalid duration ${JSON.stringify(s)} (${DURATION_HINT})`);
  if (ms < minMs) return f.error(path, `must be at least ${minMs}ms, got ${JSON.stringify(s)}`);
  if (!Number.isInteger(ms)) f.error(path, `must be a whole number of milliseconds, got ${JSON.stringify(s)}`);
}

function checkRange(f: Findings, path: string, v: unknown, min: number, max: number): void {
  const n = num(v);
  if (n !== undefined && (n < min || n > max)) f.error(path, `must be between ${min} and ${max}, got ${n}`);
}

function checkPort(f: Findings, path: string, v: unknown): void {
  checkRange(f, path, v, 1, 65535);
}

/** A regex must compile. Envoy uses RE2; JavaScript's engine is the check, plus RE2's known gaps. */
export function regexProblem(re: string): string | undefined {
  if (/\(\?<?[=!]/.test(re)) return `invalid regular expression ${JSON.stringify(re)}: lookahead and lookbehind are not supported by RE2`;
  if (/\\[1-9]/.test(re)) return `invalid regular expression ${JSON.stringify(re)}: backreferences are not supported by RE2`;
  try {
    new RegExp(re);
    return undefined;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const reason = msg.slice(msg.lastIndexOf(': ') + 2);
    return `invalid regular expression ${JSON.stringify(re)}: ${reason.charAt(0).toLowerCase()}${reason.slice(1)} (RE2 syntax)`;
  }
}

const STRING_MATCH_KEYS = ['exact', 'prefix', 'regex'] as const;

/** `allowEmpty`: for headers, `{}` means "present" (Istio); elsewhere one of the keys is needed. */
function checkStringMatch(f: Findings, path: string, v: unknown, allowEmpty: boolean): void {
  const m = rec(v);
  if (!m) return;
  const set = STRING_MATCH_KEYS.filter((k) => m[k] !== undefined);
  if (set.length === 0 && !allowEmpty) f.error(path, 'must set one of exact, prefix, regex');
  const re = str(m.regex);
  if (re !== undefined) {
    const p = regexProblem(re);
    if (p) f.error(joinPath(path, 'regex'), p);
  }
}

/** RFC 7230 token characters, as Istio checks header names. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;

function checkHeaderMap(f: Findings, path: string, v: unknown, allowEmpty: boolean): void {
  const m = rec(v);
  if (!m) return;
  for (const [name, match] of Object.entries(m)) {
    if (!HEADER_NAME.test(name)) f.error(joinPath(path, name), `${JSON.stringify(name)} is not a valid header name`);
    checkStringMatch(f, joinPath(path, name), match, allowEmpty);
  }
}

/** gRPC status names Istio accepts for `abort.grpcStatus`, with their codes. */
export const GRPC_STATUS_CODES: Readonly<Record<string, number>> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/** `UNAVAILABLE` or `"14"` → 14; undefined when Istio would reject it. */
export function grpcStatusCode(s: string): number | undefined {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n <= 16 ? n : undefined;
  }
  return GRPC_STATUS_CODES[s];
}

/** Retry conditions Envoy (and so Istio) accepts in `retryOn`, besides numeric status codes. */
const RETRY_ON = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

// --- support policy ----------------------------------------------------------------------

type Policy = 'leaf' | 'descend' | { readonly error: string } | { readonly warn: string };

const UNSUPPORTED_IGNORED = 'ignored: Isthmus does not apply this field yet';

/**
 * Walks a spec against a table of what Isthmus compiles (`leaf`/`descend`); fields the
 * table marks get their error or warning, fields it does not list get the "ignored"
 * warning. Patterns write list items as `[]`: `http[].match[].uri`.
 */
function applyPolicy(f: Findings, value: unknown, path: string, pattern: string, table: ReadonlyMap<string, Policy>): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => applyPolicy(f, v, joinPath(path, i), `${pattern}[]`, table));
    return;
  }
  const r = rec(value);
  if (!r) return;
  for (const [key, child] of Object.entries(r)) {
    if (child === undefined || child === null) continue;
    const p = pattern === '' ? key : `${pattern}.${key}`;
    const childPath = joinPath(path, key);
    const policy = table.get(p);
    if (policy === undefined) f.warn(childPath, UNSUPPORTED_IGNORED);
    else if (policy === 'descend') applyPolicy(f, child, childPath, p, table);
    else if (policy !== 'leaf') {
      if ('error' in policy) f.error(childPath, policy.error);
      else f.warn(childPath, policy.warn);
    }
  }
}

function policyTable(entries: Record<string, Policy>): ReadonlyMap<string, Policy> {
  return new Map(Object.entries(entries));
}

const NOT_YET = (what: string): { error: string } => ({ error: `not supported by Isthmus yet: ${what}` });

function trafficPolicyEntries(prefix: string): Record<string, Policy> {
  const p = (s: string): string => `${prefix}${s}`;
  return {
    [p('')]: 'descend',
    [p('.loadBalancer')]: 'descend',
    [p('.loadBalancer.simple')]: 'leaf',
    [p('.connectionPool')]: 'descend',
    [p('.connectionPool.tcp')]: 'descend',
    [p('.connectionPool.tcp.maxConnections')]: 'leaf',
    [p('.connectionPool.tcp.connectTimeout')]: 'leaf',
    [p('.connectionPool.http')]: 'descend',
    [p('.connectionPool.http.http1MaxPendingRequests')]: 'leaf',
    [p('.connectionPool.http.http2MaxRequests')]: 'leaf',
    [p('.connectionPool.http.maxRetries')]: 'leaf',
    [p('.outlierDetection')]: 'descend',
    [p('.outlierDetection.consecutive5xxErrors')]: 'leaf',
    [p('.outlierDetection.consecutiveGatewayErrors')]: 'leaf',
    [p('.outlierDetection.consecutiveErrors')]: 'leaf',
    [p('.outlierDetection.interval')]: 'leaf',
    [p('.outlierDetection.baseEjectionTime')]: 'leaf',
    [p('.outlierDetection.maxEjectionPercent')]: 'leaf',
  };
}

const VS_POLICY = policyTable({
  hosts: 'leaf',
  gateways: 'leaf',
  exportTo: { warn: 'not enforced yet: the rules apply to callers in every namespace' },
  http: 'descend',
  'http[]': 'descend',
  'http[].name': 'leaf',
  'http[].match': 'descend',
  'http[].match[]': 'descend',
  'http[].match[].name': 'leaf',
  'http[].match[].uri': 'leaf',
  'http[].match[].method': 'leaf',
  'http[].match[].authority': 'leaf',
  'http[].match[].headers': 'leaf',
  'http[].match[].withoutHeaders': 'leaf',
  'http[].match[].queryParams': 'leaf',
  'http[].match[].sourceLabels': 'leaf',
  'http[].match[].sourceNamespace': 'leaf',
  'http[].match[].port': 'leaf',
  'http[].match[].ignoreUriCase': 'leaf',
  'http[].match[].gateways': 'leaf',
  'http[].match[].scheme': NOT_YET('matching on the scheme (without it the rule would match more requests than intended)'),
  'http[].match[].sourceSubnet': NOT_YET('matching on the source subnet (without it the rule would match more requests than intended)'),
  'http[].match[].statPrefix': 'leaf',
  'http[].route': 'descend',
  'http[].route[]': 'descend',
  'http[].route[].destination': 'descend',
  'http[].route[].destination.host': 'leaf',
  'http[].route[].destination.subset': 'leaf',
  'http[].route[].destination.port': 'descend',
  'http[].route[].destination.port.number': 'leaf',
  'http[].route[].weight': 'leaf',
  'http[].timeout': 'leaf',
  'http[].retries': 'descend',
  'http[].retries.attempts': 'leaf',
  'http[].retries.perTryTimeout': 'leaf',
  'http[].retries.retryOn': 'leaf',
  'http[].fault': 'descend',
  'http[].fault.delay': 'descend',
  'http[].fault.delay.fixedDelay': 'leaf',
  'http[].fault.delay.percentage': 'leaf',
  'http[].fault.delay.percent': 'leaf',
  'http[].fault.delay.exponentialDelay': NOT_YET('exponential delays; use fixedDelay'),
  'http[].fault.abort': 'descend',
  'http[].fault.abort.httpStatus': 'leaf',
  'http[].fault.abort.grpcStatus': 'leaf',
  'http[].fault.abort.percentage': 'leaf',
  'http[].fault.abort.http2Error': NOT_YET('aborting with an HTTP/2 error; use httpStatus or grpcStatus'),
  'http[].redirect': NOT_YET('redirects; only route is'),
  'http[].directResponse': NOT_YET('direct responses; only route is'),
  'http[].delegate': NOT_YET('delegate VirtualServices; only route is'),
  tcp: { warn: 'ignored: Isthmus routes HTTP traffic only so far' },
  tls: { warn: 'ignored: Isthmus routes HTTP traffic only so far' },
});

const DR_POLICY = policyTable({
  host: 'leaf',
  exportTo: { warn: 'not enforced yet: the policy applies to callers in every namespace' },
  workloadSelector: { warn: 'not enforced yet: the policy applies to every caller' },
  subsets: 'descend',
  'subsets[]': 'descend',
  'subsets[].name': 'leaf',
  'subsets[].labels': 'leaf',
  ...trafficPolicyEntries('trafficPolicy'),
  ...trafficPolicyEntries('subsets[].trafficPolicy'),
});

// --- kinds --------------------------------------------------------------------------------

export function checkVirtualService(o: ConfigObject): FieldIssue[] {
  const f = new Findings();
  const spec = o.spec;
  const hosts = arr(spec.hosts);
  if (hosts.length === 0 && (spec.hosts === undefined || Array.isArray(spec.hosts))) {
    f.error('spec.hosts', 'must list at least one host');
  }
  hosts.forEach((h, i) => {
    const s = str(h);
    const p = s === undefined ? undefined : hostProblem(s, { allowWildcard: true });
    if (p) f.error(`spec.hosts[${i}]`, p);
  });
  const gateways = arr(spec.gateways).filter((g): g is string => typeof g === 'string');
  if (gateways.length > 0 && !gateways.includes('mesh')) {
    f.warn('spec.gateways', 'has no effect: these rules apply only to the listed gateways, and Isthmus programs sidecars and proxyless clients (add "mesh" to apply them there)');
  }
  const names = new Map<string, number>();
  arr(spec.http).forEach((r, i) => checkHttpRoute(f, `spec.http[${i}]`, r, i, names));
  applyPolicy(f, spec, 'spec', '', VS_POLICY);
  return f.list;
}

function checkHttpRoute(f: Findings, base: string, v: unknown, index: number, names: Map<string, number>): void {
  const r = rec(v);
  if (!r) return;
  const name = str(r.name);
  if (name !== undefined) {
    const first = names.get(name);
    if (first !== undefined) f.warn(`${base}.name`, `route name ${JSON.stringify(name)} is also used by spec.http[${first}]`);
    else names.set(name, index);
  }
  const actions = ['route', 'redirect', 'directResponse', 'delegate'].filter((k) => r[k] !== undefined && r[k] !== null);
  if (actions.length === 0) f.error(base, 'must set route: the destinations that receive the traffic');
  if (Array.isArray(r.route) && r.route.length === 0) f.error(`${base}.route`, 'must list at least one destination');

  arr(r.match).forEach((m, j) => checkMatch(f, `${base}.match[${j}]`, m));

  const routes = arr(r.route);
  let total = 0;
  // A weight of the wrong type is the schema's error; a sum without it would be a second one.
  const summable = routes.every((d) => rec(d)?.weight === undefined || num(rec(d)?.weight) !== undefined);
  routes.forEach((d, k) => {
    const dr = rec(d);
    if (!dr) return;
    checkDestination(f, `${base}.route[${k}].destination`, dr.destination);
    const w = num(dr.weight);
    if (w !== undefined) {
      checkRange(f, `${base}.route[${k}].weight`, w, 0, 100);
      total += w;
    }
  });
  if (routes.length > 1 && summable && total !== 100) f.error(`${base}.route`, `weights must add up to 100, got ${total}`);
  if (routes.length === 1) {
    const w = num(rec(routes[0])?.weight);
    if (w !== undefined && w !== 100) {
      f.warn(`${base}.route[0].weight`, `ignored: the only destination of a route receives all traffic (weight 100), not ${w}`);
    }
  }

  checkDuration(f, `${base}.timeout`, r.timeout, 0);
  const retries = rec(r.retries);
  if (retries) {
    checkRange(f, `${base}.retries.attempts`, retries.attempts, 0, Number.MAX_SAFE_INTEGER);
    checkDuration(f, `${base}.retries.perTryTimeout`, retries.perTryTimeout, 1);
    const on = str(retries.retryOn);
    if (on !== undefined) {
      for (const token of on.split(',').map((t) => t.trim())) {
        if (token === '' || RETRY_ON.has(token) || /^[1-5]\d\d$/.test(token)) continue;
        f.error(`${base}.retries.retryOn`, `unknown retry condition ${JSON.stringify(token)} (use e.g. "5xx,connect-failure,unavailable" or status codes such as "503")`);
      }
    }
  }
  checkFault(f, `${base}.fault`, r.fault);
}

function checkMatch(f: Findings, base: string, v: unknown): void {
  const m = rec(v);
  if (!m) return;
  for (const k of ['uri', 'method', 'authority', 'scheme']) checkStringMatch(f, `${base}.${k}`, m[k], false);
  checkHeaderMap(f, `${base}.headers`, m.headers, true);
  checkHeaderMap(f, `${base}.withoutHeaders`, m.withoutHeaders, true);
  const qp = rec(m.queryParams);
  if (qp) for (const [k, sm] of Object.entries(qp)) checkStringMatch(f, joinPath(`${base}.queryParams`, k), sm, false);
  checkPort(f, `${base}.port`, m.port);
}

function checkDestination(f: Findings, base: string, v: unknown): void {
  const d = rec(v);
  if (!d) return;
  const host = str(d.host);
  if (host !== undefined) {
    const p = hostProblem(host, { allowWildcard: false });
    if (p) f.error(`${base}.host`, p);
  }
  checkPort(f, `${base}.port.number`, rec(d.port)?.number);
}

function checkPercentage(f: Findings, base: string, part: Record<string, unknown>, what: string): void {
  const pct = rec(part.percentage);
  if (pct) checkRange(f, `${base}.percentage.value`, pct.value, 0, 100);
  checkRange(f, `${base}.percent`, part.percent, 0, 100);
  if (!pct && part.percent === undefined) {
    f.warn(base, `percentage is not set, so no request is ${what} (Istio semantics); set percentage.value between 0 and 100`);
  }
}

function checkFault(f: Findings, base: string, v: unknown): void {
  const fault = rec(v);
  if (!fault) return;
  const delay = rec(fault.delay);
  const abort = rec(fault.abort);
  if (!delay && !abort) f.error(base, 'must set delay or abort');
  if (delay) {
    if (delay.fixedDelay === undefined && delay.exponentialDelay === undefined) {
      f.error(`${base}.delay.fixedDelay`, 'required field is missing');
    }
    checkDuration(f, `${base}.delay.fixedDelay`, delay.fixedDelay, 1);
    checkPercentage(f, `${base}.delay`, delay, 'delayed');
  }
  if (abort) {
    const http = num(abort.httpStatus);
    if (http !== undefined && (http < 200 || http > 599)) {
      f.error(`${base}.abort.httpStatus`, `must be an HTTP status between 200 and 599, got ${http}`);
    }
    const grpc = str(abort.grpcStatus);
    if (grpc !== undefined && grpcStatusCode(grpc) === undefined) {
      f.error(`${base}.abort.grpcStatus`, `unknown gRPC status ${JSON.stringify(grpc)} (use a name such as "UNAVAILABLE" or a code 0-16)`);
    }
    if (abort.httpStatus === undefined && abort.grpcStatus === undefined && abort.http2Error === undefined) {
      f.error(`${base}.abort`, 'must set httpStatus or grpcStatus');
    }
    checkPercentage(f, `${base}.abort`, abort, 'aborted');
  }
}

export function checkDestinationRule(o: ConfigObject): FieldIssue[] {
  const f = new Findings();
  const spec = o.spec;
  const host = str(spec.host);
  if (host !== undefined) {
    const p = hostProblem(host, { allowWildcard: true });
    if (p) f.error('spec.host', p);
  }
  checkTrafficPolicy(f, 'spec.trafficPolicy', spec.trafficPolicy);
  const seen = new Map<string, number>();
  arr(spec.subsets).forEach((s, i) => {
    const sub = rec(s);
    if (!sub) return;
    const name = str(sub.name);
    if (name !== undefined) {
      const p = dnsLabelProblem(name);
      if (p) f.error(`spec.subsets[${i}].name`, p);
      const first = seen.get(name);
      if (first !== undefined) f.error(`spec.subsets[${i}].name`, `subset ${JSON.stringify(name)} is already defined by spec.subsets[${first}]`);
      else seen.set(name, i);
    }
    checkTrafficPolicy(f, `spec.subsets[${i}].trafficPolicy`, sub.trafficPolicy);
  });
  applyPolicy(f, spec, 'spec', '', DR_POLICY);
  return f.list;
}

function checkTrafficPolicy(f: Findings, base: string, v: unknown): void {
  const tp = rec(v);
  if (!tp) return;
  const cp = rec(tp.connectionPool);
  if (cp) {
    const tcp = rec(cp.tcp);
    if (tcp) {
      checkRange(f, `${base}.connectionPool.tcp.maxConnections`, tcp.maxConnections, 0, 2 ** 31 - 1);
      checkDuration(f, `${base}.connectionPool.tcp.connectTimeout`, tcp.connectTimeout, 1);
    }
    const http = rec(cp.http);
    if (http) {
      for (const k of ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRetries']) {
        checkRange(f, `${base}.connectionPool.http.${k}`, http[k], 0, 2 ** 31 - 1);
      }
    }
  }
  const od = rec(tp.outlierDetection);
  if (od) {
    checkDuration(f, `${base}.outlierDetection.interval`, od.interval, 1);
    checkDuration(f, `${base}.outlierDetection.baseEjectionTime`, od.baseEjectionTime, 1);
    checkRange(f, `${base}.outlierDetection.maxEjectionPercent`, od.maxEjectionPercent, 0, 100);
    if (od.consecutiveErrors !== undefined) {
      f.warn(`${base}.outlierDetection.consecutiveErrors`, 'deprecated: counts gateway errors (502, 503, 504) only; use consecutiveGatewayErrors or consecutive5xxErrors');
    }
  }
}

export function checkServiceEntry(o: ConfigObject): FieldIssue[] {
  const f = new Findings();
  const spec = o.spec;
  const hosts = arr(spec.hosts);
  if (hosts.length === 0 && (spec.hosts === undefined || Array.isArray(spec.hosts))) {
    f.error('spec.hosts', 'must list at least one host');
  }
  hosts.forEach((h, i) => {
    const s = str(h);
    const p = s === undefined ? undefined : hostProblem(s, { allowWildcard: true });
    if (p) f.error(`spec.hosts[${i}]`, p);
  });
  arr(spec.addresses).forEach((a, i) => {
    const s = str(a);
    if (s !== undefined && !isIpOrCidr(s)) f.error(`spec.addresses[${i}]`, `must be an IP address or CIDR range, got ${describeValue(s)}`);
  });

  const portNames = new Map<string, number>();
  const portNumbers = new Map<number, number>();
  arr(spec.ports).forEach((p, i) => {
    const port = rec(p);
    if (!port) return;
    const base = `spec.ports[${i}]`;
    checkPort(f, `${base}.number`, port.number);
    checkPort(f, `${base}.targetPort`, port.targetPort);
    const n = num(port.number);
    if (n !== undefined) {
      const first = portNumbers.get(n);
      if (first !== undefined) f.error(`${base}.number`, `port ${n} is already declared by spec.ports[${first}]`);
      else portNumbers.set(n, i);
    }
    const name = str(port.name);
    if (name !== undefined) {
      const first = portNames.get(name);
      if (first !== undefined) f.error(`${base}.name`, `port name ${JSON.stringify(name)} is already used by spec.ports[${first}]`);
      else portNames.set(name, i);
    }
    const proto = str(port.protocol);
    if (proto === undefined) {
      if (port.protocol === undefined) f.warn(`${base}.protocol`, 'not set: the port is treated as TCP, so HTTP routing rules do not apply to it');
    } else if (!isIstioProtocol(proto)) {
      f.warn(`${base}.protocol`, `unknown protocol ${JSON.stringify(proto)}, treated as TCP (known: ${ISTIO_PROTOCOL_NAMES.join(', ')})`);
    } else if (proto.toUpperCase() === 'UDP') {
      f.warn(`${base}.protocol`, 'UDP is not proxied by Envoy sidecars; treated as TCP');
    }
  });

  const resolution = str(spec.resolution);
  const endpoints = arr(spec.endpoints);
  if (endpoints.length > 0 && spec.workloadSelector !== undefined) {
    f.error('spec.workloadSelector', 'only one of endpoints and workloadSelector may be set');
  }
  endpoints.forEach((e, i) => {
    const ep = rec(e);
    if (!ep) return;
    const base = `spec.endpoints[${i}]`;
    const address = str(ep.address);
    if (ep.address === undefined) f.error(`${base}.address`, 'required field is missing');
    else if (address !== undefined && resolution === 'STATIC' && !isIpAddress(address)) {
      f.error(`${base}.address`, `must be an IP address when resolution is STATIC, got ${describeValue(address)}`);
    }
    const ports = rec(ep.ports);
    if (ports) {
      for (const [name, value] of Object.entries(ports)) {
        const path = joinPath(`${base}.ports`, name);
        if (portNames.size > 0 && !portNames.has(name)) {
          f.error(path, `${JSON.stringify(name)} is not the name of a port of this ServiceEntry (declared: ${[...portNames.keys()].join(', ')})`);
        }
        checkPort(f, path, value);
      }
    }
  });
  return f.list;
}

export function checkWorkloadEntry(o: ConfigObject): FieldIssue[] {
  const f = new Findings();
  const spec = o.spec;
  if (spec.address === undefined || spec.address === '') f.error('spec.address', 'required field is missing');
  const ports = rec(spec.ports);
  if (ports) for (const [name, value] of Object.entries(ports)) checkPort(f, joinPath('spec.ports', name), value);
  return f.list;
}

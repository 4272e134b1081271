import type { ConfigObject } from './object.js';
import { DURATION_HINT, tryParseDuration } from './duration.js';
import { dnsLabelProblem, hostProblem, isIpAddress, isIpOrCidr } from './hosts.js';
import { describeValue, isRecord, joinPath, type FieldIssue } from './paths.js';
import { isIstioProtocol, ISTIO_PROTOCOL_NAMES } from './protocols.js';

/**
 * Per-object semantic checks, on top of the schema: what Istio's own validation webhook
 * checks (weights, durations, percentages, status codes, regexes, host names, header
 * names and values) plus what Isthmus cannot honour at all. The rule for the latter: a
 * field whose absence would send traffic somewhere else than the user asked (a scheme
 * match, a delegate) is an error; a field whose absence only loses a decoration (TLS
 * settings, warm-up) is a warning saying it is ignored. What one kind of data plane
 * cannot enforce (proxyless gRPC has no redirects) is not decided here: the xDS layer
 * reports it per client kind. Checks read the spec defensively: the schema errors already
 * cover wrong types, so a value of the wrong type is skipped here.
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

/** What Envoy (PGV `HTTP_HEADER_VALUE`, non-strict) refuses in a header value: NUL, CR, LF. */
const BAD_HEADER_VALUE = /[\u0000\r\n]/;

function checkHeaderValue(f: Findings, path: string, v: unknown): void {
  const s = str(v);
  if (s !== undefined && BAD_HEADER_VALUE.test(s)) f.error(path, 'must not contain NUL, CR or LF characters');
}

/**
 * Header operations (`headers.request` / `headers.response`): valid names, values a proxy
 * accepts, and no pseudo-header or Host (Envoy refuses to modify those; use
 * `rewrite.authority` for the Host).
 */
function checkHeaderOperations(f: Findings, base: string, v: unknown): void {
  const h = rec(v);
  if (!h) return;
  for (const dir of ['request', 'response'] as const) {
    const ops = rec(h[dir]);
    if (!ops) continue;
    const checkName = (path: string, name: string): void => {
      if (!HEADER_NAME.test(name)) f.error(path, `${JSON.stringify(name)} is not a valid header name`);
      else if (name.toLowerCase() === 'host' && dir === 'request') f.error(path, 'the Host header cannot be modified here; use rewrite.authority');
    };
    for (const op of ['set', 'add'] as const) {
      const m = rec(ops[op]);
      if (!m) continue;
      for (const [name, value] of Object.entries(m)) {
        const path = joinPath(`${base}.${dir}.${op}`, name);
        if (name.startsWith(':')) f.error(path, 'pseudo-headers cannot be modified');
        else checkName(path, name);
        checkHeaderValue(f, path, value);
      }
    }
    arr(ops.remove).forEach((name, i) => {
      const n = str(name);
      if (n === undefined) return;
      const path = `${base}.${dir}.remove[${i}]`;
      if (n.startsWith(':')) f.error(path, 'pseudo-headers cannot be removed');
      else checkName(path, n);
    });
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

function trafficPolicySectionEntries(prefix: string): Record<string, Policy> {
  const p = (x: string): string => `${prefix}${x}`;
  return {
    [p('.loadBalancer')]: 'descend',
    [p('.loadBalancer.simple')]: 'leaf',
    [p('.loadBalancer.consistentHash')]: 'leaf',
    [p('.loadBalancer.localityLbSetting')]: 'leaf',
    [p('.loadBalancer.warmupDurationSecs')]: 'leaf',
    [p('.loadBalancer.warmup')]: 'descend',
    [p('.loadBalancer.warmup.duration')]: 'leaf',
    [p('.loadBalancer.warmup.minimumPercent')]: { warn: 'ignored: Isthmus ramps new endpoints up linearly (aggression 1) from 0' },
    [p('.loadBalancer.warmup.aggression')]: { warn: 'ignored: Isthmus ramps new endpoints up linearly (aggression 1) from 0' },
    [p('.connectionPool')]: 'descend',
    [p('.connectionPool.tcp')]: 'descend',
    [p('.connectionPool.tcp.maxConnections')]: 'leaf',
    [p('.connectionPool.tcp.connectTimeout')]: 'leaf',
    [p('.connectionPool.tcp.tcpKeepalive')]: 'leaf',
    [p('.connectionPool.tcp.maxConnectionDuration')]: 'leaf',
    [p('.connectionPool.tcp.idleTimeout')]: { warn: 'ignored: TCP idle timeouts apply to TCP proxying, which Isthmus does not configure through DestinationRules' },
    [p('.connectionPool.http')]: 'descend',
    [p('.connectionPool.http.http1MaxPendingRequests')]: 'leaf',
    [p('.connectionPool.http.http2MaxRequests')]: 'leaf',
    [p('.connectionPool.http.maxRequestsPerConnection')]: 'leaf',
    [p('.connectionPool.http.maxRetries')]: 'leaf',
    [p('.connectionPool.http.idleTimeout')]: 'leaf',
    [p('.connectionPool.http.maxConcurrentStreams')]: 'leaf',
    [p('.connectionPool.http.h2UpgradePolicy')]: 'leaf',
    [p('.connectionPool.http.useClientProtocol')]: 'leaf',
    [p('.outlierDetection')]: 'descend',
    [p('.outlierDetection.consecutive5xxErrors')]: 'leaf',
    [p('.outlierDetection.consecutiveGatewayErrors')]: 'leaf',
    [p('.outlierDetection.consecutiveErrors')]: 'leaf',
    [p('.outlierDetection.consecutiveLocalOriginFailures')]: 'leaf',
    [p('.outlierDetection.splitExternalLocalOriginErrors')]: 'leaf',
    [p('.outlierDetection.interval')]: 'leaf',
    [p('.outlierDetection.baseEjectionTime')]: 'leaf',
    [p('.outlierDetection.maxEjectionPercent')]: 'leaf',
    [p('.outlierDetection.minHealthPercent')]: 'leaf',
    [p('.tls')]: { warn: 'not enforced yet: Isthmus does not configure upstream TLS from DestinationRules' },
  };
}

function trafficPolicyEntries(prefix: string): Record<string, Policy> {
  return {
    [prefix]: 'descend',
    ...trafficPolicySectionEntries(prefix),
    [`${prefix}.portLevelSettings`]: 'descend',
    [`${prefix}.portLevelSettings[]`]: 'descend',
    [`${prefix}.portLevelSettings[].port`]: 'leaf',
    ...trafficPolicySectionEntries(`${prefix}.portLevelSettings[]`),
    [`${prefix}.proxyProtocol`]: { warn: 'ignored: Isthmus does not send the PROXY protocol' },
    [`${prefix}.tunnel`]: { warn: 'ignored: Isthmus does not tunnel traffic' },
    [`${prefix}.retryBudget`]: { warn: 'ignored: Isthmus does not configure retry budgets' },
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
  'http[].route[].headers': 'leaf',
  'http[].headers': 'leaf',
  'http[].timeout': 'leaf',
  'http[].retries': 'descend',
  'http[].retries.attempts': 'leaf',
  'http[].retries.perTryTimeout': 'leaf',
  'http[].retries.retryOn': 'leaf',
  'http[].retries.retryRemoteLocalities': 'leaf',
  'http[].retries.retryIgnorePreviousHosts': 'leaf',
  'http[].retries.backoff': 'leaf',
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
  'http[].redirect': 'descend',
  'http[].redirect.uri': 'leaf',
  'http[].redirect.authority': 'leaf',
  'http[].redirect.port': 'leaf',
  'http[].redirect.derivePort': 'leaf',
  'http[].redirect.scheme': 'leaf',
  'http[].redirect.redirectCode': 'leaf',
  'http[].directResponse': 'leaf',
  'http[].rewrite': 'descend',
  'http[].rewrite.uri': 'leaf',
  'http[].rewrite.authority': 'leaf',
  'http[].rewrite.uriRegexRewrite': 'leaf',
  'http[].mirror': 'leaf',
  'http[].mirrorPercentage': 'leaf',
  'http[].mirrorPercent': 'leaf',
  'http[].mirror_percent': 'leaf',
  'http[].mirrors': 'leaf',
  'http[].corsPolicy': 'leaf',
  'http[].delegate': NOT_YET('delegate VirtualServices; use route, redirect or directResponse'),
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
  if (actions.length === 0) f.error(base, 'must set route, redirect or directResponse');
  if (Array.isArray(r.route) && r.route.length === 0 && actions.length === 1) f.error(`${base}.route`, 'must list at least one destination');
  const answered = r.redirect !== undefined || r.directResponse !== undefined;
  if (answered) {
    // Istio's own validation: the proxy answers these itself, so forwarding settings make no sense.
    const by = r.redirect !== undefined ? 'redirect' : 'directResponse';
    for (const k of ['rewrite', 'mirror', 'mirrors', 'retries', 'timeout']) {
      if (r[k] !== undefined) f.error(`${base}.${k}`, `cannot be combined with ${by}: the proxy answers the request itself`);
    }
  }
  checkRedirect(f, `${base}.redirect`, r.redirect);
  checkDirectResponse(f, `${base}.directResponse`, r.directResponse);
  checkRewrite(f, `${base}.rewrite`, r.rewrite);
  checkHeaderOperations(f, `${base}.headers`, r.headers);
  checkMirrors(f, base, r);
  checkCors(f, `${base}.corsPolicy`, r.corsPolicy);

  arr(r.match).forEach((m, j) => checkMatch(f, `${base}.match[${j}]`, m));

  const routes = arr(r.route);
  let total = 0;
  // A weight of the wrong type is the schema's error; a sum without it would be a second one.
  const summable = routes.every((d) => rec(d)?.weight === undefined || num(rec(d)?.weight) !== undefined);
  routes.forEach((d, k) => {
    const dr = rec(d);
    if (!dr) return;
    checkDestination(f, `${base}.route[${k}].destination`, dr.destination);
    checkHeaderOperations(f, `${base}.route[${k}].headers`, dr.headers);
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
    checkRange(f, `${base}.retries.attempts`, retries.attempts, 0, 2 ** 32 - 1);
    checkDuration(f, `${base}.retries.perTryTimeout`, retries.perTryTimeout, 1);
    checkDuration(f, `${base}.retries.backoff`, retries.backoff, 1);
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

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

function checkRedirect(f: Findings, base: string, v: unknown): void {
  const r = rec(v);
  if (!r) return;
  const code = num(r.redirectCode);
  if (code !== undefined && code !== 0 && !REDIRECT_CODES.has(code)) {
    f.error(`${base}.redirectCode`, `must be one of 301, 302, 303, 307, 308, got ${code}`);
  }
  checkPort(f, `${base}.port`, r.port);
  if (r.port !== undefined && r.derivePort !== undefined) f.error(`${base}.derivePort`, 'only one of port and derivePort may be set');
  checkHeaderValue(f, `${base}.uri`, r.uri);
  checkHeaderValue(f, `${base}.authority`, r.authority);
  const scheme = str(r.scheme);
  if (scheme !== undefined && !/^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(scheme)) f.error(`${base}.scheme`, `${JSON.stringify(scheme)} is not a URI scheme`);
}

/** Istio's limit on an inline direct-response body. */
const MAX_BODY_BYTES = 100 * 1024;

function checkDirectResponse(f: Findings, base: string, v: unknown): void {
  const d = rec(v);
  if (!d) return;
  const status = num(d.status);
  if (status !== undefined && (status < 200 || status > 599)) f.error(`${base}.status`, `must be an HTTP status between 200 and 599, got ${status}`);
  const body = rec(d.body);
  const bytes = str(body?.bytes);
  if (bytes !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(bytes)) f.error(`${base}.body.bytes`, 'must be base64');
  const size = bytes !== undefined ? Math.floor((bytes.length * 3) / 4) : Buffer.byteLength(str(body?.string) ?? '');
  if (size > MAX_BODY_BYTES) f.error(`${base}.body`, `must be at most ${MAX_BODY_BYTES} bytes, got ${size}`);
}

function checkRewrite(f: Findings, base: string, v: unknown): void {
  const r = rec(v);
  if (!r) return;
  if (r.uri !== undefined && r.uriRegexRewrite !== undefined) f.error(base, 'only one of uri and uriRegexRewrite may be set');
  checkHeaderValue(f, `${base}.uri`, r.uri);
  checkHeaderValue(f, `${base}.authority`, r.authority);
  const rr = rec(r.uriRegexRewrite);
  if (rr) {
    const match = str(rr.match);
    if (match === undefined || match === '') f.error(`${base}.uriRegexRewrite.match`, 'required field is missing');
    else {
      const p = regexProblem(match);
      if (p) f.error(`${base}.uriRegexRewrite.match`, p);
    }
    if (rr.rewrite === undefined) f.error(`${base}.uriRegexRewrite.rewrite`, 'required field is missing');
    checkHeaderValue(f, `${base}.uriRegexRewrite.rewrite`, rr.rewrite);
  }
}

function checkMirrors(f: Findings, base: string, r: Record<string, unknown>): void {
  if (r.mirror !== undefined) {
    checkDestination(f, `${base}.mirror`, r.mirror);
    const m = rec(r.mirror);
    if (m && m.host === undefined) f.error(`${base}.mirror.host`, 'required field is missing');
  }
  const pct = rec(r.mirrorPercentage);
  if (pct) checkRange(f, `${base}.mirrorPercentage.value`, pct.value, 0, 100);
  checkRange(f, `${base}.mirrorPercent`, r.mirrorPercent, 0, 100);
  checkRange(f, `${base}.mirror_percent`, r.mirror_percent, 0, 100);
  for (const k of ['mirrorPercentage', 'mirrorPercent', 'mirror_percent']) {
    if (r[k] !== undefined && r.mirror === undefined) f.warn(`${base}.${k}`, 'has no effect without mirror');
  }
  if (r.mirrorPercent !== undefined || r.mirror_percent !== undefined) {
    f.warn(`${base}.${r.mirrorPercent !== undefined ? 'mirrorPercent' : 'mirror_percent'}`, 'deprecated: use mirrorPercentage');
  }
  arr(r.mirrors).forEach((m, i) => {
    const mm = rec(m);
    if (!mm) return;
    if (mm.destination === undefined) f.error(`${base}.mirrors[${i}].destination`, 'required field is missing');
    checkDestination(f, `${base}.mirrors[${i}].destination`, mm.destination);
    const p = rec(mm.percentage);
    if (p) checkRange(f, `${base}.mirrors[${i}].percentage.value`, p.value, 0, 100);
  });
}

const CORS_METHOD = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;

function checkCors(f: Findings, base: string, v: unknown): void {
  const c = rec(v);
  if (!c) return;
  arr(c.allowOrigins).forEach((o, i) => checkStringMatch(f, `${base}.allowOrigins[${i}]`, o, false));
  if (c.allowOrigin !== undefined) f.warn(`${base}.allowOrigin`, 'deprecated: use allowOrigins');
  arr(c.allowMethods).forEach((m, i) => {
    const s = str(m);
    if (s !== undefined && !CORS_METHOD.test(s)) f.error(`${base}.allowMethods[${i}]`, `${JSON.stringify(s)} is not an HTTP method`);
  });
  for (const k of ['allowHeaders', 'exposeHeaders']) {
    arr(c[k]).forEach((h, i) => {
      const s = str(h);
      if (s !== undefined && s !== '*' && !HEADER_NAME.test(s)) f.error(`${base}.${k}[${i}]`, `${JSON.stringify(s)} is not a valid header name`);
    });
  }
  const maxAge = str(c.maxAge);
  if (maxAge !== undefined) {
    const ms = tryParseDuration(maxAge);
    if (ms === undefined) f.error(`${base}.maxAge`, `invalid duration ${JSON.stringify(maxAge)} (${DURATION_HINT})`);
    else if (ms % 1000 !== 0) f.error(`${base}.maxAge`, `must be a whole number of seconds, got ${JSON.stringify(maxAge)}`);
  }
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
  // Failover needs outlier detection somewhere in the merged policy (Istio merges by section).
  const anyOd = JSON.stringify(spec).includes('"outlierDetection"');
  checkTrafficPolicy(f, 'spec.trafficPolicy', spec.trafficPolicy, anyOd);
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
    checkTrafficPolicy(f, `spec.subsets[${i}].trafficPolicy`, sub.trafficPolicy, anyOd);
  });
  applyPolicy(f, spec, 'spec', '', DR_POLICY);
  return f.list;
}

function checkTrafficPolicy(f: Findings, base: string, v: unknown, anyOutlierDetection: boolean): void {
  const tp = rec(v);
  if (!tp) return;
  checkPolicySections(f, base, tp, anyOutlierDetection);
  const ports = new Map<number, number>();
  arr(tp.portLevelSettings).forEach((pl, j) => {
    const p = rec(pl);
    if (!p) return;
    const at = `${base}.portLevelSettings[${j}]`;
    const n = num(rec(p.port)?.number);
    if (p.port === undefined || (rec(p.port) && rec(p.port)!.number === undefined)) f.error(`${at}.port.number`, 'required field is missing');
    checkPort(f, `${at}.port.number`, n);
    if (n !== undefined) {
      const first = ports.get(n);
      if (first !== undefined) f.error(`${at}.port.number`, `port ${n} already has settings in ${base}.portLevelSettings[${first}]`);
      else ports.set(n, j);
    }
    checkPolicySections(f, at, p, anyOutlierDetection);
  });
}

const U32 = 2 ** 32 - 1;

function checkPolicySections(f: Findings, base: string, tp: Record<string, unknown>, anyOutlierDetection: boolean): void {
  const cp = rec(tp.connectionPool);
  if (cp) {
    const tcp = rec(cp.tcp);
    if (tcp) {
      checkRange(f, `${base}.connectionPool.tcp.maxConnections`, tcp.maxConnections, 0, 2 ** 31 - 1);
      checkDuration(f, `${base}.connectionPool.tcp.connectTimeout`, tcp.connectTimeout, 1);
      checkDuration(f, `${base}.connectionPool.tcp.maxConnectionDuration`, tcp.maxConnectionDuration, 1);
      const ka = rec(tcp.tcpKeepalive);
      if (ka) {
        checkRange(f, `${base}.connectionPool.tcp.tcpKeepalive.probes`, ka.probes, 0, U32);
        checkDuration(f, `${base}.connectionPool.tcp.tcpKeepalive.time`, ka.time, 1000);
        checkDuration(f, `${base}.connectionPool.tcp.tcpKeepalive.interval`, ka.interval, 1000);
      }
    }
    const http = rec(cp.http);
    if (http) {
      for (const k of ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRetries', 'maxRequestsPerConnection']) {
        checkRange(f, `${base}.connectionPool.http.${k}`, http[k], 0, 2 ** 31 - 1);
      }
      // HTTP/2's own ceiling on concurrent streams (SETTINGS_MAX_CONCURRENT_STREAMS, Envoy: 1 .. 2^31-1).
      checkRange(f, `${base}.connectionPool.http.maxConcurrentStreams`, http.maxConcurrentStreams, 1, 2 ** 31 - 1);
      checkDuration(f, `${base}.connectionPool.http.idleTimeout`, http.idleTimeout, 1);
    }
  }
  const od = rec(tp.outlierDetection);
  if (od) {
    checkDuration(f, `${base}.outlierDetection.interval`, od.interval, 1);
    checkDuration(f, `${base}.outlierDetection.baseEjectionTime`, od.baseEjectionTime, 1);
    checkRange(f, `${base}.outlierDetection.maxEjectionPercent`, od.maxEjectionPercent, 0, 100);
    checkRange(f, `${base}.outlierDetection.minHealthPercent`, od.minHealthPercent, 0, 100);
    for (const k of ['consecutive5xxErrors', 'consecutiveGatewayErrors', 'consecutiveLocalOriginFailures']) {
      checkRange(f, `${base}.outlierDetection.${k}`, od[k], 0, U32);
    }
    if (od.consecutiveErrors !== undefined) {
      f.warn(`${base}.outlierDetection.consecutiveErrors`, 'deprecated: counts gateway errors (502, 503, 504) only; use consecutiveGatewayErrors or consecutive5xxErrors');
    }
    if (od.consecutiveLocalOriginFailures !== undefined && od.splitExternalLocalOriginErrors !== true) {
      f.warn(`${base}.outlierDetection.consecutiveLocalOriginFailures`, 'has no effect unless splitExternalLocalOriginErrors is true');
    }
  }
  const lb = rec(tp.loadBalancer);
  if (lb) checkLoadBalancer(f, `${base}.loadBalancer`, lb, anyOutlierDetection);
}

/** Envoy's largest ring (PGV `lte: 8388608`) and Maglev table (a prime ≤ 5000011). */
const MAX_RING_SIZE = 8_388_608;
const MAX_MAGLEV_TABLE = 5_000_011;

function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** `region/zone/subzone` with `*` allowed only as the last, whole part. */
function localityPatternProblem(s: string): string | undefined {
  if (s === '') return 'must not be empty';
  const parts = s.split('/');
  if (parts.length > 3) return `${JSON.stringify(s)} has more than region/zone/subzone`;
  const star = parts.indexOf('*');
  if (parts.some((p, i) => p === '' || (p.includes('*') && (p !== '*' || i !== parts.length - 1)))) {
    return `${JSON.stringify(s)} is not a locality (region/zone/subzone; "*" only as the whole last part)`;
  }
  return star >= 0 && star !== parts.length - 1 ? `${JSON.stringify(s)}: "*" must be the last part` : undefined;
}

function checkLoadBalancer(f: Findings, base: string, lb: Record<string, unknown>, hasOutlierDetection: boolean): void {
  const ch = rec(lb.consistentHash);
  if (ch) {
    const keys = ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'].filter((k) => ch[k] !== undefined);
    if (keys.length === 0) f.error(`${base}.consistentHash`, 'must set one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName');
    const header = str(ch.httpHeaderName);
    if (header !== undefined && !HEADER_NAME.test(header)) f.error(`${base}.consistentHash.httpHeaderName`, `${JSON.stringify(header)} is not a valid header name`);
    const cookie = rec(ch.httpCookie);
    if (cookie) {
      if (!str(cookie.name)) f.error(`${base}.consistentHash.httpCookie.name`, 'must not be empty');
      checkDuration(f, `${base}.consistentHash.httpCookie.ttl`, cookie.ttl, 0);
    }
    if (ch.useSourceIp === false) f.error(`${base}.consistentHash.useSourceIp`, 'must be true when set');
    if (ch.httpQueryParameterName !== undefined && !str(ch.httpQueryParameterName)) {
      f.error(`${base}.consistentHash.httpQueryParameterName`, 'must not be empty');
    }
    checkRange(f, `${base}.consistentHash.minimumRingSize`, ch.minimumRingSize, 0, MAX_RING_SIZE);
    checkRange(f, `${base}.consistentHash.ringHash.minimumRingSize`, rec(ch.ringHash)?.minimumRingSize, 0, MAX_RING_SIZE);
    if (ch.minimumRingSize !== undefined) f.warn(`${base}.consistentHash.minimumRingSize`, 'deprecated: use ringHash.minimumRingSize');
    const table = num(rec(ch.maglev)?.tableSize);
    if (table !== undefined && table !== 0 && (table > MAX_MAGLEV_TABLE || !isPrime(table))) {
      f.error(`${base}.consistentHash.maglev.tableSize`, `must be a prime number no larger than ${MAX_MAGLEV_TABLE}, got ${table}`);
    }
  }
  checkDuration(f, `${base}.warmup.duration`, rec(lb.warmup)?.duration, 1);
  checkDuration(f, `${base}.warmupDurationSecs`, lb.warmupDurationSecs, 1);
  if (lb.warmupDurationSecs !== undefined) f.warn(`${base}.warmupDurationSecs`, 'deprecated: use warmup.duration');
  const loc = rec(lb.localityLbSetting);
  if (!loc) return;
  const at = `${base}.localityLbSetting`;
  const distribute = arr(loc.distribute);
  const failover = arr(loc.failover);
  if (distribute.length > 0 && failover.length > 0) f.error(at, 'only one of distribute and failover may be set');
  distribute.forEach((d, i) => {
    const dd = rec(d);
    if (!dd) return;
    const from = str(dd.from);
    if (from !== undefined) {
      const p = localityPatternProblem(from);
      if (p) f.error(`${at}.distribute[${i}].from`, p);
    }
    const to = rec(dd.to) ?? {};
    let total = 0;
    for (const [loc2, weight] of Object.entries(to)) {
      const p = localityPatternProblem(loc2);
      if (p) f.error(joinPath(`${at}.distribute[${i}].to`, loc2), p);
      const n = num(weight);
      if (n !== undefined) {
        checkRange(f, joinPath(`${at}.distribute[${i}].to`, loc2), n, 0, 100);
        total += n;
      }
    }
    if (Object.keys(to).length === 0) f.error(`${at}.distribute[${i}].to`, 'must list at least one locality');
    else if (total !== 100) f.error(`${at}.distribute[${i}].to`, `weights must add up to 100, got ${total}`);
  });
  failover.forEach((fo, i) => {
    const ff = rec(fo);
    if (!ff) return;
    const from = str(ff.from);
    const to = str(ff.to);
    if (from !== undefined && from === to) f.error(`${at}.failover[${i}].to`, 'must differ from from');
    for (const [k, v] of [['from', from], ['to', to]] as const) {
      if (v !== undefined && v.includes('/')) f.error(`${at}.failover[${i}].${k}`, `must be a region (no "/"), got ${JSON.stringify(v)}`);
    }
  });
  if ((failover.length > 0 || arr(loc.failoverPriority).length > 0) && !hasOutlierDetection) {
    f.warn(at, 'failover has no effect without outlierDetection (Istio semantics): unhealthy endpoints are only detected with it');
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

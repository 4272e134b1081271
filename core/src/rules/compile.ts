import type { Service } from '../model/service.js';
import type { ConfigIssue } from '../config/issues.js';
import { compareObjectAge, DEFAULT_NAMESPACE, objectKey, type ConfigObject, type SourcedObject } from '../config/object.js';
import { convertLegacy, isLegacyObject, mapGeneratedIssue } from '../config/legacy.js';
import { hostMatches, isWildcardHost, resolveHost } from '../config/hosts.js';
import { tryParseDuration } from '../config/duration.js';
import { grpcStatusCode } from '../config/semantics.js';
import { isRecord, type FieldIssue } from '../config/paths.js';
import { hashOf } from '../util/hash.js';
import type {
  ConnectionPoolPolicy,
  ConsistentHash,
  CorsPolicy,
  DestinationPolicy,
  DirectResponse,
  FaultPolicy,
  HashKey,
  HeaderManipulation,
  HeaderOperations,
  HttpRedirect,
  HttpRequestMatch,
  HttpRewrite,
  HttpRoute,
  LoadBalancerKind,
  LoadBalancerPolicy,
  LocalityLbSetting,
  MirrorPolicy,
  OutlierDetectionPolicy,
  PortTrafficPolicy,
  RetryPolicy,
  RouteTable,
  StringMatch,
  Subset,
  TrafficPolicy,
  TrafficPolicySections,
  WeightedDestination,
} from './compiled.js';

export interface CompileResult {
  /** Route table per destination host (FQDN), hosts in sorted order. */
  readonly routes: Map<string, RouteTable>;
  /** Resolved DestinationRule per host, hosts in sorted order. */
  readonly destinations: Map<string, DestinationPolicy>;
  /** Warnings about rules that were shadowed or partly ignored (sorted). */
  readonly issues: ConfigIssue[];
}

/**
 * Compiles validated VirtualServices and DestinationRules (legacy kinds are converted
 * first; other kinds are ignored) against the registry's services into the model the xDS
 * generators read.
 *
 * - Hosts: short names resolve in the rule's namespace (`greeter` in `default` →
 *   `greeter.default.svc.cluster.local`); FQDNs are used as written; a wildcard host
 *   (`*.example.com`) binds to every service host it matches.
 * - One VirtualService per host: an exact host beats a wildcard, a more specific wildcard
 *   a less specific one; among equals the oldest (creationTimestamp, then namespace/name)
 *   wins and each other one gets a warning naming the winner.
 * - DestinationRules for the same host merge as in Istio: subsets from all of them (the
 *   oldest definition of a name wins), the traffic policy of the oldest that has one.
 * - Every table and policy carries `version = hashOf(content)`; the result does not
 *   depend on the input order.
 *
 * Each object compiles once (cached by identity; accepted config objects are immutable)
 * and only the binding to hosts is redone, so a service change costs the binding, not a
 * full recompilation. Only the keys of `services` (mesh hostnames) are read, so the
 * registry's own map (`MeshService` values) can be passed as is.
 */
export function compileRules(
  objects: readonly SourcedObject[],
  services: ReadonlyMap<string, Service> | ReadonlyMap<string, unknown>,
): CompileResult {
  let input = objects;
  const issues: ConfigIssue[] = [];
  if (objects.some((o) => isLegacyObject(o.object))) {
    const converted = convertLegacy(objects);
    input = converted.objects;
    issues.push(...converted.issues);
  }
  const vss: { o: SourcedObject; c: CompiledVirtualService }[] = [];
  const drs: { o: SourcedObject; c: CompiledDestinationRule }[] = [];
  for (const o of input) {
    if (!o.object.apiVersion.startsWith('networking.istio.io/')) continue;
    if (o.object.kind === 'VirtualService') vss.push({ o, c: compiledVirtualService(o.object) });
    else if (o.object.kind === 'DestinationRule') drs.push({ o, c: compiledDestinationRule(o.object) });
  }
  const byAge = (a: { o: SourcedObject }, b: { o: SourcedObject }): number =>
    compareObjectAge(a.o.object, b.o.object) || (objectKey(a.o.object) < objectKey(b.o.object) ? -1 : 1);
  vss.sort(byAge);
  drs.sort(byAge);
  // Issues on objects converted from RouteRules are reported against the RouteRule field.
  const warn = (o: SourcedObject, i: FieldIssue): void => {
    const mapped = mapGeneratedIssue(o.object, i);
    if (mapped) {
      issues.push(mapped);
      return;
    }
    issues.push({
      severity: i.severity,
      source: o.origin,
      kind: o.object.kind,
      namespace: o.object.metadata.namespace ?? DEFAULT_NAMESPACE,
      name: o.object.metadata.name,
      path: i.path,
      message: i.message,
    });
  };
  for (const { o, c } of [...vss, ...drs]) for (const i of c.issues) warn(o, i);

  const serviceHosts = [...services.keys()].sort();
  const routes = bindRoutes(vss, serviceHosts, warn);
  const destinations = bindDestinations(drs, serviceHosts, warn);
  issues.sort((a, b) => {
    const ka = `${a.kind}/${a.namespace}/${a.name}\0${a.path}\0${a.message}\0${a.source}`;
    const kb = `${b.kind}/${b.namespace}/${b.name}\0${b.path}\0${b.message}\0${b.source}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  return { routes, destinations, issues };
}

// --- per-object compilation ------------------------------------------------------------------

interface CompiledVirtualService {
  readonly key: string;
  /** Resolved hosts as written order; wildcards kept as patterns. */
  readonly hosts: readonly string[];
  readonly routes: readonly HttpRoute[];
  readonly issues: readonly FieldIssue[];
}

interface CompiledDestinationRule {
  readonly key: string;
  readonly host: string;
  readonly subsets: readonly Subset[];
  readonly trafficPolicy?: TrafficPolicy;
  readonly issues: readonly FieldIssue[];
}

const vsCache = new WeakMap<ConfigObject, CompiledVirtualService>();
const drCache = new WeakMap<ConfigObject, CompiledDestinationRule>();

const rec = (v: unknown): Record<string, unknown> | undefined => (isRecord(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const list = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : []);

/** Gateways a rule is limited to; a list without `mesh` means "not for sidecars". */
function appliesToMesh(gateways: unknown): boolean {
  const g = list(gateways).filter((x): x is string => typeof x === 'string');
  return g.length === 0 || g.includes('mesh');
}

function compiledVirtualService(o: ConfigObject): CompiledVirtualService {
  const cached = vsCache.get(o);
  if (cached) return cached;
  const ns = o.metadata.namespace ?? DEFAULT_NAMESPACE;
  const key = objectKey(o);
  const issues: FieldIssue[] = [];
  const spec = o.spec;
  const hosts = appliesToMesh(spec.gateways)
    ? list(spec.hosts).flatMap((h) => (typeof h === 'string' ? [resolveHost(h, ns)] : []))
    : [];
  const routes: HttpRoute[] = [];
  list(spec.http).forEach((raw, i) => {
    const r = rec(raw);
    if (!r) return;
    const base = `spec.http[${i}]`;
    const route = list(r.route);
    const redirect = compileRedirect(rec(r.redirect));
    const directResponse = compileDirectResponse(rec(r.directResponse));
    if (route.length === 0 && !redirect && !directResponse) {
      issues.push({ severity: 'warning', path: base, message: 'skipped: the route has no destinations' });
      return;
    }
    const rawMatches = list(r.match);
    const matches = rawMatches.filter((m) => appliesToMesh(rec(m)?.gateways)).map((m) => compileMatch(rec(m) ?? {}));
    if (rawMatches.length > 0 && matches.length === 0) return; // gateway-only route
    const single = route.length === 1;
    const destinations: WeightedDestination[] = route.map((d) => {
      const dr = rec(d) ?? {};
      const headers = compileHeaderManipulation(rec(dr.headers));
      return {
        ...compileDestination(rec(dr.destination) ?? {}, ns),
        weight: single ? 100 : (num(dr.weight) ?? 0),
        ...(headers ? { headers } : {}),
      };
    });
    const timeout = str(r.timeout);
    const timeoutMs = timeout !== undefined ? tryParseDuration(timeout) : undefined;
    const retries = compileRetries(rec(r.retries));
    const fault = compileFault(rec(r.fault), `${base}.fault`, issues);
    const rewrite = compileRewrite(rec(r.rewrite));
    const headers = compileHeaderManipulation(rec(r.headers));
    const mirrors = compileMirrors(r, ns);
    const corsPolicy = compileCors(rec(r.corsPolicy));
    // A redirect or direct response answers in the proxy: destinations play no part.
    const forwards = !redirect && !directResponse;
    routes.push({
      name: str(r.name) ?? `${ns}/${o.metadata.name}#${i}`,
      matches,
      destinations: forwards ? destinations : [],
      ...(redirect ? { redirect } : {}),
      ...(!redirect && directResponse ? { directResponse } : {}),
      ...(forwards && rewrite ? { rewrite } : {}),
      ...(headers ? { headers } : {}),
      ...(forwards && mirrors.length > 0 ? { mirrors } : {}),
      ...(corsPolicy ? { corsPolicy } : {}),
      ...(forwards && timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(forwards && retries ? { retries } : {}),
      ...(fault ? { fault } : {}),
      origin: key,
      path: base,
    });
  });
  const c: CompiledVirtualService = { key, hosts, routes, issues };
  vsCache.set(o, c);
  return c;
}

function compileDestination(dest: Record<string, unknown>, ns: string): { host: string; subset?: string; port?: number } {
  const port = num(rec(dest.port)?.number);
  const subset = str(dest.subset);
  return {
    host: resolveHost(str(dest.host) ?? '', ns),
    ...(subset !== undefined ? { subset } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

/**
 * `prefix: ""` matches every value, but Envoy refuses an empty prefix (PGV `min_len: 1`):
 * it becomes the equivalent "any value" regex.
 */
function stringMatch(v: unknown): StringMatch | undefined {
  const m = rec(v);
  if (!m) return undefined;
  if (typeof m.exact === 'string') return { exact: m.exact };
  if (typeof m.prefix === 'string') return m.prefix === '' ? ANY : { prefix: m.prefix };
  if (typeof m.regex === 'string') return { regex: m.regex };
  return undefined;
}

/** Istio reads `{}` on a header as "present": a regex matching anything requires the header. */
const PRESENT: StringMatch = { regex: '.*' };
const ANY: StringMatch = { regex: '.*' };

function headerMap(v: unknown): Record<string, StringMatch> {
  const out: Record<string, StringMatch> = {};
  const m = rec(v);
  if (!m) return out;
  for (const name of Object.keys(m).sort()) out[name.toLowerCase()] = stringMatch(m[name]) ?? PRESENT;
  return out;
}

function compileMatch(m: Record<string, unknown>): HttpRequestMatch {
  const uri = stringMatch(m.uri);
  const method = stringMatch(m.method);
  const authority = stringMatch(m.authority);
  const queryParams: Record<string, StringMatch> = {};
  const qp = rec(m.queryParams) ?? {};
  for (const k of Object.keys(qp).sort()) {
    const sm = stringMatch(qp[k]);
    if (sm) queryParams[k] = sm;
  }
  const sourceLabels = rec(m.sourceLabels);
  const sourceNamespace = str(m.sourceNamespace);
  const port = num(m.port);
  return {
    ...(uri ? { uri } : {}),
    ...(method ? { method } : {}),
    ...(authority ? { authority } : {}),
    headers: headerMap(m.headers),
    withoutHeaders: headerMap(m.withoutHeaders),
    queryParams,
    ...(sourceLabels ? { sourceLabels: Object.fromEntries(Object.entries(sourceLabels).map(([k, v]) => [k, String(v)])) } : {}),
    ...(sourceNamespace !== undefined ? { sourceNamespace } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(m.ignoreUriCase === true ? { ignoreUriCase: true } : {}),
  };
}

/** Istio: a `retries` block without attempts (or 0) turns retries off. */
function compileRetries(r: Record<string, unknown> | undefined): RetryPolicy | undefined {
  if (!r) return undefined;
  const perTryTimeoutMs = ms(r.perTryTimeout);
  const backoffMs = ms(r.backoff);
  const retryOn = str(r.retryOn)
    ?.split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .join(',');
  return {
    attempts: Math.max(0, num(r.attempts) ?? 0),
    ...(perTryTimeoutMs !== undefined && perTryTimeoutMs > 0 ? { perTryTimeoutMs } : {}),
    ...(retryOn ? { retryOn } : {}),
    ...(r.retryRemoteLocalities === true ? { retryRemoteLocalities: true } : {}),
    ...(r.retryIgnorePreviousHosts === false ? { retryIgnorePreviousHosts: false } : {}),
    ...(backoffMs !== undefined && backoffMs > 0 ? { backoffMs } : {}),
  };
}

/** Istio: an unset percentage injects the fault into no request. */
function percentageOf(part: Record<string, unknown>): { value: number } {
  const value = num(rec(part.percentage)?.value) ?? num(part.percent) ?? 0;
  return { value };
}

function compileFault(f: Record<string, unknown> | undefined, base: string, issues: FieldIssue[]): FaultPolicy | undefined {
  if (!f) return undefined;
  const out: { delay?: FaultPolicy['delay']; abort?: FaultPolicy['abort'] } = {};
  const delay = rec(f.delay);
  const fixed = str(delay?.fixedDelay);
  const fixedDelayMs = fixed !== undefined ? tryParseDuration(fixed) : undefined;
  if (delay && fixedDelayMs !== undefined) out.delay = { fixedDelayMs, percentage: percentageOf(delay) };
  else if (delay) issues.push({ severity: 'warning', path: `${base}.delay`, message: 'ignored: only fixedDelay is supported' });
  const abort = rec(f.abort);
  if (abort) {
    const httpStatus = num(abort.httpStatus);
    const grpcName = str(abort.grpcStatus);
    const grpcStatus = grpcName !== undefined ? grpcStatusCode(grpcName) : undefined;
    if (httpStatus !== undefined || grpcStatus !== undefined) {
      out.abort = {
        ...(httpStatus !== undefined ? { httpStatus } : {}),
        ...(grpcStatus !== undefined ? { grpcStatus } : {}),
        percentage: percentageOf(abort),
      };
    } else {
      issues.push({ severity: 'warning', path: `${base}.abort`, message: 'ignored: only httpStatus and grpcStatus aborts are supported' });
    }
  }
  return out.delay || out.abort ? out : undefined;
}

function compileRedirect(r: Record<string, unknown> | undefined): HttpRedirect | undefined {
  if (!r) return undefined;
  const uri = str(r.uri);
  const authority = str(r.authority);
  const port = num(r.port);
  const derive = str(r.derivePort);
  const scheme = str(r.scheme);
  return {
    ...(uri !== undefined && uri !== '' ? { uri } : {}),
    ...(authority !== undefined && authority !== '' ? { authority } : {}),
    ...(port !== undefined && port > 0 ? { port } : {}),
    ...(derive === 'FROM_PROTOCOL_DEFAULT' || derive === 'FROM_REQUEST_PORT' ? { derivePort: derive } : {}),
    ...(scheme !== undefined && scheme !== '' ? { scheme } : {}),
    redirectCode: num(r.redirectCode) || 301,
  };
}

function compileDirectResponse(r: Record<string, unknown> | undefined): DirectResponse | undefined {
  const status = num(r?.status);
  if (!r || status === undefined) return undefined;
  const body = rec(r.body);
  const text = str(body?.string);
  const bytes = str(body?.bytes);
  return {
    status,
    ...(text !== undefined ? { body: { string: text } } : bytes !== undefined ? { body: { bytes } } : {}),
  };
}

function compileRewrite(r: Record<string, unknown> | undefined): HttpRewrite | undefined {
  if (!r) return undefined;
  const uri = str(r.uri);
  const authority = str(r.authority);
  const rr = rec(r.uriRegexRewrite);
  const match = str(rr?.match);
  const rewrite = str(rr?.rewrite);
  return compact<HttpRewrite>({
    uri: uri !== undefined && uri !== '' ? uri : undefined,
    uriRegex: match !== undefined && match !== '' && rewrite !== undefined ? { match, rewrite } : undefined,
    authority: authority !== undefined && authority !== '' ? authority : undefined,
  });
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  const m = rec(v);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const k of Object.keys(m).sort()) if (typeof m[k] === 'string') out[k.toLowerCase()] = m[k] as string;
  return Object.keys(out).length > 0 ? out : undefined;
}

function headerOperations(v: Record<string, unknown> | undefined): HeaderOperations | undefined {
  if (!v) return undefined;
  const remove = list(v.remove).filter((x): x is string => typeof x === 'string' && x !== '').map((x) => x.toLowerCase());
  return compact<HeaderOperations>({
    set: stringRecord(v.set),
    add: stringRecord(v.add),
    remove: remove.length > 0 ? [...new Set(remove)].sort() : undefined,
  });
}

function compileHeaderManipulation(h: Record<string, unknown> | undefined): HeaderManipulation | undefined {
  if (!h) return undefined;
  return compact<HeaderManipulation>({
    request: headerOperations(rec(h.request)),
    response: headerOperations(rec(h.response)),
  });
}

/**
 * `mirror` with `mirrorPercentage` (or the deprecated `mirrorPercent`/`mirror_percent`),
 * then every entry of `mirrors`. An unset percentage mirrors everything (Istio).
 */
function compileMirrors(r: Record<string, unknown>, ns: string): MirrorPolicy[] {
  const out: MirrorPolicy[] = [];
  const mirror = rec(r.mirror);
  if (mirror) {
    const value = num(rec(r.mirrorPercentage)?.value) ?? num(r.mirrorPercent) ?? num(r.mirror_percent) ?? 100;
    out.push({ ...compileDestination(mirror, ns), percentage: { value } });
  }
  for (const raw of list(r.mirrors)) {
    const m = rec(raw);
    const dest = rec(m?.destination);
    if (!m || !dest) continue;
    out.push({ ...compileDestination(dest, ns), percentage: { value: num(rec(m.percentage)?.value) ?? 100 } });
  }
  return out;
}

function compileCors(c: Record<string, unknown> | undefined): CorsPolicy | undefined {
  if (!c) return undefined;
  const strings = (v: unknown): string[] => list(v).filter((x): x is string => typeof x === 'string');
  const allowOrigins: StringMatch[] = [
    ...list(c.allowOrigins).flatMap((o) => {
      const sm = stringMatch(o);
      return sm ? [sm] : [];
    }),
    // Deprecated `allowOrigin`: exact origins, `*` for any.
    ...strings(c.allowOrigin).map((o): StringMatch => (o === '*' ? ANY : { exact: o })),
  ];
  const maxAge = ms(c.maxAge);
  const unmatched = str(c.unmatchedPreflights);
  return {
    allowOrigins,
    allowMethods: strings(c.allowMethods),
    allowHeaders: strings(c.allowHeaders),
    exposeHeaders: strings(c.exposeHeaders),
    ...(maxAge !== undefined ? { maxAgeSeconds: Math.floor(maxAge / 1000) } : {}),
    ...(typeof c.allowCredentials === 'boolean' ? { allowCredentials: c.allowCredentials } : {}),
    ...(unmatched === 'FORWARD' || unmatched === 'IGNORE' ? { unmatchedPreflights: unmatched } : {}),
  };
}

function compiledDestinationRule(o: ConfigObject): CompiledDestinationRule {
  const cached = drCache.get(o);
  if (cached) return cached;
  const ns = o.metadata.namespace ?? DEFAULT_NAMESPACE;
  const spec = o.spec;
  const key = objectKey(o);
  const trafficPolicy = compileTrafficPolicy(rec(spec.trafficPolicy), key, 'spec.trafficPolicy');
  const subsets: Subset[] = list(spec.subsets).flatMap((raw, i) => {
    const s = rec(raw);
    const name = str(s?.name);
    if (!s || name === undefined) return [];
    const labels = Object.fromEntries(Object.entries(rec(s.labels) ?? {}).map(([k, v]) => [k, String(v)]));
    const tp = compileTrafficPolicy(rec(s.trafficPolicy), key, `spec.subsets[${i}].trafficPolicy`);
    return [{ name, labels, ...(tp ? { trafficPolicy: tp } : {}) }];
  });
  const c: CompiledDestinationRule = {
    key,
    host: resolveHost(str(spec.host) ?? '', ns),
    subsets,
    ...(trafficPolicy ? { trafficPolicy } : {}),
    issues: [],
  };
  drCache.set(o, c);
  return c;
}

const LB: Readonly<Record<string, LoadBalancerKind>> = {
  ROUND_ROBIN: 'ROUND_ROBIN',
  LEAST_REQUEST: 'LEAST_REQUEST',
  LEAST_CONN: 'LEAST_REQUEST', // Istio's deprecated alias
  RANDOM: 'RANDOM',
  PASSTHROUGH: 'PASSTHROUGH',
};

/** Drops undefined fields and empty objects, so equal policies hash and compare equal. */
function compact<T extends object>(o: T): T | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return Object.keys(out).length > 0 ? (out as T) : undefined;
}

function ms(v: unknown): number | undefined {
  const s = str(v);
  return s !== undefined ? tryParseDuration(s) : undefined;
}

function compileConsistentHash(ch: Record<string, unknown> | undefined): ConsistentHash | undefined {
  if (!ch) return undefined;
  let key: HashKey | undefined;
  const header = str(ch.httpHeaderName);
  const cookie = rec(ch.httpCookie);
  const query = str(ch.httpQueryParameterName);
  if (header !== undefined) key = { header: header.toLowerCase() };
  else if (cookie && str(cookie.name) !== undefined) {
    const path = str(cookie.path);
    const ttlMs = ms(cookie.ttl);
    key = { cookie: { name: str(cookie.name)!, ...(path !== undefined ? { path } : {}), ...(ttlMs !== undefined ? { ttlMs } : {}) } };
  } else if (ch.useSourceIp === true) key = { sourceIp: true };
  else if (query !== undefined) key = { queryParameter: query };
  if (!key) return undefined;
  const maglev = rec(ch.maglev);
  const ringSize = num(rec(ch.ringHash)?.minimumRingSize) ?? num(ch.minimumRingSize);
  const tableSize = num(maglev?.tableSize);
  return {
    key,
    algorithm: maglev ? 'MAGLEV' : 'RING_HASH',
    ...(!maglev && ringSize !== undefined && ringSize > 0 ? { minimumRingSize: ringSize } : {}),
    ...(tableSize !== undefined && tableSize > 0 ? { maglevTableSize: tableSize } : {}),
  };
}

function compileLocality(l: Record<string, unknown> | undefined): LocalityLbSetting | undefined {
  if (!l) return undefined;
  const distribute = list(l.distribute).flatMap((d) => {
    const r = rec(d);
    const from = str(r?.from);
    const to = rec(r?.to);
    if (from === undefined || !to) return [];
    const weights: Record<string, number> = {};
    for (const [k, v] of Object.entries(to)) if (typeof v === 'number') weights[k] = v;
    return [{ from, to: weights }];
  });
  const failover = list(l.failover).flatMap((f) => {
    const r = rec(f);
    const from = str(r?.from);
    const to = str(r?.to);
    return from !== undefined && to !== undefined ? [{ from, to }] : [];
  });
  const failoverPriority = list(l.failoverPriority).filter((x): x is string => typeof x === 'string');
  return compact<LocalityLbSetting>({
    enabled: typeof l.enabled === 'boolean' ? l.enabled : undefined,
    distribute: distribute.length > 0 ? distribute : undefined,
    failover: failover.length > 0 ? failover : undefined,
    failoverPriority: failoverPriority.length > 0 ? failoverPriority : undefined,
  });
}

function compileSections(tp: Record<string, unknown>): TrafficPolicySections {
  const lbRaw = rec(tp.loadBalancer);
  const simple = str(lbRaw?.simple);
  const lb = simple !== undefined ? LB[simple] : undefined;
  const warmup = ms(rec(lbRaw?.warmup)?.duration) ?? ms(lbRaw?.warmupDurationSecs);
  const tcp = rec(rec(tp.connectionPool)?.tcp) ?? {};
  const http = rec(rec(tp.connectionPool)?.http) ?? {};
  const ka = rec(tcp.tcpKeepalive);
  const od = rec(tp.outlierDetection) ?? {};
  const h2 = str(http.h2UpgradePolicy);
  return compact<TrafficPolicySections>({
    loadBalancer: lbRaw
      ? compact<LoadBalancerPolicy>({
          simple: lb,
          consistentHash: compileConsistentHash(rec(lbRaw.consistentHash)),
          localityLbSetting: compileLocality(rec(lbRaw.localityLbSetting)),
          warmupMs: warmup !== undefined && warmup > 0 ? warmup : undefined,
        })
      : undefined,
    connectionPool: compact<ConnectionPoolPolicy>({
      maxConnections: num(tcp.maxConnections),
      connectTimeoutMs: ms(tcp.connectTimeout),
      tcpKeepalive: ka ? compact({ probes: num(ka.probes), timeMs: ms(ka.time), intervalMs: ms(ka.interval) }) : undefined,
      maxConnectionDurationMs: ms(tcp.maxConnectionDuration),
      maxPendingRequests: num(http.http1MaxPendingRequests),
      maxRequests: num(http.http2MaxRequests),
      maxRequestsPerConnection: num(http.maxRequestsPerConnection),
      maxRetries: num(http.maxRetries),
      idleTimeoutMs: ms(http.idleTimeout),
      maxConcurrentStreams: num(http.maxConcurrentStreams),
      h2UpgradePolicy: h2 === 'UPGRADE' || h2 === 'DO_NOT_UPGRADE' ? h2 : undefined,
      useClientProtocol: http.useClientProtocol === true ? true : undefined,
    }),
    outlierDetection: tp.outlierDetection
      ? (compact<OutlierDetectionPolicy>({
          consecutive5xxErrors: num(od.consecutive5xxErrors),
          // Istio maps the deprecated consecutiveErrors onto gateway errors.
          consecutiveGatewayErrors: num(od.consecutiveGatewayErrors) ?? num(od.consecutiveErrors),
          consecutiveLocalOriginFailures: num(od.consecutiveLocalOriginFailures),
          splitExternalLocalOriginErrors: od.splitExternalLocalOriginErrors === true ? true : undefined,
          intervalMs: ms(od.interval),
          baseEjectionTimeMs: ms(od.baseEjectionTime),
          maxEjectionPercent: num(od.maxEjectionPercent),
          minHealthPercent: num(od.minHealthPercent),
        }) ?? {})
      : undefined,
  }) ?? {};
}

function compileTrafficPolicy(tp: Record<string, unknown> | undefined, origin: string, path: string): TrafficPolicy | undefined {
  if (!tp) return undefined;
  const sections = compileSections(tp);
  const seenPorts = new Set<number>();
  const portLevelSettings: PortTrafficPolicy[] = list(tp.portLevelSettings).flatMap((raw, j) => {
    const p = rec(raw);
    const port = num(rec(p?.port)?.number);
    if (!p || port === undefined || seenPorts.has(port)) return [];
    seenPorts.add(port);
    return [{ port, ...compileSections(p), path: `${path}.portLevelSettings[${j}]` }];
  });
  if (Object.keys(sections).length === 0 && portLevelSettings.length === 0) return undefined;
  return {
    ...sections,
    ...(portLevelSettings.length > 0 ? { portLevelSettings } : {}),
    origin,
    path,
  };
}

// --- binding to hosts ------------------------------------------------------------------------

type Warn = (o: SourcedObject, i: FieldIssue) => void;

/**
 * Which candidates (in age order) bind to which hosts: exact hosts as written; wildcard
 * patterns to every service host they match that has no exact candidate, the most
 * specific pattern first.
 */
function bindHosts<T>(
  candidates: readonly { o: SourcedObject; hosts: readonly string[]; value: T }[],
  serviceHosts: readonly string[],
): Map<string, { pattern: string; entries: { o: SourcedObject; value: T }[] }> {
  const exact = new Map<string, { o: SourcedObject; value: T }[]>();
  const wildcard = new Map<string, { o: SourcedObject; value: T }[]>();
  for (const c of candidates) {
    for (const h of new Set(c.hosts)) {
      const target = isWildcardHost(h) ? wildcard : exact;
      target.set(h, [...(target.get(h) ?? []), { o: c.o, value: c.value }]);
    }
  }
  const out = new Map<string, { pattern: string; entries: { o: SourcedObject; value: T }[] }>();
  for (const [host, entries] of exact) out.set(host, { pattern: host, entries });
  // Most specific first: longer suffix, then the pattern text, so ties are deterministic.
  const patterns = [...wildcard.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
  for (const host of serviceHosts) {
    if (out.has(host)) continue;
    const p = patterns.find((pat) => hostMatches(pat, host));
    if (p) out.set(host, { pattern: p, entries: wildcard.get(p)! });
  }
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function bindRoutes(
  vss: readonly { o: SourcedObject; c: CompiledVirtualService }[],
  serviceHosts: readonly string[],
  warn: Warn,
): Map<string, RouteTable> {
  const candidates = vss.filter((v) => v.c.routes.length > 0).map((v) => ({ o: v.o, hosts: v.c.hosts, value: v.c }));
  const bound = bindHosts(candidates, serviceHosts);
  const routes = new Map<string, RouteTable>();
  const warned = new Set<string>();
  for (const [host, { pattern, entries }] of bound) {
    const [winner, ...losers] = entries;
    if (!winner) continue;
    for (const l of losers) {
      const key = `${l.value.key}\0${pattern}`;
      if (warned.has(key)) continue;
      warned.add(key);
      const index = list(l.o.object.spec.hosts).findIndex(
        (h) => typeof h === 'string' && resolveHost(h, l.o.object.metadata.namespace ?? DEFAULT_NAMESPACE) === pattern,
      );
      warn(l.o, {
        severity: 'warning',
        path: index >= 0 ? `spec.hosts[${index}]` : 'spec.hosts',
        message: `ignored for ${pattern}: VirtualService ${winner.value.key.slice('VirtualService/'.length)} is older and defines the routes for this host (one VirtualService per host; the oldest wins)`,
      });
    }
    const content = { host, routes: winner.value.routes, origins: [winner.value.key] };
    routes.set(host, { ...content, version: hashOf(content) });
  }
  return routes;
}

function bindDestinations(
  drs: readonly { o: SourcedObject; c: CompiledDestinationRule }[],
  serviceHosts: readonly string[],
  warn: Warn,
): Map<string, DestinationPolicy> {
  const bound = bindHosts(
    drs.filter((d) => d.c.host !== '').map((d) => ({ o: d.o, hosts: [d.c.host], value: d.c })),
    serviceHosts,
  );
  const out = new Map<string, DestinationPolicy>();
  const warned = new Set<string>();
  const warnOnce = (o: SourcedObject, key: string, i: FieldIssue): void => {
    if (warned.has(key)) return;
    warned.add(key);
    warn(o, i);
  };
  for (const [host, { pattern, entries }] of bound) {
    const subsets: Subset[] = [];
    const subsetOwner = new Map<string, string>();
    let trafficPolicy: TrafficPolicy | undefined;
    let policyOwner: string | undefined;
    for (const { o, value } of entries) {
      const short = value.key.slice('DestinationRule/'.length);
      if (value.trafficPolicy) {
        if (trafficPolicy === undefined) {
          trafficPolicy = value.trafficPolicy;
          policyOwner = short;
        } else {
          warnOnce(o, `${value.key}\0tp\0${pattern}`, {
            severity: 'warning',
            path: 'spec.trafficPolicy',
            message: `ignored for ${pattern}: DestinationRule ${policyOwner} is older and sets the traffic policy for this host`,
          });
        }
      }
      value.subsets.forEach((s, i) => {
        const owner = subsetOwner.get(s.name);
        if (owner === undefined) {
          subsetOwner.set(s.name, short);
          subsets.push(s);
        } else if (owner !== short) {
          warnOnce(o, `${value.key}\0subset\0${s.name}\0${pattern}`, {
            severity: 'warning',
            path: `spec.subsets[${i}].name`,
            message: `ignored for ${pattern}: DestinationRule ${owner} is older and defines subset ${JSON.stringify(s.name)}`,
          });
        }
      });
    }
    const content = {
      host,
      subsets,
      ...(trafficPolicy ? { trafficPolicy } : {}),
      origin: entries.map((e) => e.value.key).join(','),
    };
    out.set(host, { ...content, version: hashOf(content) });
  }
  return out;
}

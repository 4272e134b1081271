import {
  effectiveTrafficPolicy,
  type HttpRequestMatch,
  type HttpRoute,
  type MeshSnapshot,
  type RouteTable,
  type StringMatch,
  type WeightedDestination,
} from '@isthmus/core';
import {
  adaptRoute,
  clusterPolicy,
  formatUnenforced,
  ignoreUnenforced,
  type ClientHashKey,
  type ReportUnenforced,
} from '../capabilities/adapt.js';
import { profileFor, type ClientProfile } from '../capabilities/profiles.js';
import { destinationPort, labelsMatch, outboundClusterName, resolveCluster, routesForPort, type ClusterRef } from '../generators/mesh.js';
import type { ResourceDependencies } from '../generators/generator.js';
import type { XdsProxy } from '../proxy.js';
import type { ClientKind, JsonObject } from '../resources/resource-type.js';
import { CORS_FILTER_NAME } from '../resources/type-urls.js';
import { withOrigin } from '../validation/provenance.js';
import { durationFromMs } from './common.js';
import { clusterSpecifier, headerMatcher, maxStreamDuration, pathMatch, withContentName, withFault } from './route.js';
import {
  corsConfig,
  directResponseAction,
  envoyRetryPolicy,
  grpcRetryPolicy,
  hashPolicy,
  mergeHeaderManipulation,
  mirrorPolicies,
  redirectAction,
  stringMatcher,
  withHeaderManipulation,
  withRewrite,
} from './route-action.js';

export { stringMatcher };

/**
 * The one route-translation entry point: a compiled RouteTable → Envoy `Route`s for one
 * virtual host (`host` on `port`), for one kind of client. Both the proxyless gRPC RDS
 * generator (one virtual host per route config) and the Envoy sidecar RDS generator (one
 * virtual host per service in the `<port>` route config) call it, so a rule feature is
 * translated in one place.
 *
 * What a client can take is decided by its capability profile (capabilities/): each
 * rule is first reduced to what the client enforces (adaptRoute; the rest is reported
 * through `report`, or as a warning), then written in the client's dialect — Envoy gets
 * `string_match` header matchers, pseudo-header and query matches, `route.timeout`
 * (0 s when unset), Istio's default retry policy, redirects, direct responses, rewrites,
 * header edits, mirrors and CORS; gRPC gets the older header matcher fields, statically
 * decided method/authority/query conditions, `max_stream_duration` and only the retries a
 * rule asks for. Every route object is tagged with the rule it came from, so a
 * validation error names it.
 */
export interface RouteTranslationContext {
  readonly snapshot: MeshSnapshot;
  /** The virtual host's service and port. */
  readonly host: string;
  readonly port: number;
  /** The caller: source-scoped matches (sourceLabels, sourceNamespace) are decided for it. */
  readonly proxy: XdsProxy;
  readonly client: ClientKind;
  /** What the caller enforces; from `client` and the proxy's user agent when omitted. */
  readonly profile?: ClientProfile;
  /**
   * Whether the caller has the cluster of `host`:`port` (Sidecar egress scoping, exportTo).
   * A destination it cannot see is left out like one that does not exist. All when omitted.
   */
  readonly visible?: (host: string, port: number) => boolean;
  readonly warn: (message: string) => void;
  /** Where rule parts the profile cannot enforce go; a warning through `warn` when omitted. */
  readonly report?: ReportUnenforced;
}

function profileOf(ctx: Pick<RouteTranslationContext, 'profile' | 'proxy' | 'client'>): ClientProfile {
  return ctx.profile ?? profileFor(ctx.proxy, ctx.client);
}

/**
 * The routes of `table` on ctx.port, in order; the default route to
 * `outbound|<port>||<host>` when there is no table or nothing in it applies.
 */
export function translateRoutes(table: RouteTable | undefined, ctx: RouteTranslationContext): JsonObject[] {
  const profile = profileOf(ctx);
  const report = ctx.report ?? ((u) => ctx.warn(formatUnenforced(u, profile)));
  const full = { ...ctx, profile, report };
  const routes = table ? buildRoutes(table.routes, full) : [];
  if (routes.length > 0) return routes;
  if (table) ctx.warn(`no route of ${table.origins.join(', ')} applies on port ${ctx.port}: using the default route`);
  return [defaultRoute(full)];
}

type FullContext = RouteTranslationContext & { readonly profile: ClientProfile; readonly report: ReportUnenforced };

/**
 * Everything to `outbound|<port>||<host>`, with what a route without rules gets: for
 * Envoy no timeout (0 s) and Istio's default retries; for both, the consistent hash of the
 * host's DestinationRule when the client has ring hash.
 */
export function defaultRoute(
  ctx: Pick<RouteTranslationContext, 'host' | 'port' | 'client'> & Partial<Pick<RouteTranslationContext, 'snapshot' | 'proxy' | 'profile'>>,
): JsonObject {
  const cluster = outboundClusterName(ctx.port, undefined, ctx.host);
  const action: JsonObject = { cluster };
  if (ctx.client === 'envoy') {
    action.timeout = durationFromMs(0);
    action.retry_policy = envoyRetryPolicy(undefined);
  }
  if (ctx.snapshot && ctx.proxy) {
    const profile = ctx.profile ?? profileFor(ctx.proxy, ctx.client);
    const ref = resolveCluster(ctx.snapshot, ctx.host, ctx.port);
    const hash = ref ? hashKeyOf(ref, profile) : undefined;
    if (hash) action.hash_policy = [hashPolicy(hash)];
  }
  return withContentName({ match: { prefix: '/' }, route: action }, 'default');
}

/**
 * Exactly what translateRoutes reads besides (host, port, client): the caller's profile,
 * the host's route table, the services and DestinationRules of the hosts it routes and
 * mirrors to (ports, subsets, hash policies), which of those the caller can see, and
 * which source-scoped matches the caller satisfies. Callers that agree on all of it share
 * the translated routes.
 */
export function routeTableKey(
  snapshot: MeshSnapshot,
  host: string,
  port: number,
  proxy: XdsProxy,
  visible?: (host: string, port: number) => boolean,
  client?: ClientKind,
): string {
  const profile = profileFor(proxy, client);
  const table = snapshot.routes.get(host);
  const hosts = new Set<string>([host]);
  const sourceBits: string[] = [];
  const liveBits: string[] = [];
  for (const route of table?.routes ?? []) {
    for (const d of route.destinations) hosts.add(d.host);
    if (route.destinations.length > 1) {
      for (const d of route.destinations) liveBits.push(hasHealthyEndpoints(snapshot, d.host, d.subset) ? '1' : '0');
    }
    for (const m of route.mirrors ?? []) hosts.add(m.host);
    for (const m of route.matches) {
      if (m.sourceLabels || m.sourceNamespace !== undefined) sourceBits.push(appliesToSource(m, proxy) ? '1' : '0');
    }
  }
  const deps = [...hosts].sort().map((h) => {
    const ports = snapshot.services.get(h)?.service.ports ?? [];
    const seen = visible ? ports.map((p) => (visible(h, p.number) ? '1' : '0')).join('') : '';
    return `${h}=${snapshot.services.get(h)?.version ?? '-'}/${snapshot.destinations.get(h)?.version ?? '-'}/${seen}`;
  });
  return `${profile.id}|${table?.version ?? 'default'}|${deps.join(',')}|${sourceBits.join('')}|${liveBits.join('')}|${port}`;
}

/**
 * The hosts translateRoutes reads for `host`'s routes, per snapshot input (the same reads
 * routeTableKey names): its route table; services and DestinationRules of the host and
 * of every host it routes or mirrors to; endpoints of the destinations of splits (a split
 * skips a subset without healthy endpoints). Lets a push skip proxies no change reaches.
 */
export function routeTableDependencies(snapshot: MeshSnapshot, host: string): ResourceDependencies {
  const hosts = new Set<string>([host]);
  const live = new Set<string>();
  for (const route of snapshot.routes.get(host)?.routes ?? []) {
    for (const d of route.destinations) hosts.add(d.host);
    if (route.destinations.length > 1) for (const d of route.destinations) live.add(d.host);
    for (const m of route.mirrors ?? []) hosts.add(m.host);
  }
  const list = [...hosts];
  return { routes: [host], services: list, destinations: list, endpoints: [...live] };
}

/** The cluster a destination means for this caller, or undefined (reported through warn). */
function clusterFor(d: { host: string; subset?: string; port?: number }, what: string, ctx: FullContext): ClusterRef | undefined {
  const destPort = destinationPort(ctx.snapshot, d as WeightedDestination, ctx.host, ctx.port);
  const ref = destPort === undefined ? undefined : resolveCluster(ctx.snapshot, d.host, destPort, d.subset);
  const seen = ref && (!ctx.visible || ctx.visible(ref.host, ref.port.number));
  if (ref && seen) return ref;
  // A route to a cluster missing from CDS stalls grpc-js for 15 s (Envoy answers 503): leave it out.
  const name = `${d.host}${d.subset ? ` subset ${d.subset}` : ''}${d.port ? ` port ${d.port}` : ''}`;
  ctx.warn(`${what} ${name} ${ref ? 'is not visible to this proxy (Sidecar egress / exportTo)' : 'does not resolve to a cluster'}; left out`);
  return undefined;
}

/** The consistent-hash key routes to this cluster use, for this client (none without ring hash). */
function hashKeyOf(ref: ClusterRef, profile: ClientProfile): ClientHashKey | undefined {
  const policy = clusterPolicy(effectiveTrafficPolicy(ref.policy, ref.port.number, ref.subset?.name), profile, ignoreUnenforced);
  return policy.hash;
}

function hashPolicies(refs: readonly ClusterRef[], route: HttpRoute, ctx: FullContext): JsonObject[] | undefined {
  const keys = refs.map((r) => hashKeyOf(r, ctx.profile));
  const first = keys[0];
  if (!first) return undefined;
  const same = keys.every((k) => k !== undefined && JSON.stringify(k) === JSON.stringify(first));
  if (!same) {
    ctx.warn(`route ${route.name}: its destinations hash on different keys (DestinationRule consistentHash); no hash policy, so no session affinity on this route`);
    return undefined;
  }
  return [hashPolicy(first)];
}

function buildRoutes(httpRoutes: readonly HttpRoute[], ctx: FullContext): JsonObject[] {
  const out: JsonObject[] = [];
  for (const original of routesForPort(httpRoutes, ctx.port)) {
    const route = adaptRoute(original, ctx.profile, ctx.report);
    if (!route) continue;
    const action = routeAction(route, ctx);
    if (!action) continue;
    const origin = `${route.origin}${route.path ? ` ${route.path}` : ''}`;
    const matches: (HttpRequestMatch | undefined)[] = route.matches.length > 0 ? [...route.matches] : [undefined];
    for (const m of matches) {
      const match = m ? routeMatch(m, ctx) : { prefix: '/' };
      if (!match) continue;
      let r: JsonObject = { match, ...action(m?.uri) };
      if (ctx.profile.client === 'envoy') r = withHeaderManipulation(r, route.destinations.length === 1 ? mergeHeaderManipulation(route.headers, route.destinations[0]?.headers) : route.headers);
      r = withFault(r, route.fault);
      if (route.corsPolicy) {
        r = { ...r, typed_per_filter_config: { ...(r.typed_per_filter_config as JsonObject | undefined), [CORS_FILTER_NAME]: corsConfig(route.corsPolicy) } };
      }
      out.push(withOrigin(withContentName(r, route.name), origin));
    }
  }
  return out;
}

/**
 * The action of a route (route / redirect / direct_response) as a function of the
 * match's uri (a rewrite depends on it), or undefined when no destination resolves.
 */
function routeAction(route: HttpRoute, ctx: FullContext): ((uri: StringMatch | undefined) => JsonObject) | undefined {
  if (route.redirect) {
    const redirect = redirectAction(route.redirect, ctx.port);
    return () => ({ redirect });
  }
  if (route.directResponse) {
    const direct = directResponseAction(route.directResponse);
    return () => ({ direct_response: direct });
  }
  const targets: { ref: ClusterRef; weight: number; dest: WeightedDestination }[] = [];
  for (const d of route.destinations) {
    if (d.weight <= 0) continue;
    const ref = clusterFor(d, `route ${route.name}: destination`, ctx);
    if (ref) targets.push({ ref, weight: d.weight, dest: d });
  }
  if (targets.length === 0) {
    ctx.warn(`route ${route.name}: no destination resolves; route left out`);
    return undefined;
  }
  if (targets.length > 1) {
    // A split to a subset with no healthy endpoint (a canary scaled to zero, a version
    // deregistered) would fail its share of calls: while another destination is healthy,
    // that share goes to the healthy ones instead. Istio fails those calls.
    const live = targets.filter((t) => hasHealthyEndpoints(ctx.snapshot, t.ref.host, t.ref.subset?.name));
    if (live.length > 0 && live.length < targets.length) {
      for (const t of targets) {
        if (!live.includes(t)) ctx.warn(`route ${route.name}: ${t.ref.name} has no healthy endpoint; its ${t.weight}% goes to the other destinations`);
      }
      targets.splice(0, targets.length, ...live);
    }
  }
  const envoy = ctx.profile.client === 'envoy';
  const action: JsonObject = clusterSpecifier(targets.map((t) => ({ name: t.ref.name, weight: t.weight })));
  const weighted = (action.weighted_clusters as JsonObject | undefined)?.clusters as JsonObject[] | undefined;
  if (weighted && envoy) {
    // Envoy deprecated total_weight (the weights add up to 100 anyway); C-core 1.51 needs it.
    delete (action.weighted_clusters as JsonObject).total_weight;
    weighted.forEach((c, i) => Object.assign(c, withHeaderManipulation({}, targets[i]?.dest.headers)));
  }
  if (envoy) {
    // Envoy's own default route timeout is 15 s; Istio (and Isthmus) default to none (0s).
    action.timeout = durationFromMs(route.timeoutMs && route.timeoutMs > 0 ? route.timeoutMs : 0);
  } else if (route.timeoutMs && route.timeoutMs > 0) {
    // gRPC reads the route timeout from max_stream_duration (A31).
    action.max_stream_duration = maxStreamDuration(route.timeoutMs);
  }
  const retries = envoy ? envoyRetryPolicy(route.retries) : grpcRetryPolicy(route.retries);
  if (retries) action.retry_policy = retries;
  const mirrors = (route.mirrors ?? []).flatMap((m) => {
    const ref = clusterFor(m, `route ${route.name}: mirror`, ctx);
    return ref ? [{ cluster: ref.name, percent: m.percentage.value }] : [];
  });
  if (mirrors.length > 0) action.request_mirror_policies = mirrorPolicies(mirrors);
  const hash = hashPolicies(
    targets.map((t) => t.ref),
    route,
    ctx,
  );
  if (hash) action.hash_policy = hash;
  return (uri) => ({ route: withRewrite(action, route.rewrite, uri) });
}

// Per endpoint set: subset name ('' = whole service) → has a healthy workload. Endpoint
// sets are immutable and replaced on change, so the cache never goes stale.
const liveness = new WeakMap<object, Map<string, boolean>>();

/** True when `host` (restricted to `subset`'s labels) has at least one HEALTHY workload. */
export function hasHealthyEndpoints(snapshot: MeshSnapshot, host: string, subset?: string): boolean {
  const set = snapshot.endpoints.get(host);
  if (!set) return false;
  let bySubset = liveness.get(set);
  if (!bySubset) liveness.set(set, (bySubset = new Map()));
  const key = `${subset ?? ''}\0${snapshot.destinations.get(host)?.version ?? ''}`;
  let live = bySubset.get(key);
  if (live === undefined) {
    const labels = subset ? snapshot.destinations.get(host)?.subsets.find((s) => s.name === subset)?.labels : {};
    live = labels !== undefined && set.workloads.some((w) => w.health === 'HEALTHY' && labelsMatch(w.labels, labels));
    bySubset.set(key, live);
  }
  return live;
}

export function appliesToSource(m: HttpRequestMatch, proxy: XdsProxy): boolean {
  if (m.sourceLabels && !labelsMatch(proxy.labels, m.sourceLabels)) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== proxy.namespace) return false;
  return true;
}

/**
 * A RouteMatch, or undefined when the condition can never hold for this caller: another
 * caller (sourceLabels/sourceNamespace) for both clients; for gRPC clients also a query
 * parameter (gRPC has no query string), a method other than POST, or another authority —
 * decided here because gRPC clients do not see pseudo-headers in route matching. Envoy
 * matches method and authority as the `:method` / `:authority` pseudo-headers and query
 * parameters natively, and takes the current `string_match` header form.
 */
export function routeMatch(m: HttpRequestMatch, ctx: Pick<RouteTranslationContext, 'host' | 'port' | 'proxy' | 'client'>): JsonObject | undefined {
  const { host, port, proxy } = ctx;
  if (!appliesToSource(m, proxy)) return undefined;
  const match = pathMatch(m.uri, m.ignoreUriCase ?? false);
  if (ctx.client === 'grpc') {
    if (Object.keys(m.queryParams).length > 0) return undefined;
    if (m.method && !staticMatch(m.method, 'POST')) return undefined;
    if (m.authority && !staticMatch(m.authority, `${host}:${port}`) && !staticMatch(m.authority, host)) return undefined;
    const headers = [
      ...Object.entries(m.headers).map(([name, sm]) => headerMatcher(name, sm)),
      ...Object.entries(m.withoutHeaders).map(([name, sm]) => headerMatcher(name, sm, true)),
    ].sort(byName);
    if (headers.length > 0) match.headers = headers;
    return match;
  }
  const headers = [
    ...Object.entries(m.headers).map(([name, sm]) => envoyHeaderMatcher(name, sm)),
    ...Object.entries(m.withoutHeaders).map(([name, sm]) => envoyHeaderMatcher(name, sm, true)),
    ...(m.method ? [envoyHeaderMatcher(':method', m.method)] : []),
    ...(m.authority ? [envoyHeaderMatcher(':authority', m.authority)] : []),
  ].sort(byName);
  if (headers.length > 0) match.headers = headers;
  const query = Object.entries(m.queryParams)
    .map(([name, sm]) => ({ name, string_match: stringMatcher(sm) }))
    .sort(byName);
  if (query.length > 0) match.query_parameters = query;
  return match;
}

/** A HeaderMatcher in Envoy's current form (`string_match`), name lowercased. */
export function envoyHeaderMatcher(name: string, sm: StringMatch, invert = false): JsonObject {
  const m: JsonObject = { name: name.toLowerCase(), string_match: stringMatcher(sm) };
  if (invert) m.invert_match = true;
  return m;
}

function byName(a: JsonObject, b: JsonObject): number {
  const x = String(a.name);
  const y = String(b.name);
  return x < y ? -1 : x > y ? 1 : 0;
}

function staticMatch(sm: StringMatch, value: string): boolean {
  if ('exact' in sm) return sm.exact === value;
  if ('prefix' in sm) return value.startsWith(sm.prefix);
  try {
    return new RegExp(`^(?:${sm.regex})$`).test(value);
  } catch {
    return false;
  }
}

import type { HttpRequestMatch, HttpRoute, MeshSnapshot, StringMatch } from '@isthmus/core';
import {
  clusterSpecifier,
  headerMatcher,
  maxStreamDuration,
  pathMatch,
  retryPolicy,
  withContentName,
  withFault,
} from '../../configurers/route.js';
import type { XdsProxy } from '../../proxy.js';
import type { EncodedResource } from '../../resources/encoded.js';
import type { JsonObject } from '../../resources/resource-type.js';
import { routeType } from '../../resources/route.js';
import { ROUTE_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator } from '../generator.js';
import { destinationPort, labelsMatch, outboundClusterName, resolveCluster, routesForPort } from '../mesh.js';
import { hostPortTargets } from './lds.js';

/**
 * RDS for proxyless gRPC: route config `<host>:<port>` with one virtual host whose
 * domains are `host:port` and `host` (clients match on `host:port`).
 */
export const grpcRouteGenerator: Generator = {
  typeUrl: ROUTE_TYPE_URL,
  resourceType: routeType,
  client: 'grpc',
  inputs: ['services', 'routes', 'destinations'],
  generate(ctx: GenerateContext): EncodedResource[] {
    const out: EncodedResource[] = [];
    const { snapshot, proxy } = ctx;
    for (const { name, host, port } of hostPortTargets(snapshot, ctx.names)) {
      const res = ctx.memo.get(name, routeConfigKey(snapshot, host, port, proxy), (warn) =>
        routeConfiguration(snapshot, host, port, proxy, warn),
      );
      if (res) out.push(res);
    }
    return out;
  },
};

/**
 * Exactly what a route config reads: the host's route table, the services and
 * DestinationRules of the hosts it routes to (ports, subsets), and which source-scoped
 * matches (sourceLabels, sourceNamespace) this proxy satisfies. Proxies that satisfy the
 * same ones share the resource.
 */
export function routeConfigKey(snapshot: MeshSnapshot, host: string, port: number, proxy: XdsProxy): string {
  const table = snapshot.routes.get(host);
  if (!table) return 'default';
  const hosts = new Set<string>();
  const sourceBits: string[] = [];
  for (const route of table.routes) {
    for (const d of route.destinations) hosts.add(d.host);
    for (const m of route.matches) {
      if (m.sourceLabels || m.sourceNamespace !== undefined) sourceBits.push(appliesToSource(m, proxy) ? '1' : '0');
    }
  }
  const deps = [...hosts]
    .sort()
    .map((h) => `${h}=${snapshot.services.get(h)?.version ?? '-'}/${snapshot.destinations.get(h)?.version ?? '-'}`);
  return `${table.version}|${deps.join(',')}|${sourceBits.join('')}|${port}`;
}

export function routeConfiguration(
  snapshot: MeshSnapshot,
  host: string,
  port: number,
  proxy: XdsProxy,
  warn: (message: string) => void,
): JsonObject {
  const name = `${host}:${port}`;
  const table = snapshot.routes.get(host);
  let routes = table ? buildRoutes(snapshot, table.routes, host, port, proxy, warn) : [];
  if (routes.length === 0) {
    if (table) warn(`no route of ${table.origins.join(', ')} applies on port ${port}: using the default route`);
    routes = [withContentName({ match: { prefix: '/' }, route: { cluster: outboundClusterName(port, undefined, host) } }, 'default')];
  }
  return { name, virtual_hosts: [{ name, domains: [name, host], routes }] };
}

function buildRoutes(
  snapshot: MeshSnapshot,
  httpRoutes: readonly HttpRoute[],
  host: string,
  port: number,
  proxy: XdsProxy,
  warn: (message: string) => void,
): JsonObject[] {
  const out: JsonObject[] = [];
  for (const route of routesForPort(httpRoutes, port)) {
    const clusters: { name: string; weight: number }[] = [];
    for (const d of route.destinations) {
      if (d.weight <= 0) continue;
      const destPort = destinationPort(snapshot, d, host, port);
      const ref = destPort === undefined ? undefined : resolveCluster(snapshot, d.host, destPort, d.subset);
      // A route to a cluster missing from CDS stalls grpc-js for 15 s: leave it out.
      if (!ref) {
        warn(`route ${route.name}: destination ${d.host}${d.subset ? ` subset ${d.subset}` : ''}${d.port ? ` port ${d.port}` : ''} does not resolve to a cluster; left out`);
        continue;
      }
      clusters.push({ name: ref.name, weight: d.weight });
    }
    if (clusters.length === 0) {
      warn(`route ${route.name}: no destination resolves; route left out`);
      continue;
    }
    const action: JsonObject = clusterSpecifier(clusters);
    if (route.timeoutMs && route.timeoutMs > 0) action.max_stream_duration = maxStreamDuration(route.timeoutMs);
    const retries = retryPolicy(route.retries);
    if (retries) action.retry_policy = retries;
    const matches: (HttpRequestMatch | undefined)[] = route.matches.length > 0 ? [...route.matches] : [undefined];
    for (const m of matches) {
      const match = m ? routeMatch(m, host, port, proxy) : { prefix: '/' };
      if (!match) continue;
      out.push(withContentName(withFault({ match, route: action }, route.fault), route.name));
    }
  }
  return out;
}

function appliesToSource(m: HttpRequestMatch, proxy: XdsProxy): boolean {
  if (m.sourceLabels && !labelsMatch(proxy.labels, m.sourceLabels)) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== proxy.namespace) return false;
  return true;
}

/**
 * A RouteMatch, or undefined when the condition can never hold for this gRPC client:
 * another caller (sourceLabels/sourceNamespace), a query parameter (gRPC has no query
 * string), a method other than POST, or another authority. Those are decided here because
 * gRPC clients do not see pseudo-headers in route matching.
 */
export function routeMatch(m: HttpRequestMatch, host: string, port: number, proxy: XdsProxy): JsonObject | undefined {
  if (!appliesToSource(m, proxy)) return undefined;
  if (Object.keys(m.queryParams).length > 0) return undefined;
  if (m.method && !staticMatch(m.method, 'POST')) return undefined;
  if (m.authority && !staticMatch(m.authority, `${host}:${port}`) && !staticMatch(m.authority, host)) return undefined;
  const match = pathMatch(m.uri, m.ignoreUriCase ?? false);
  const headers = [
    ...Object.entries(m.headers).map(([name, sm]) => headerMatcher(name, sm)),
    ...Object.entries(m.withoutHeaders).map(([name, sm]) => headerMatcher(name, sm, true)),
  ].sort((a, b) => (String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0));
  if (headers.length > 0) match.headers = headers;
  return match;
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

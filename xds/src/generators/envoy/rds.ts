import { hashOf, type MeshSnapshot } from '@isthmus/core';
import { durationFromMs } from '../../configurers/common.js';
import { routeTableKey, translateRoutes } from '../../configurers/route-table.js';
import type { XdsProxy } from '../../proxy.js';
import type { EncodedResource } from '../../resources/encoded.js';
import type { JsonObject } from '../../resources/resource-type.js';
import { routeType } from '../../resources/route.js';
import { ROUTE_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator } from '../generator.js';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER } from './filters.js';
import { interceptionMode } from './node.js';
import { outboundPlan, type OutboundPlan } from './outbound.js';

/**
 * RDS for Envoy sidecars: route config `<port>` (what outbound listener `0.0.0.0_<port>`
 * asks for), one virtual host `<host>:<port>` per HTTP/HTTP2/GRPC service the proxy sees
 * on the port, with the routes of that host's VirtualService (the shared translateRoutes,
 * Envoy flavour). Domains: the hostname and `host:port`; for Kubernetes-style hosts
 * `<name>.<ns>.svc.<domain>` also `<name>.<ns>`, `<name>.<ns>.svc` and, for a proxy in
 * `<ns>`, `<name>` — each with and without `:port`. Last comes the catch-all virtual host:
 * `allow_any` to PassthroughCluster, or `block_all` to BlackHoleCluster under a Sidecar's
 * REGISTRY_ONLY (none in NONE interception mode, where nothing can pass through).
 */
export const envoyRouteGenerator: Generator = {
  typeUrl: ROUTE_TYPE_URL,
  resourceType: routeType,
  client: 'envoy',
  // endpoints: a split skips subsets without healthy endpoints (route-table.ts).
  inputs: ['services', 'routes', 'destinations', 'endpoints', 'sidecars'],
  generate(ctx: GenerateContext): EncodedResource[] {
    const { snapshot, proxy } = ctx;
    const plan = outboundPlan(snapshot, proxy);
    const out: EncodedResource[] = [];
    const names = ctx.names ? [...ctx.names] : [...plan.ports.values()].filter((p) => p.http.length > 0).map((p) => String(p.port));
    for (const name of names.sort()) {
      const port = Number(name);
      const op = /^\d+$/.test(name) ? plan.ports.get(port) : undefined;
      if (!op || op.http.length === 0) continue;
      const vhosts = op.http.map((host) => ({ host, domains: vhostDomains(host, port, proxy.namespace) }));
      const key = hashOf({
        mode: interceptionMode(proxy),
        outbound: plan.scope.sidecar?.outboundTrafficPolicy ?? 'ALLOW_ANY',
        vhosts: vhosts.map((v) => [v.host, v.domains, routeTableKey(snapshot, v.host, port, proxy, plan.scope.visible)]),
      });
      const res = ctx.memo.get(name, key, (warn) => routeConfiguration(snapshot, proxy, plan, port, vhosts, warn));
      if (res) out.push(res);
    }
    return out;
  },
};

function routeConfiguration(
  snapshot: MeshSnapshot,
  proxy: XdsProxy,
  plan: OutboundPlan,
  port: number,
  vhosts: readonly { host: string; domains: string[] }[],
  warn: (m: string) => void,
): JsonObject {
  const used = new Map<string, string>();
  const virtualHosts: JsonObject[] = vhosts.map(({ host, domains }) => {
    const unique = domains.filter((d) => {
      const owner = used.get(d);
      if (owner === undefined) {
        used.set(d, host);
        return true;
      }
      // Envoy refuses a route config that lists a domain twice.
      warn(`domain ${d} of ${host} is already served by ${owner}; left out`);
      return false;
    });
    const routes = translateRoutes(snapshot.routes.get(host), {
      snapshot,
      host,
      port,
      proxy,
      client: 'envoy',
      visible: plan.scope.visible,
      warn,
    });
    return { name: `${host}:${port}`, domains: unique, routes };
  });
  const catchAll = catchAllVirtualHost(proxy, plan);
  if (catchAll) virtualHosts.push(catchAll);
  return { name: String(port), virtual_hosts: virtualHosts, validate_clusters: { value: false } };
}

function catchAllVirtualHost(proxy: XdsProxy, plan: OutboundPlan): JsonObject | undefined {
  if (interceptionMode(proxy) === 'NONE') return undefined;
  const blocked = plan.scope.sidecar?.outboundTrafficPolicy === 'REGISTRY_ONLY';
  const name = blocked ? 'block_all' : 'allow_any';
  return {
    name,
    domains: ['*'],
    routes: [{ name, match: { prefix: '/' }, route: { cluster: blocked ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER, timeout: durationFromMs(0) } }],
  };
}

/** The names a caller may use for `host` on `port` (see envoyRouteGenerator). */
export function vhostDomains(host: string, port: number, proxyNamespace: string): string[] {
  const names = [host];
  const at = host.indexOf('.svc.');
  if (at > 0) {
    const [name, ns, ...rest] = host.slice(0, at).split('.');
    if (name && ns && rest.length === 0) {
      names.push(`${name}.${ns}.svc`, `${name}.${ns}`);
      if (ns === proxyNamespace) names.push(name);
    }
  }
  return names.flatMap((n) => [n, `${n}:${port}`]);
}

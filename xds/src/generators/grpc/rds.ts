import type { MeshSnapshot } from '@isthmus/core';
import { routeTableDependencies, routeTableKey, translateRoutes } from '../../configurers/route-table.js';
import type { XdsProxy } from '../../proxy.js';
import type { EncodedResource } from '../../resources/encoded.js';
import type { JsonObject } from '../../resources/resource-type.js';
import { routeType } from '../../resources/route.js';
import { ROUTE_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator } from '../generator.js';
import { namedPerScope, proxyScope } from '../scope.js';
import { profileFor } from '../../capabilities/profiles.js';
import { hostPortTarget, hostPortTargets, type HostPortTarget } from './lds.js';
import { parseHostPort } from '../mesh.js';

/**
 * RDS for proxyless gRPC: route config `<host>:<port>` with one virtual host whose
 * domains are `host:port` and `host` (clients match on `host:port`).
 */
export const grpcRouteGenerator: Generator = {
  typeUrl: ROUTE_TYPE_URL,
  resourceType: routeType,
  client: 'grpc',
  // endpoints: a split skips subsets without healthy endpoints (route-table.ts).
  inputs: ['services', 'routes', 'destinations', 'endpoints', 'sidecars'],
  generate(ctx: GenerateContext): EncodedResource[] {
    const { snapshot, proxy } = ctx;
    const scope = proxyScope(snapshot, proxy);
    const { visible } = scope;
    // A route config reads the proxy only through its scope (namespace, labels) and profile.
    const one = ({ name, host, port }: HostPortTarget) =>
      ctx.memo.get(name, routeConfigKey(snapshot, host, port, proxy, visible), (warn) => routeConfiguration(snapshot, host, port, proxy, warn, visible));
    if (ctx.names) {
      return namedPerScope(scope, `grpc-rds|${profileFor(proxy, 'grpc').id}`, ctx.names, (name) => {
        const target = hostPortTarget(snapshot, name, visible);
        return target && one(target);
      });
    }
    return hostPortTargets(snapshot, undefined, visible).flatMap((t) => one(t) ?? []);
  },
  dependencies(snapshot, name) {
    const hp = parseHostPort(name);
    return hp ? routeTableDependencies(snapshot, hp.host) : { services: [], routes: [], destinations: [], endpoints: [] };
  },
};

/** The route config's cache key: what translateRoutes reads (see routeTableKey). */
export function routeConfigKey(
  snapshot: MeshSnapshot,
  host: string,
  port: number,
  proxy: XdsProxy,
  visible?: (host: string, port: number) => boolean,
): string {
  return routeTableKey(snapshot, host, port, proxy, visible);
}

export function routeConfiguration(
  snapshot: MeshSnapshot,
  host: string,
  port: number,
  proxy: XdsProxy,
  warn: (message: string) => void,
  visible?: (host: string, port: number) => boolean,
): JsonObject {
  const name = `${host}:${port}`;
  const routes = translateRoutes(snapshot.routes.get(host), { snapshot, host, port, proxy, client: 'grpc', warn, ...(visible ? { visible } : {}) });
  return { name, virtual_hosts: [{ name, domains: [name, host], routes }] };
}

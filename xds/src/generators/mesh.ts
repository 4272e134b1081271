import type { DestinationPolicy, HttpRoute, MeshSnapshot, ServicePort, Subset, WeightedDestination } from '@isthmus/core';

/**
 * Names and lookups shared by the generators. Resource names follow Istio:
 * clusters and EDS `outbound|<port>|<subset>|<host>`, gRPC listeners and route configs
 * `<host>:<port>`.
 */

export function outboundClusterName(port: number, subset: string | undefined, host: string): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}

export function parseOutboundClusterName(name: string): { port: number; subset?: string; host: string } | undefined {
  const parts = name.split('|');
  if (parts.length !== 4 || parts[0] !== 'outbound') return undefined;
  const port = Number(parts[1]);
  const host = parts[3] ?? '';
  if (!Number.isInteger(port) || port <= 0 || !host) return undefined;
  return parts[2] ? { port, subset: parts[2], host } : { port, host };
}

export function hostPortName(host: string, port: number): string {
  return `${host}:${port}`;
}

export function parseHostPort(name: string): { host: string; port: number } | undefined {
  const at = name.lastIndexOf(':');
  if (at <= 0) return undefined;
  const port = Number(name.slice(at + 1));
  if (!Number.isInteger(port) || port <= 0) return undefined;
  return { host: name.slice(0, at), port };
}

export function servicePort(snapshot: MeshSnapshot, host: string, port: number): ServicePort | undefined {
  return snapshot.services.get(host)?.service.ports.find((p) => p.number === port);
}

/** A cluster the snapshot defines: a service port, optionally narrowed to a subset. */
export interface ClusterRef {
  readonly name: string;
  readonly host: string;
  readonly port: ServicePort;
  readonly subset?: Subset;
  readonly policy?: DestinationPolicy;
}

/** The cluster if it exists: the service has the port and, for a subset, a DestinationRule defines it. */
export function resolveCluster(snapshot: MeshSnapshot, host: string, port: number, subsetName?: string): ClusterRef | undefined {
  const sp = servicePort(snapshot, host, port);
  if (!sp) return undefined;
  const policy = snapshot.destinations.get(host);
  const name = outboundClusterName(port, subsetName, host);
  if (!subsetName) return { name, host, port: sp, ...(policy ? { policy } : {}) };
  const subset = policy?.subsets.find((s) => s.name === subsetName);
  return subset && policy ? { name, host, port: sp, subset, policy } : undefined;
}

export function clusterByName(snapshot: MeshSnapshot, name: string): ClusterRef | undefined {
  const parsed = parseOutboundClusterName(name);
  return parsed && resolveCluster(snapshot, parsed.host, parsed.port, parsed.subset);
}

/** Every cluster of the snapshot: one per service port, plus one per DestinationRule subset. */
export function allClusters(snapshot: MeshSnapshot): ClusterRef[] {
  const out: ClusterRef[] = [];
  for (const [host, { service }] of snapshot.services) {
    const policy = snapshot.destinations.get(host);
    for (const port of service.ports) {
      out.push({ name: outboundClusterName(port.number, undefined, host), host, port, ...(policy ? { policy } : {}) });
      for (const subset of policy?.subsets ?? []) {
        out.push({ name: outboundClusterName(port.number, subset.name, host), host, port, subset, policy: policy! });
      }
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The port a route destination means: its own, else the listener's port when it routes
 * to the listener's own host, else the destination service's only port.
 */
export function destinationPort(
  snapshot: MeshSnapshot,
  dest: WeightedDestination,
  listenerHost: string,
  listenerPort: number,
): number | undefined {
  if (dest.port !== undefined) return dest.port;
  if (dest.host === listenerHost) return listenerPort;
  const ports = snapshot.services.get(dest.host)?.service.ports ?? [];
  return ports.length === 1 ? ports[0]?.number : undefined;
}

/** The routes of a table that apply on `port`, each with only its matches for that port. */
export function routesForPort(routes: readonly HttpRoute[], port: number): HttpRoute[] {
  const out: HttpRoute[] = [];
  for (const route of routes) {
    if (route.matches.length === 0) {
      out.push(route);
      continue;
    }
    const matches = route.matches.filter((m) => m.port === undefined || m.port === port);
    if (matches.length > 0) out.push(matches.length === route.matches.length ? route : { ...route, matches });
  }
  return out;
}

export function labelsMatch(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/**
 * Sorts `list` in place by a computed string key, computing each key once (byString
 * computes two per comparison). Stable, like Array.prototype.sort: the same order.
 */
export function sortByKey<T>(list: T[], key: (t: T) => string): T[] {
  if (list.length < 2) return list;
  const keyed = list.map((item) => ({ key: key(item), item }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 0; i < keyed.length; i++) list[i] = keyed[i]!.item;
  return list;
}

export function byString<T>(key: (t: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

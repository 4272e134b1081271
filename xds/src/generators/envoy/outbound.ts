import { isHttpProtocol, type MeshSnapshot, type Protocol } from '@isthmus/core';
import type { XdsProxy } from '../../proxy.js';
import { byString } from '../mesh.js';
import { proxyScope, type ProxyScope } from '../scope.js';

/**
 * What an Envoy sidecar's outbound listener on one port carries, from the services the
 * proxy sees on that port. Isthmus has no service VIPs, so one port is shared by every
 * service on it, told apart by HTTP Host (HTTP, HTTP2, GRPC: one HttpConnectionManager
 * with the route config `<port>`), by TLS SNI (TLS: one filter chain per host), and plain
 * TCP only when a single TCP service has the port to itself.
 */
export interface OutboundPort {
  readonly port: number;
  /** Hosts routed by Host header through RDS `<port>`. */
  readonly http: readonly string[];
  /** Hosts matched by SNI. */
  readonly tls: readonly string[];
  /** The TCP service that gets every other connection on the port (only without HTTP hosts). */
  readonly tcp?: string;
  /** Services this proxy sees on the port but cannot reach through it, and why. */
  readonly unreachable: readonly string[];
}

export interface OutboundPlan {
  readonly scope: ProxyScope;
  /** By port, ascending. */
  readonly ports: ReadonlyMap<number, OutboundPort>;
}

const plans = new WeakMap<MeshSnapshot, Map<string, OutboundPlan>>();

/** The outbound side of a sidecar; proxies with the same scope share one plan. */
export function outboundPlan(snapshot: MeshSnapshot, proxy: XdsProxy): OutboundPlan {
  const scope = proxyScope(snapshot, proxy);
  let byScope = plans.get(snapshot);
  if (!byScope) {
    byScope = new Map();
    plans.set(snapshot, byScope);
  }
  const hit = byScope.get(scope.key);
  if (hit) return hit;
  const byPort = new Map<number, { host: string; protocol: Protocol }[]>();
  for (const [host, { service }] of snapshot.services) {
    for (const p of service.ports) {
      if (!scope.visible(host, p.number)) continue;
      const list = byPort.get(p.number) ?? [];
      list.push({ host, protocol: p.protocol });
      byPort.set(p.number, list);
    }
  }
  const ports = new Map<number, OutboundPort>();
  for (const port of [...byPort.keys()].sort((a, b) => a - b)) {
    const entries = (byPort.get(port) ?? []).sort(byString((e) => e.host));
    const http = entries.filter((e) => isHttpProtocol(e.protocol)).map((e) => e.host);
    const tls = entries.filter((e) => e.protocol === 'TLS').map((e) => e.host);
    const tcpHosts = entries.filter((e) => e.protocol === 'TCP').map((e) => e.host);
    const unreachable: string[] = [];
    let tcp: string | undefined;
    if (http.length > 0) {
      for (const h of tcpHosts) unreachable.push(`${h}:${port} (TCP) shares the port with HTTP services (${http.join(', ')}): its traffic goes through the HTTP routes`);
    } else if (tcpHosts.length > 0) {
      tcp = tcpHosts[0];
      for (const h of tcpHosts.slice(1)) unreachable.push(`${h}:${port} (TCP) shares the port with TCP service ${tcp}, which gets the port (first by name; Isthmus has no service VIPs)`);
    }
    ports.set(port, { port, http, tls, ...(tcp ? { tcp } : {}), unreachable });
  }
  const plan: OutboundPlan = { scope, ports };
  byScope.set(scope.key, plan);
  return plan;
}

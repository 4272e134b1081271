import { isIP } from 'node:net';
import { parseEndpoint, type MeshSnapshot, type Protocol, type Workload } from '@isthmus/core';
import type { XdsProxy } from '../../proxy.js';
import { sortByKey } from '../mesh.js';
import { proxyScope } from '../scope.js';

/**
 * Who an Envoy sidecar is: its own workload(s) in the registry (they decide its inbound
 * ports), how traffic reaches it (interception mode) and what it may see (ProxyScope).
 *
 * Finding the node's own workloads, first rule that applies:
 * 1. Its IPs — node metadata `INSTANCE_IPS` (comma-separated, Istio's key) and the IP in an
 *    Istio-style node id `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`: the workloads
 *    at one of those addresses.
 * 2. `WORKLOAD_NAME`: the workload whose id is that name, or ends in `/<name>`.
 * 3. `LABELS`: the workloads carrying all of those labels.
 * Rules 2 and 3 only look in the node's `NAMESPACE` when it has one; rule 1 too. No rule
 * applies, or nothing matches: the sidecar gets no inbound listener (outbound only).
 */

/** `REDIRECT`: iptables sends traffic to 15001/15006 (Istio's default). `NONE`: listeners bind for real. */
export type InterceptionMode = 'REDIRECT' | 'NONE';

export const VIRTUAL_OUTBOUND_PORT = 15001;
export const VIRTUAL_INBOUND_PORT = 15006;

export function interceptionMode(proxy: XdsProxy): InterceptionMode {
  const m = proxy.metadata.INTERCEPTION_MODE;
  return typeof m === 'string' && m.toUpperCase() === 'NONE' ? 'NONE' : 'REDIRECT';
}

/** IPs the node says it has: INSTANCE_IPS and the second `~` part of an Istio-style node id. */
export function nodeIps(proxy: XdsProxy): string[] {
  const out = new Set<string>();
  const raw = proxy.metadata.INSTANCE_IPS;
  const listed = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw.map(String) : [];
  for (const ip of listed.map((s) => s.trim())) if (isIP(ip)) out.add(ip);
  const parts = proxy.id.split('~');
  if (parts.length === 4 && isIP(parts[1] ?? '')) out.add(parts[1]!);
  return [...out].sort();
}

const byAddress = new WeakMap<MeshSnapshot, Map<string, Workload[]>>();

/** Workloads by address, built once per snapshot (every sidecar looks itself up by IP). */
function workloadsAt(snapshot: MeshSnapshot, address: string): readonly Workload[] {
  let index = byAddress.get(snapshot);
  if (!index) {
    index = new Map();
    for (const set of snapshot.endpoints.values()) {
      for (const w of set.workloads) index.set(w.address, [...(index.get(w.address) ?? []), w]);
    }
    byAddress.set(snapshot, index);
  }
  return index.get(address) ?? [];
}

export function ownWorkloads(snapshot: MeshSnapshot, proxy: XdsProxy): Workload[] {
  const inNamespace = (w: Workload) => !proxy.namespace || w.namespace === proxy.namespace;
  const ips = nodeIps(proxy);
  let found: Workload[];
  const name = proxy.metadata.WORKLOAD_NAME;
  const all = () => [...snapshot.endpoints.values()].flatMap((set) => set.workloads).filter(inNamespace);
  if (ips.length > 0) found = ips.flatMap((ip) => workloadsAt(snapshot, ip)).filter(inNamespace);
  else if (typeof name === 'string' && name) found = all().filter((w) => w.id === name || w.id.endsWith(`/${name}`));
  else if (Object.keys(proxy.labels).length > 0) {
    found = all().filter((w) => Object.entries(proxy.labels).every(([k, v]) => w.labels[k] === v));
  } else found = [];
  return sortByKey(found, (w) => `${w.hostname}|${w.id}`);
}

/** One port the sidecar accepts traffic on for its application. */
export interface InboundPort {
  /** The port callers reach (the workload's instance port, or a Sidecar ingress port). */
  readonly port: number;
  readonly protocol: Protocol;
  /** Where the application listens. */
  readonly endpoint: { readonly address: string; readonly port: number };
  /** The workload address (NONE mode binds the inbound listener there). */
  readonly bindAddress: string;
}

const PROTOCOLS = new Set<string>(['HTTP', 'HTTP2', 'GRPC', 'TCP', 'TLS']);

/**
 * The sidecar's inbound ports: a Sidecar's `ingress` listeners when the applying Sidecar
 * has some, else every port of every own workload's service, at the workload's instance
 * port, the application at `127.0.0.1:<that port>`.
 */
export function inboundPorts(snapshot: MeshSnapshot, proxy: XdsProxy, workloads: readonly Workload[]): InboundPort[] {
  const byPort = new Map<number, InboundPort>();
  const firstIp = workloads[0]?.address ?? nodeIps(proxy)[0] ?? '0.0.0.0';
  const ingress = proxyScope(snapshot, proxy).sidecar?.ingress ?? [];
  if (ingress.length > 0) {
    for (const i of ingress) {
      if (byPort.has(i.port)) continue;
      const known = workloads
        .flatMap((w) => snapshot.services.get(w.hostname)?.service.ports ?? [])
        .find((p) => p.number === i.port);
      const protocol = (i.protocol && PROTOCOLS.has(i.protocol) ? i.protocol : known?.protocol ?? 'TCP') as Protocol;
      const parsed = i.defaultEndpoint ? parseEndpoint(i.defaultEndpoint) : undefined;
      // 0.0.0.0 in a defaultEndpoint means the instance IP (Istio); unix sockets are not supported.
      const address = !parsed ? '127.0.0.1' : parsed.address === '0.0.0.0' ? firstIp : parsed.address;
      byPort.set(i.port, { port: i.port, protocol, endpoint: { address, port: parsed?.port ?? i.port }, bindAddress: firstIp });
    }
  } else {
    for (const w of workloads) {
      for (const p of snapshot.services.get(w.hostname)?.service.ports ?? []) {
        const port = w.ports[p.name] ?? p.number;
        if (byPort.has(port)) continue;
        byPort.set(port, { port, protocol: p.protocol, endpoint: { address: '127.0.0.1', port }, bindAddress: w.address });
      }
    }
  }
  return [...byPort.values()].sort((a, b) => a.port - b.port);
}

/** `inbound|<port>||`: the cluster of the local application behind an inbound port (Istio's name). */
export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

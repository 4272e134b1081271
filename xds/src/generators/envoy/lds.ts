import { hashOf, stableStringify, type MeshSnapshot } from '@isthmus/core';
import type { XdsProxy } from '../../proxy.js';
import type { EncodedResource } from '../../resources/encoded.js';
import { listenerType } from '../../resources/listener.js';
import type { JsonObject } from '../../resources/resource-type.js';
import { LISTENER_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator } from '../generator.js';
import { outboundClusterName } from '../mesh.js';
import {
  BLACKHOLE_CLUSTER,
  inboundFilters,
  originalDstListenerFilter,
  outboundHttpFilter,
  PASSTHROUGH_CLUSTER,
  socketAddress,
  tcpProxyFilter,
  tlsInspectorListenerFilter,
  VIRTUAL_INBOUND_LISTENER,
  VIRTUAL_OUTBOUND_LISTENER,
} from './filters.js';
import {
  inboundClusterName,
  inboundPorts,
  interceptionMode,
  ownWorkloads,
  VIRTUAL_INBOUND_PORT,
  VIRTUAL_OUTBOUND_PORT,
  type InboundPort,
  type InterceptionMode,
} from './node.js';
import { outboundPlan, type OutboundPort } from './outbound.js';

/**
 * LDS for Envoy sidecars (nodes without GENERATOR=grpc), Istio's shapes:
 *
 * - REDIRECT interception (default; iptables sends outbound traffic to 15001 and inbound
 *   to 15006): `virtualOutbound` on 0.0.0.0:15001 hands each connection to the listener
 *   of its original destination port, `0.0.0.0_<port>` (address 0.0.0.0:<port>,
 *   bind_to_port false), and sends the rest to PassthroughCluster (or BlackHoleCluster
 *   under a Sidecar's REGISTRY_ONLY). `virtualInbound` on 0.0.0.0:15006 has one filter
 *   chain per inbound port (matched on the original destination port) to `inbound|<port>||`.
 * - NONE interception (metadata INTERCEPTION_MODE=NONE, no iptables): `127.0.0.1_<port>`
 *   listeners bound on loopback for outbound traffic, `<workload ip>_<port>` listeners
 *   bound on the workload's address for inbound traffic; no virtual listeners.
 *
 * Outbound listeners: HTTP/HTTP2/GRPC ports get an HttpConnectionManager with RDS
 * `<port>` (config_source ads); TLS services a filter chain each, matched on SNI; a port
 * with a single TCP service a tcp_proxy to `outbound|<port>||<host>`.
 */
export const envoyListenerGenerator: Generator = {
  typeUrl: LISTENER_TYPE_URL,
  resourceType: listenerType,
  client: 'envoy',
  inputs: ['services', 'endpoints', 'sidecars'],
  generate(ctx: GenerateContext): EncodedResource[] {
    const out: EncodedResource[] = [];
    for (const { name, key, build } of listenerPlans(ctx.snapshot, ctx.proxy)) {
      if (ctx.names && !ctx.names.has(name)) continue;
      const res = ctx.memo.get(name, key, build);
      if (res) out.push(res);
    }
    return out;
  },
};

interface ListenerPlan {
  readonly name: string;
  /** Exactly what the listener is built from. */
  readonly key: string;
  readonly build: (warn: (m: string) => void) => JsonObject;
}

export function listenerPlans(snapshot: MeshSnapshot, proxy: XdsProxy): ListenerPlan[] {
  const mode = interceptionMode(proxy);
  const plan = outboundPlan(snapshot, proxy);
  const outboundMode = plan.scope.sidecar?.outboundTrafficPolicy ?? 'ALLOW_ANY';
  const inbound = inboundPorts(snapshot, proxy, ownWorkloads(snapshot, proxy));
  const plans: ListenerPlan[] = [];
  // Outbound ports left out, reported as warnings of the listener in their way.
  const outboundNotes: string[] = [];
  const inboundNotes = new Map<number, string[]>();
  const inboundPortNumbers = new Set(inbound.map((p) => p.port));
  for (const op of plan.ports.values()) {
    if (mode === 'REDIRECT' && (op.port === VIRTUAL_OUTBOUND_PORT || op.port === VIRTUAL_INBOUND_PORT)) {
      outboundNotes.push(`no outbound listener for port ${op.port}: it is the sidecar's own interception port, services on it (${[...op.http, ...op.tls, ...(op.tcp ? [op.tcp] : [])].join(', ')}) are not reachable through the sidecar`);
      continue;
    }
    if (mode === 'NONE' && inboundPortNumbers.has(op.port)) {
      // The application itself listens on 127.0.0.1:<port>.
      inboundNotes.set(op.port, [`no outbound listener for port ${op.port}: the application listens on 127.0.0.1:${op.port} (an inbound port) in NONE interception mode`]);
      continue;
    }
    const bind = mode === 'REDIRECT' ? '0.0.0.0' : '127.0.0.1';
    const name = `${bind}_${op.port}`;
    plans.push({ name, key: hashOf({ mode, outboundMode, op }), build: (warn) => outboundListener(name, bind, op, mode, outboundMode, warn) });
  }
  if (mode === 'REDIRECT') {
    plans.push({
      name: VIRTUAL_OUTBOUND_LISTENER,
      key: `${outboundMode}|${outboundNotes.join('|')}`,
      build: (warn) => {
        for (const n of outboundNotes) warn(n);
        return {
        name: VIRTUAL_OUTBOUND_LISTENER,
        address: socketAddress('0.0.0.0', VIRTUAL_OUTBOUND_PORT),
        use_original_dst: { value: true },
        traffic_direction: 'OUTBOUND',
        filter_chains: [
          {
            name: 'virtualOutbound-catchall-tcp',
            filters: [tcpProxyFilter(outboundMode === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER)],
          },
        ],
        };
      },
    });
    if (inbound.length > 0) {
      plans.push({ name: VIRTUAL_INBOUND_LISTENER, key: stableStringify(inbound), build: () => virtualInbound(inbound) });
    }
  } else {
    for (const p of inbound) {
      const name = `${p.bindAddress}_${p.port}`;
      const notes = inboundNotes.get(p.port) ?? [];
      plans.push({
        name,
        key: `${stableStringify(p)}|${notes.join('|')}`,
        build: (warn) => {
          for (const n of notes) warn(n);
          return boundInbound(name, p);
        },
      });
    }
  }
  return plans.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function outboundListener(
  name: string,
  bind: string,
  op: OutboundPort,
  mode: InterceptionMode,
  outboundMode: 'ALLOW_ANY' | 'REGISTRY_ONLY',
  warn: (m: string) => void,
): JsonObject {
  for (const u of op.unreachable) warn(u);
  const chains: JsonObject[] = op.tls.map((host) => ({
    name: outboundClusterName(op.port, undefined, host),
    filter_chain_match: { server_names: [host], transport_protocol: 'tls' },
    filters: [tcpProxyFilter(outboundClusterName(op.port, undefined, host))],
  }));
  if (op.http.length > 0) {
    chains.push({ name: `${bind}_${op.port}`, filters: [outboundHttpFilter(String(op.port), `outbound_${bind}_${op.port}`)] });
  } else if (op.tcp) {
    chains.push({ name: outboundClusterName(op.port, undefined, op.tcp), filters: [tcpProxyFilter(outboundClusterName(op.port, undefined, op.tcp))] });
  } else if (mode === 'REDIRECT') {
    // Only TLS services on the port: other connections leave as the Sidecar allows.
    const cluster = outboundMode === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
    chains.push({ name: `${bind}_${op.port}-catchall`, filters: [tcpProxyFilter(cluster)] });
  }
  const listener: JsonObject = {
    name,
    address: socketAddress(bind, op.port),
    traffic_direction: 'OUTBOUND',
    filter_chains: chains,
  };
  if (op.tls.length > 0) listener.listener_filters = [tlsInspectorListenerFilter()];
  // Under REDIRECT the port is reached through virtualOutbound, never bound itself.
  if (mode === 'REDIRECT') listener.bind_to_port = { value: false };
  return listener;
}

function virtualInbound(ports: readonly InboundPort[]): JsonObject {
  return {
    name: VIRTUAL_INBOUND_LISTENER,
    address: socketAddress('0.0.0.0', VIRTUAL_INBOUND_PORT),
    traffic_direction: 'INBOUND',
    listener_filters: [originalDstListenerFilter()],
    filter_chains: ports.map((p) => ({
      name: inboundClusterName(p.port),
      filter_chain_match: { destination_port: { value: p.port } },
      filters: inboundFilters(inboundClusterName(p.port), p.port, p.protocol),
    })),
  };
}

function boundInbound(name: string, p: InboundPort): JsonObject {
  return {
    name,
    address: socketAddress(p.bindAddress, p.port),
    traffic_direction: 'INBOUND',
    filter_chains: [{ name: inboundClusterName(p.port), filters: inboundFilters(inboundClusterName(p.port), p.port, p.protocol) }],
  };
}

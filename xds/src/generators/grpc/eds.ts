import { isIP } from 'node:net';
import { stableStringify, type EndpointSet, type Workload } from '@isthmus/core';
import type { EncodedResource } from '../../resources/encoded.js';
import { endpointType } from '../../resources/endpoint.js';
import type { JsonObject } from '../../resources/resource-type.js';
import { ENDPOINT_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator } from '../generator.js';
import { byString, labelsMatch, type ClusterRef } from '../mesh.js';
import { clusterTargets } from './cds.js';

/**
 * EDS: a ClusterLoadAssignment for every cluster CDS sends, empty when it has no
 * endpoints (a cluster without EDS blocks a grpc-js channel for 15 s).
 */
export const grpcEndpointGenerator: Generator = {
  typeUrl: ENDPOINT_TYPE_URL,
  resourceType: endpointType,
  client: 'grpc',
  inputs: ['services', 'endpoints', 'destinations'],
  generate(ctx: GenerateContext): EncodedResource[] {
    const out: EncodedResource[] = [];
    for (const ref of clusterTargets(ctx.snapshot, ctx.names)) {
      const set = ctx.snapshot.endpoints.get(ref.host);
      const selector = ref.subset?.labels ?? {};
      const key = `${set?.version ?? '-'}|${ref.port.name}:${ref.port.number}|${stableStringify(selector)}`;
      const res = ctx.memo.get(ref.name, key, (warn) => loadAssignment(ref, set, warn));
      if (res) out.push(res);
    }
    return out;
  },
};

interface Endpoint {
  readonly workload: Workload;
  readonly port: number;
}

export function loadAssignment(ref: ClusterRef, set: EndpointSet | undefined, warn: (m: string) => void): JsonObject {
  const selector = ref.subset?.labels ?? {};
  const chosen: Endpoint[] = [];
  for (const w of set?.workloads ?? []) {
    if (!labelsMatch(w.labels, selector)) continue;
    // gRPC clients NACK the whole assignment for one host name: drop that endpoint only.
    if (isIP(w.address) === 0) {
      warn(`workload ${w.id}: address ${w.address} is not an IP literal; left out`);
      continue;
    }
    chosen.push({ workload: w, port: w.ports[ref.port.name] ?? ref.port.number });
  }
  chosen.sort(byString((e) => `${e.workload.address}|${e.port}|${e.workload.id}`));
  const seen = new Set<string>();
  const byLocality = new Map<string, Endpoint[]>();
  for (const e of chosen) {
    const addr = `${e.workload.address}|${e.port}`;
    // Both clients NACK an address listed twice (e.g. one instance reported by two sources).
    if (seen.has(addr)) {
      warn(`workload ${e.workload.id}: ${e.workload.address}:${e.port} already listed; left out`);
      continue;
    }
    seen.add(addr);
    const l = e.workload.locality;
    const key = `${l.region ?? ''}/${l.zone ?? ''}/${l.subzone ?? ''}`;
    const list = byLocality.get(key) ?? [];
    list.push(e);
    byLocality.set(key, list);
  }
  const endpoints = [...byLocality.keys()].sort().map((key) => {
    const list = byLocality.get(key) ?? [];
    const l = list[0]?.workload.locality ?? {};
    const locality: JsonObject = {};
    if (l.region) locality.region = l.region;
    if (l.zone) locality.zone = l.zone;
    if (l.subzone) locality.sub_zone = l.subzone;
    const weights = list.map((e) => Math.max(1, Math.round(e.workload.weight || 1)));
    return {
      // Always present, weight > 0: clients NACK a missing locality and drop a weightless one.
      locality,
      lb_endpoints: list.map((e, i) => ({
        endpoint: { address: { socket_address: { address: e.workload.address, port_value: e.port } } },
        health_status: e.workload.health,
        load_balancing_weight: { value: weights[i] },
      })),
      load_balancing_weight: { value: weights.reduce((s, w) => s + w, 0) },
    };
  });
  return { cluster_name: ref.name, endpoints };
}

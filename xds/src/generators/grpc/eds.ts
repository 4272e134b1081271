import { isIP } from 'node:net';
import { stableStringify, type EndpointSet, type Workload } from '@isthmus/core';
import type { EncodedResource } from '../../resources/encoded.js';
import { endpointType } from '../../resources/endpoint.js';
import type { JsonObject } from '../../resources/resource-type.js';
import { ENDPOINT_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator } from '../generator.js';
import { localityCallerKey, localityLbEndpoints, type EndpointEntry, type LocalityCaller } from '../../configurers/locality.js';
import { withOrigin } from '../../validation/provenance.js';
import { byString, labelsMatch, type ClusterRef } from '../mesh.js';
import { proxyScope } from '../scope.js';
import { clusterTargets, effectiveTrafficPolicy } from './cds.js';

/**
 * EDS: a ClusterLoadAssignment for every cluster CDS sends, empty when it has no
 * endpoints (a cluster without EDS blocks a grpc-js channel for 15 s). Locality-aware
 * balancing (DestinationRule `localityLbSetting`) makes an assignment depend on the
 * caller's locality: priorities for failover, locality weights for distribute.
 */
export const grpcEndpointGenerator: Generator = {
  typeUrl: ENDPOINT_TYPE_URL,
  resourceType: endpointType,
  client: 'grpc',
  inputs: ['services', 'endpoints', 'destinations', 'sidecars'],
  generate(ctx: GenerateContext): EncodedResource[] {
    const out: EncodedResource[] = [];
    for (const ref of clusterTargets(ctx.snapshot, ctx.names, proxyScope(ctx.snapshot, ctx.proxy).visible)) {
      const set = ctx.snapshot.endpoints.get(ref.host);
      const res = ctx.memo.get(ref.name, assignmentKey(ref, set, ctx.proxy), (warn) => loadAssignment(ref, set, warn, ctx.proxy));
      if (res) out.push(res);
    }
    return out;
  },
};

/** What loadAssignment reads: the endpoints, the cluster's port and subset, and (under a locality setting) the caller's locality. */
export function assignmentKey(ref: ClusterRef, set: EndpointSet | undefined, caller?: LocalityCaller): string {
  const selector = ref.subset?.labels ?? {};
  const base = `${set?.version ?? '-'}|${ref.port.name}:${ref.port.number}|${stableStringify(selector)}`;
  if (!caller) return base;
  const eff = effectiveTrafficPolicy(ref);
  const setting = eff.loadBalancer?.localityLbSetting;
  return `${base}|${stableStringify(setting ?? null)}|${localityCallerKey({ setting, outlierDetection: eff.outlierDetection !== undefined, caller })}`;
}

interface Endpoint {
  readonly workload: Workload;
  readonly port: number;
}

/**
 * The assignment of one cluster: the workloads its subset selects, IP literals only,
 * each address once, grouped by locality (weights summed). With `caller`, the
 * DestinationRule's locality setting applies as that caller sees it (see locality.ts).
 */
export function loadAssignment(ref: ClusterRef, set: EndpointSet | undefined, warn: (m: string) => void, caller?: LocalityCaller): JsonObject {
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
  const entries: EndpointEntry[] = [];
  for (const e of chosen) {
    const addr = `${e.workload.address}|${e.port}`;
    // Both clients NACK an address listed twice (e.g. one instance reported by two sources).
    if (seen.has(addr)) {
      warn(`workload ${e.workload.id}: ${e.workload.address}:${e.port} already listed; left out`);
      continue;
    }
    seen.add(addr);
    const weight = Math.max(1, Math.round(e.workload.weight || 1));
    entries.push({
      workload: e.workload,
      weight,
      lbEndpoint: {
        endpoint: { address: { socket_address: { address: e.workload.address, port_value: e.port } } },
        health_status: e.workload.health,
        load_balancing_weight: { value: weight },
      },
    });
  }
  const eff = caller ? effectiveTrafficPolicy(ref) : undefined;
  const endpoints = localityLbEndpoints(entries, {
    ...(eff?.loadBalancer?.localityLbSetting ? { setting: eff.loadBalancer.localityLbSetting } : {}),
    outlierDetection: eff?.outlierDetection !== undefined,
    caller: caller ?? { locality: {}, labels: {} },
  });
  const assignment = { cluster_name: ref.name, endpoints };
  return ref.policy && eff?.loadBalancer?.localityLbSetting ? withOrigin(assignment, ref.policy.origin) : assignment;
}

import { isIP } from 'node:net';
import { stableStringify, type EndpointSet, type Workload } from '@isthmus/core';
import type { EncodedResource } from '../../resources/encoded.js';
import { endpointType } from '../../resources/endpoint.js';
import type { ClientKind, JsonObject } from '../../resources/resource-type.js';
import { ENDPOINT_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator } from '../generator.js';
import { localityCallerKey, localityLbEndpoints, type EndpointEntry, type LocalityCaller } from '../../configurers/locality.js';
import { withOrigin } from '../../validation/provenance.js';
import { labelsMatch, sortByKey, type ClusterRef } from '../mesh.js';
import { proxyScope } from '../scope.js';
import { clusterDependencies, clusterTarget, clusterTargets, effectiveTrafficPolicy } from './cds.js';

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
    const scope = proxyScope(ctx.snapshot, ctx.proxy);
    const one = (ref: ClusterRef, caller: LocalityCaller | undefined) => {
      const set = ctx.snapshot.endpoints.get(ref.host);
      return ctx.memo.get(ref.name, assignmentKey(ref, set, caller), (warn) => loadAssignment(ref, set, warn, caller, 'grpc'));
    };
    if (ctx.names) {
      const out: EncodedResource[] = [];
      const targets = scope.memo('grpc-eds', () => new Map<string, EdsTarget | null>());
      for (const name of ctx.names) {
        // Without a locality setting an assignment is the same for every caller: built once
        // per scope; with one it depends on the caller's locality and is looked up per proxy.
        let target = targets.get(name);
        if (target === undefined) {
          const ref = clusterTarget(ctx.snapshot, name, scope.visible);
          const blind = !!ref && localityBlind(ref);
          target = ref ? { ref, blind, shared: blind ? one(ref, undefined) : undefined } : null;
          targets.set(name, target);
        }
        const res = target && (target.blind ? target.shared : one(target.ref, ctx.proxy));
        if (res) out.push(res);
      }
      return out;
    }
    return clusterTargets(ctx.snapshot, undefined, scope.visible).flatMap((ref) => one(ref, localityBlind(ref) ? undefined : ctx.proxy) ?? []);
  },
  dependencies: (_snapshot, name) => clusterDependencies(name),
};

/** A subscribed name's cluster in one scope, and its assignment when that is the same for every caller. */
interface EdsTarget {
  readonly ref: ClusterRef;
  readonly blind: boolean;
  readonly shared: EncodedResource | undefined;
}

/** No locality setting applies to the cluster: its assignment is the same for every caller. */
function localityBlind(ref: ClusterRef): boolean {
  const setting = effectiveTrafficPolicy(ref).loadBalancer?.localityLbSetting;
  return !setting || setting.enabled === false;
}

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
 * For gRPC clients an endpoint's default fields are left out (compactLbEndpoint).
 */
export function loadAssignment(
  ref: ClusterRef,
  set: EndpointSet | undefined,
  warn: (m: string) => void,
  caller?: LocalityCaller,
  client: ClientKind = 'envoy',
): JsonObject {
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
  sortByKey(chosen, (e) => `${e.workload.address}|${e.port}|${e.workload.id}`);
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
    const lbEndpoint: JsonObject = {
      endpoint: { address: { socket_address: { address: e.workload.address, port_value: e.port } } },
      health_status: e.workload.health,
      load_balancing_weight: { value: weight },
    };
    entries.push({ workload: e.workload, weight, lbEndpoint: client === 'grpc' ? compactLbEndpoint(lbEndpoint) : lbEndpoint });
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

/**
 * An LbEndpoint without the fields gRPC clients default the same way: `health_status`
 * HEALTHY (absent is UNKNOWN, which grpc-js and C-core use like HEALTHY) and
 * `load_balancing_weight` 1 (absent is 1 in both). 6 of the ≈ 30 bytes of an endpoint,
 * on every push of its assignment (docs/performance.md, "What an endpoint change costs on
 * the wire"). Both decode with defaults, so grpc-js's "resource unchanged" check still
 * sees a later change of either field (XDS-INTEROP: it misses only keys absent from the
 * old copy). Envoy sidecars keep the explicit fields (their output is unchanged; only
 * the proxyless clients' defaults were checked, XDS-INTEROP).
 */
export function compactLbEndpoint(lb: JsonObject): JsonObject {
  const { health_status: health, load_balancing_weight: weight, ...rest } = lb;
  return {
    ...rest,
    ...(health !== 'HEALTHY' ? { health_status: health } : {}),
    ...((weight as { value?: number } | undefined)?.value !== 1 ? { load_balancing_weight: weight } : {}),
  };
}
import { contentHash, stableStringify, type FaultPolicy, type RetryPolicy, type StringMatch } from '@isthmus/core';
import type { JsonObject } from '../resources/resource-type.js';
import { FAULT_FILTER_NAME, FAULT_TYPE_URL } from '../resources/type-urls.js';
import { durationFromMs, fractionalPercent } from './common.js';

/** Every route needs a path specifier (both clients NACK without): `prefix: "/"` when the rule has none. */
export function pathMatch(uri: StringMatch | undefined, ignoreCase = false): JsonObject {
  const match: JsonObject =
    uri === undefined
      ? { prefix: '/' }
      : 'exact' in uri
        ? { path: uri.exact }
        : 'prefix' in uri
          ? { prefix: uri.prefix }
          : { safe_regex: { regex: uri.regex } };
  if (ignoreCase) match.case_sensitive = { value: false };
  return match;
}

/**
 * A header matcher in the pre-`string_match` form (C-core 1.51 NACKs `string_match`),
 * with the name lowercased (C-core never matches a mixed-case name).
 */
export function headerMatcher(name: string, match: StringMatch, invert = false): JsonObject {
  const m: JsonObject = { name: name.toLowerCase() };
  if ('exact' in match) m.exact_match = match.exact;
  else if ('prefix' in match) m.prefix_match = match.prefix;
  else m.safe_regex_match = { regex: match.regex };
  if (invert) m.invert_match = true;
  return m;
}

/**
 * Integer percentages that add up to exactly 100 (C-core's default total_weight), by
 * largest remainder; ties go to the earlier entry so the result is deterministic.
 */
export function normalizeWeights(weights: readonly number[]): number[] {
  const total = weights.reduce((s, w) => s + Math.max(0, w), 0);
  if (total <= 0) return weights.map(() => 0);
  const exact = weights.map((w) => (Math.max(0, w) * 100) / total);
  const floors = exact.map(Math.floor);
  let missing = 100 - floors.reduce((s, w) => s + w, 0);
  const order = exact.map((e, i) => ({ i, rest: e - Math.floor(e) })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (missing <= 0) break;
    floors[i] = (floors[i] ?? 0) + 1;
    missing--;
  }
  return floors;
}

/** `cluster` for one destination, else weighted_clusters adding up to exactly total_weight 100. */
export function clusterSpecifier(clusters: readonly { name: string; weight: number }[]): JsonObject {
  const first = clusters[0];
  if (clusters.length === 1 && first) return { cluster: first.name };
  const weights = normalizeWeights(clusters.map((c) => c.weight));
  return {
    weighted_clusters: {
      clusters: clusters.map((c, i) => ({ name: c.name, weight: { value: weights[i] ?? 0 } })),
      total_weight: { value: 100 },
    },
  };
}

/** gRPC reads the route timeout from max_stream_duration, not route.timeout (A31). */
export function maxStreamDuration(timeoutMs: number): JsonObject {
  const d = durationFromMs(timeoutMs);
  return { max_stream_duration: d, grpc_timeout_header_max: d };
}

/** Default retry conditions, as Istio sends them; gRPC clients keep the status-code ones. */
export const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';

/** A retry_policy, or undefined for "no retries": grpc-js NACKs num_retries 0. */
export function retryPolicy(retries: RetryPolicy | undefined): JsonObject | undefined {
  if (!retries || retries.attempts <= 0) return undefined;
  const policy: JsonObject = {
    retry_on: retries.retryOn ?? DEFAULT_RETRY_ON,
    num_retries: { value: retries.attempts },
  };
  if (retries.perTryTimeoutMs && retries.perTryTimeoutMs > 0) policy.per_try_timeout = durationFromMs(retries.perTryTimeoutMs);
  return policy;
}

/** An HTTPFault override for one route (delay and/or abort). */
export function faultConfig(fault: FaultPolicy): JsonObject {
  const config: JsonObject = { '@type': FAULT_TYPE_URL };
  if (fault.delay) {
    config.delay = {
      fixed_delay: durationFromMs(fault.delay.fixedDelayMs),
      percentage: fractionalPercent(fault.delay.percentage.value),
    };
  }
  if (fault.abort) {
    const abort: JsonObject = { percentage: fractionalPercent(fault.abort.percentage.value) };
    if (fault.abort.grpcStatus !== undefined) abort.grpc_status = fault.abort.grpcStatus;
    else abort.http_status = fault.abort.httpStatus ?? 503;
    config.abort = abort;
  }
  return config;
}

/** Attaches a route's fault override under the fault filter's name. */
export function withFault(route: JsonObject, fault: FaultPolicy | undefined): JsonObject {
  if (!fault || (!fault.delay && !fault.abort)) return route;
  return { ...route, typed_per_filter_config: { [FAULT_FILTER_NAME]: faultConfig(fault) } };
}

/**
 * Names a route `<name>#<content hash>`. grpc-js compares resources only over the keys the
 * old copy had, so a change that adds a nested field (a fault override) would go unseen;
 * a name that changes with the content makes every change visible (XDS-INTEROP).
 */
export function withContentName(route: JsonObject, name: string): JsonObject {
  const { name: _old, ...rest } = route;
  return { name: `${name}#${contentHash(stableStringify(rest)).slice(0, 8)}`, ...rest };
}

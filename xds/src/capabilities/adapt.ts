import type {
  ConnectionPoolPolicy,
  EffectiveTrafficPolicy,
  HashKey,
  HttpRoute,
  LocalityLbSetting,
  OutlierDetectionPolicy,
  PolicySource,
  RetryPolicy,
} from '@isthmus/core';
import { supports, type ClientProfile, type Feature } from './profiles.js';

/**
 * A rule part one kind of client does not enforce as written:
 * - `left-out`: not in that client's config at all (counted in `isthmus_xds_unenforced_rules`);
 * - `approximated`: translated into the closest thing the client has (documented
 *   product decisions, e.g. outlier detection for gRPC), reported so nobody is surprised.
 */
export interface Unenforced {
  /** Config key of the rule: `VirtualService/default/reviews`. */
  readonly origin: string;
  /** Field in it: `spec.http[1].mirror`. */
  readonly path: string;
  /** The Istio field, a small fixed set (metric label): `mirror`, `retries.perTryTimeout`, `loadBalancer.consistentHash`. */
  readonly kind: string;
  readonly level: 'left-out' | 'approximated';
  /** What happens instead. */
  readonly message: string;
}

export type ReportUnenforced = (u: Unenforced) => void;

export const ignoreUnenforced: ReportUnenforced = () => undefined;

/** `VirtualService/default/reviews spec.http[1].mirror: not enforced on proxyless gRPC (grpc-js): <message>` */
export function formatUnenforced(u: Unenforced, profile: ClientProfile): string {
  const verb = u.level === 'left-out' ? 'not enforced on' : 'approximated on';
  return `${u.origin} ${u.path}: ${verb} ${profile.name}: ${u.message}`;
}

/** Retry conditions gRPC clients implement (gRPC A44): the status codes. */
export const GRPC_RETRY_ON: ReadonlySet<string> = new Set(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The route as `profile` can take it, or undefined when the whole rule must be left out
 * for it (a redirect or direct response for gRPC: grpc-js NACKs the route configuration,
 * C-core fails the calls). Everything removed is reported.
 */
export function adaptRoute(route: HttpRoute, profile: ClientProfile, report: ReportUnenforced): HttpRoute | undefined {
  const base = route.path ?? 'spec.http';
  const left = (kind: string, field: string, message: string): void =>
    report({ origin: route.origin, path: field === '' ? base : `${base}.${field}`, kind, level: 'left-out', message });

  if (route.redirect && !supports(profile, 'redirect')) {
    left('redirect', 'redirect', 'gRPC clients cannot follow a redirect; the rule is left out, so its calls fall through to the next rule that matches');
    return undefined;
  }
  if (route.directResponse && !supports(profile, 'directResponse')) {
    left('directResponse', 'directResponse', 'gRPC clients cannot answer a call themselves; the rule is left out, so its calls fall through to the next rule that matches');
    return undefined;
  }
  const out: Mutable<HttpRoute> = { ...route };
  if (out.rewrite && !supports(profile, 'rewrite')) {
    left('rewrite', 'rewrite', 'gRPC clients do not rewrite the method path or authority; calls keep theirs');
    delete out.rewrite;
  }
  if (!supports(profile, 'headers')) {
    if (out.headers) {
      left('headers', 'headers', 'gRPC clients do not add, set or remove headers from routing rules');
      delete out.headers;
    }
    if (out.destinations.some((d) => d.headers)) {
      out.destinations.forEach((d, i) => {
        if (d.headers) left('headers', `route[${i}].headers`, 'gRPC clients do not add, set or remove headers from routing rules');
      });
      out.destinations = out.destinations.map(({ headers: _h, ...d }) => d);
    }
  }
  if (out.mirrors && !supports(profile, 'mirror')) {
    left('mirror', 'mirror', 'gRPC clients cannot mirror calls; nothing is mirrored from them');
    delete out.mirrors;
  }
  if (out.corsPolicy && !supports(profile, 'corsPolicy')) {
    left('corsPolicy', 'corsPolicy', 'CORS is a browser concern a gRPC client has no part in');
    delete out.corsPolicy;
  }
  if (out.timeoutMs !== undefined && out.timeoutMs > 0 && out.timeoutMs < profile.minTimeoutMs && !supports(profile, 'shortTimeout')) {
    left(
      'timeout',
      'timeout',
      `this client fails every call at once under a route timeout this short (${out.timeoutMs}ms); the timeout is left out (${profile.minTimeoutMs}ms and more are sent)`,
    );
    delete out.timeoutMs;
  }
  if (out.retries && out.retries.attempts > 0) {
    const retries = adaptRetries(out.retries, profile, left);
    if (retries) out.retries = retries;
    else delete out.retries;
  }
  return out;
}

function adaptRetries(r: RetryPolicy, profile: ClientProfile, left: (kind: string, field: string, message: string) => void): RetryPolicy | undefined {
  const out: Mutable<RetryPolicy> = { ...r };
  if (out.retryOn !== undefined && !supports(profile, 'retryOnHttp')) {
    const tokens = out.retryOn.split(',');
    const kept = tokens.filter((t) => GRPC_RETRY_ON.has(t));
    const dropped = tokens.filter((t) => !GRPC_RETRY_ON.has(t));
    if (kept.length === 0) {
      left('retries.retryOn', 'retries.retryOn', `none of the conditions "${out.retryOn}" is a gRPC status (${[...GRPC_RETRY_ON].join(', ')}); calls are not retried`);
      return undefined;
    }
    if (dropped.length > 0) {
      const what = dropped.length === 1 ? `condition ${dropped[0]} is not a gRPC status` : `conditions ${dropped.join(', ')} are not gRPC statuses`;
      left('retries.retryOn', 'retries.retryOn', `${what}; calls are retried on ${kept.join(', ')} only`);
      out.retryOn = kept.join(',');
    }
  }
  if (out.perTryTimeoutMs !== undefined && !supports(profile, 'perTryTimeout')) {
    left('retries.perTryTimeout', 'retries.perTryTimeout', 'gRPC clients have no per-attempt timeout; the route timeout bounds all attempts together');
    delete out.perTryTimeoutMs;
  }
  if (out.retryRemoteLocalities && !supports(profile, 'retryRemoteLocalities')) {
    left('retries.retryRemoteLocalities', 'retries.retryRemoteLocalities', 'gRPC clients retry within the load-balancing policy, without preferring other localities');
    delete out.retryRemoteLocalities;
  }
  return out;
}

/** A consistent-hash key as one client computes it: gRPC's stand-in for the source IP is its channel. */
export type ClientHashKey = HashKey | { readonly channelId: true };

/** PASSTHROUGH: an original-destination cluster (Envoy only). */
export type LbPolicyName = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'PASSTHROUGH';

/** The DestinationRule policy of one cluster, as one kind of client can take it. */
export interface ClusterPolicy {
  readonly lbPolicy: LbPolicyName;
  readonly minimumRingSize?: number;
  readonly maglevTableSize?: number;
  /** What routes to this cluster hash on (RING_HASH / MAGLEV only). */
  readonly hash?: ClientHashKey;
  readonly warmupMs?: number;
  /** Locality-aware balancing; absent when off (`enabled: false`). */
  readonly locality?: LocalityLbSetting;
  readonly connectionPool?: ConnectionPoolPolicy;
  readonly outlierDetection?: OutlierDetectionPolicy;
}

/** Compiled connection-pool field → the Istio field it came from and the feature it needs. */
const POOL_FIELDS: readonly [keyof ConnectionPoolPolicy, string, Feature][] = [
  ['maxConnections', 'tcp.maxConnections', 'maxConnections'],
  ['connectTimeoutMs', 'tcp.connectTimeout', 'connectTimeout'],
  ['tcpKeepalive', 'tcp.tcpKeepalive', 'tcpKeepalive'],
  ['maxConnectionDurationMs', 'tcp.maxConnectionDuration', 'httpProtocolOptions'],
  ['maxPendingRequests', 'http.http1MaxPendingRequests', 'maxPendingRequests'],
  ['maxRequests', 'http.http2MaxRequests', 'maxRequests'],
  ['maxRequestsPerConnection', 'http.maxRequestsPerConnection', 'httpProtocolOptions'],
  ['maxRetries', 'http.maxRetries', 'maxRetries'],
  ['idleTimeoutMs', 'http.idleTimeout', 'httpProtocolOptions'],
  ['maxConcurrentStreams', 'http.maxConcurrentStreams', 'httpProtocolOptions'],
  ['h2UpgradePolicy', 'http.h2UpgradePolicy', 'httpProtocolOptions'],
  ['useClientProtocol', 'http.useClientProtocol', 'httpProtocolOptions'],
];

const POOL_REASONS: Partial<Record<Feature, string>> = {
  maxConnections: 'gRPC clients keep one connection per endpoint and have no connection limit',
  connectTimeout: 'gRPC clients use their own connection back-off, not a connect timeout from the control plane',
  tcpKeepalive: 'gRPC clients configure keepalive in the application (channel options), not from xDS',
  maxPendingRequests: 'gRPC clients queue calls in the channel and enforce only max_requests',
  maxRetries: 'gRPC clients enforce only max_requests from the circuit breaker thresholds',
  httpProtocolOptions: 'gRPC clients take no HTTP protocol options from the control plane',
};

function hashFeature(key: HashKey): Feature {
  if ('header' in key) return 'hashHeader';
  if ('cookie' in key) return 'hashCookie';
  if ('sourceIp' in key) return 'hashSourceIp';
  return 'hashQueryParameter';
}

function hashKeyField(key: HashKey): string {
  if ('header' in key) return 'httpHeaderName';
  if ('cookie' in key) return 'httpCookie';
  if ('sourceIp' in key) return 'useSourceIp';
  return 'httpQueryParameterName';
}

/**
 * The effective DestinationRule policy of a cluster (see core's effectiveTrafficPolicy)
 * as `profile` can take it. Unsupported load balancers fall back to ROUND_ROBIN (the
 * default every client has); unsupported pool, outlier and locality fields are left out.
 */
export function clusterPolicy(eff: EffectiveTrafficPolicy, profile: ClientProfile, report: ReportUnenforced): ClusterPolicy {
  const at = (src: PolicySource | undefined, field: string): { origin: string; path: string } => ({
    origin: src?.origin ?? '',
    path: src ? `${src.path}${field ? `.${field}` : ''}` : field,
  });
  const left = (src: PolicySource | undefined, field: string, kind: string, message: string): void =>
    report({ ...at(src, field), kind, level: 'left-out', message });
  const approx = (src: PolicySource | undefined, field: string, kind: string, message: string): void =>
    report({ ...at(src, field), kind, level: 'approximated', message });

  const out: Mutable<ClusterPolicy> = { lbPolicy: 'ROUND_ROBIN' };
  const lb = eff.loadBalancer;
  const lbSrc = eff.sources.loadBalancer;
  if (lb?.consistentHash) {
    const ch = lb.consistentHash;
    let algorithm: 'RING_HASH' | 'MAGLEV' = ch.algorithm;
    let key: ClientHashKey | undefined = ch.key;
    const keyFeature = hashFeature(ch.key);
    if (!supports(profile, 'ringHash')) {
      left(lbSrc, 'consistentHash', 'loadBalancer.consistentHash', 'this client crashes on RING_HASH clusters (C-core 1.51: SIGSEGV); ROUND_ROBIN is used, without session affinity');
      key = undefined;
    } else if (!supports(profile, keyFeature)) {
      left(lbSrc, `consistentHash.${hashKeyField(ch.key)}`, 'loadBalancer.consistentHash', `gRPC clients cannot hash on ${'cookie' in ch.key ? 'cookies' : 'query parameters'}; ROUND_ROBIN is used, without session affinity`);
      key = undefined;
    } else if ('sourceIp' in ch.key && profile.sourceIpHash === 'channel') {
      approx(lbSrc, 'consistentHash.useSourceIp', 'loadBalancer.consistentHash', 'a gRPC client hashes on its channel (io.grpc.channel_id): every call of one client channel goes to the same endpoint');
      key = { channelId: true };
    }
    if (key) {
      if (algorithm === 'MAGLEV' && profile.maglevAs === 'RING_HASH') {
        approx(lbSrc, 'consistentHash.maglev', 'loadBalancer.consistentHash', 'gRPC has no Maglev; a hash ring gives the same affinity');
        algorithm = 'RING_HASH';
      }
      out.lbPolicy = algorithm;
      out.hash = key;
      if (algorithm === 'RING_HASH' && ch.minimumRingSize !== undefined) out.minimumRingSize = ch.minimumRingSize;
      if (algorithm === 'MAGLEV' && ch.maglevTableSize !== undefined) out.maglevTableSize = ch.maglevTableSize;
    }
  } else if (lb?.simple && lb.simple !== 'ROUND_ROBIN') {
    const feature: Feature = lb.simple === 'LEAST_REQUEST' ? 'leastRequest' : lb.simple === 'RANDOM' ? 'random' : 'passthrough';
    if (supports(profile, feature)) out.lbPolicy = lb.simple as LbPolicyName;
    else {
      const why =
        feature === 'passthrough'
          ? 'gRPC clients take EDS clusters only, not original-destination ones'
          : `gRPC clients implement ROUND_ROBIN and RING_HASH only (${lb.simple} is NACKed)`;
      left(lbSrc, 'simple', 'loadBalancer.simple', `${why}; ROUND_ROBIN is used`);
    }
  }
  if (lb?.warmupMs !== undefined) {
    if (!supports(profile, 'warmup')) left(lbSrc, 'warmup', 'loadBalancer.warmup', 'gRPC clients send new endpoints their full share at once');
    else if (out.lbPolicy !== 'ROUND_ROBIN' && out.lbPolicy !== 'LEAST_REQUEST') {
      left(lbSrc, 'warmup', 'loadBalancer.warmup', `slow start applies to ROUND_ROBIN and LEAST_REQUEST only, not ${out.lbPolicy}`);
    } else out.warmupMs = lb.warmupMs;
  }
  if (lb?.localityLbSetting && lb.localityLbSetting.enabled !== false) out.locality = lb.localityLbSetting;

  const pool = eff.connectionPool;
  if (pool) {
    const kept: Record<string, unknown> = {};
    for (const [field, istio, feature] of POOL_FIELDS) {
      if (pool[field] === undefined) continue;
      if (supports(profile, feature)) kept[field] = pool[field];
      else left(eff.sources.connectionPool, istio, `connectionPool.${istio}`, POOL_REASONS[feature] ?? 'not supported by this client');
    }
    if (Object.keys(kept).length > 0) out.connectionPool = kept as ConnectionPoolPolicy;
  }

  const od = eff.outlierDetection;
  if (od) {
    const src = eff.sources.outlierDetection;
    const kept: Mutable<OutlierDetectionPolicy> = { ...od };
    if ((od.consecutiveLocalOriginFailures !== undefined || od.splitExternalLocalOriginErrors) && !supports(profile, 'outlierLocalOrigin')) {
      left(src, od.consecutiveLocalOriginFailures !== undefined ? 'consecutiveLocalOriginFailures' : 'splitExternalLocalOriginErrors', 'outlierDetection.localOrigin', 'gRPC clients do not tell local-origin failures apart');
      delete kept.consecutiveLocalOriginFailures;
      delete kept.splitExternalLocalOriginErrors;
    }
    if (od.minHealthPercent !== undefined && !supports(profile, 'minHealthPercent')) {
      left(src, 'minHealthPercent', 'outlierDetection.minHealthPercent', 'gRPC clients have no panic threshold');
      delete kept.minHealthPercent;
    }
    if (profile.outlierDetection === 'failure-percentage') {
      const n = failurePercentageVolume(kept);
      if (n === undefined) {
        left(src, '', 'outlierDetection', 'consecutive5xxErrors and consecutiveGatewayErrors are both 0 (ejection off): gRPC clients get no outlier detection');
      } else {
        approx(
          src,
          '',
          'outlierDetection',
          `gRPC implements failure-percentage ejection, not consecutive errors: an endpoint is ejected when more than ${FAILURE_PERCENTAGE_THRESHOLD}% of at least ${n} calls in one interval fail (any non-OK status counts)`,
        );
      }
    }
    out.outlierDetection = kept;
  }
  return out;
}

/** gRPC ejects when the failure percentage is strictly greater than the threshold (A50, grpc-js). */
export const FAILURE_PERCENTAGE_THRESHOLD = 99;

/** Envoy's default for consecutive_5xx, which applies when a DestinationRule sets none. */
export const ENVOY_DEFAULT_CONSECUTIVE_5XX = 5;

/**
 * The request volume N of the failure-percentage stand-in for "N consecutive errors": the
 * smaller positive one of consecutive5xxErrors (Envoy's default 5 when unset, as Istio
 * leaves it) and consecutiveGatewayErrors; undefined when the rule turned ejection off (0).
 */
export function failurePercentageVolume(od: OutlierDetectionPolicy): number | undefined {
  const values = [od.consecutive5xxErrors ?? ENVOY_DEFAULT_CONSECUTIVE_5XX, od.consecutiveGatewayErrors ?? 0];
  const positive = values.filter((v) => v > 0);
  return positive.length > 0 ? Math.min(...positive) : undefined;
}

/**
 * The rules engine's output: Istio routing objects resolved against the service model
 * (short host names expanded to FQDNs, subsets checked, weights normalised) in a form the
 * xDS generators translate without knowing Istio's object shapes.
 */

/** One string condition; exactly one field is set. Regexes are RE2 syntax. */
export type StringMatch = { exact: string } | { prefix: string } | { regex: string };

export interface HttpRequestMatch {
  /** Match on the path (`:path`), e.g. `{ prefix: '/helloworld.Greeter/' }`. */
  readonly uri?: StringMatch;
  readonly method?: StringMatch;
  readonly authority?: StringMatch;
  /** Header name (lowercase) → condition. */
  readonly headers: Readonly<Record<string, StringMatch>>;
  /** Headers that must NOT match. */
  readonly withoutHeaders: Readonly<Record<string, StringMatch>>;
  readonly queryParams: Readonly<Record<string, StringMatch>>;
  /** Only apply to callers whose workload labels include these. */
  readonly sourceLabels?: Readonly<Record<string, string>>;
  readonly sourceNamespace?: string;
  /** Only apply to traffic on this service port. */
  readonly port?: number;
  readonly ignoreUriCase?: boolean;
}

/**
 * Header edits (Istio `Headers.HeaderOperations`): `set` overwrites, `add` appends, `remove`
 * deletes. Names are lowercase. Example: `{ set: { 'x-mesh': 'isthmus' }, remove: ['x-debug'] }`.
 */
export interface HeaderOperations {
  readonly set?: Readonly<Record<string, string>>;
  readonly add?: Readonly<Record<string, string>>;
  readonly remove?: readonly string[];
}

/** Edits of the request on its way to the destination and of the response on its way back. */
export interface HeaderManipulation {
  readonly request?: HeaderOperations;
  readonly response?: HeaderOperations;
}

export interface WeightedDestination {
  /** FQDN of the destination service. */
  readonly host: string;
  readonly subset?: string;
  /** Destination port; absent when the service has a single port. */
  readonly port?: number;
  /** Percent of traffic; the weights of one route add up to 100. */
  readonly weight: number;
  /** Header edits only for the traffic sent to this destination. */
  readonly headers?: HeaderManipulation;
}

export interface Percent {
  /** 0–100, fractional allowed. */
  readonly value: number;
}

export interface FaultPolicy {
  readonly delay?: { readonly fixedDelayMs: number; readonly percentage: Percent };
  readonly abort?: {
    readonly httpStatus?: number;
    readonly grpcStatus?: number;
    readonly percentage: Percent;
  };
}

export interface RetryPolicy {
  /** Retries after the first attempt; 0 means retries are off. */
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  /** Comma-separated Envoy/gRPC retry conditions, e.g. `unavailable,5xx`; HTTP status codes allowed (`503`). */
  readonly retryOn?: string;
  /** Prefer endpoints in other localities for retries (Envoy `previous_priorities`). */
  readonly retryRemoteLocalities?: boolean;
  /** False: a retry may go to an endpoint that already failed (Istio's default is true). */
  readonly retryIgnorePreviousHosts?: boolean;
  /** Base interval of the exponential back-off between retries. */
  readonly backoffMs?: number;
}

/** A redirect answered by the proxy itself (HTTP 3xx). Unset parts keep the request's. */
export interface HttpRedirect {
  readonly uri?: string;
  readonly authority?: string;
  readonly port?: number;
  /** Istio's `derivePort`: the port of the scheme (80/443) or of the request. */
  readonly derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  readonly scheme?: string;
  /** 301 (Istio's default), 302, 303, 307 or 308. */
  readonly redirectCode: number;
}

/** A response the proxy sends itself, e.g. `{ status: 503, body: { string: 'maintenance' } }`. */
export interface DirectResponse {
  readonly status: number;
  /** Inline text, or base64 bytes as written in the VirtualService. */
  readonly body?: { readonly string: string } | { readonly bytes: string };
}

export interface HttpRewrite {
  /** Replaces the matched path prefix (or the whole path for an exact or regex match). */
  readonly uri?: string;
  /** RE2 rewrite of the path: every match of `match` becomes `rewrite` (`\\1` groups allowed). */
  readonly uriRegex?: { readonly match: string; readonly rewrite: string };
  /** New `:authority` / Host. */
  readonly authority?: string;
}

/** A copy of the traffic sent, fire-and-forget, to another destination. */
export interface MirrorPolicy {
  readonly host: string;
  readonly subset?: string;
  readonly port?: number;
  /** Share of requests mirrored; 100 when the rule does not say. */
  readonly percentage: Percent;
}

/** Cross-origin resource sharing answered by the proxy (Istio `CorsPolicy`). */
export interface CorsPolicy {
  readonly allowOrigins: readonly StringMatch[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds?: number;
  readonly allowCredentials?: boolean;
  /** What to do with a preflight whose origin does not match: pass it on, or answer it. */
  readonly unmatchedPreflights?: 'FORWARD' | 'IGNORE';
}

/**
 * One `http` rule of a VirtualService. Its action is exactly one of: `destinations`
 * (non-empty: forward), `redirect`, or `directResponse` (then `destinations` is empty).
 */
export interface HttpRoute {
  /** Stable name: `<VirtualService key>#<http index>` or the rule's own `name`. */
  readonly name: string;
  /** Alternatives (OR); an empty list matches every request. */
  readonly matches: readonly HttpRequestMatch[];
  readonly destinations: readonly WeightedDestination[];
  readonly redirect?: HttpRedirect;
  readonly directResponse?: DirectResponse;
  readonly rewrite?: HttpRewrite;
  /** Header edits for every destination of the route. */
  readonly headers?: HeaderManipulation;
  readonly mirrors?: readonly MirrorPolicy[];
  readonly corsPolicy?: CorsPolicy;
  readonly timeoutMs?: number;
  readonly retries?: RetryPolicy;
  readonly fault?: FaultPolicy;
  /** Config key of the object this route came from, for warnings and debugging. */
  readonly origin: string;
  /** Where in that object: `spec.http[2]`. */
  readonly path?: string;
}

/**
 * The routes for one destination host, in evaluation order, from the VirtualService(s)
 * bound to it. `version` is a content hash of everything in it.
 */
export interface RouteTable {
  readonly host: string;
  readonly routes: readonly HttpRoute[];
  readonly origins: readonly string[];
  readonly version: string;
}

export type LoadBalancerKind = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'PASSTHROUGH';

/** What a consistent hash is computed from (exactly one). */
export type HashKey =
  | { readonly header: string }
  | { readonly cookie: { readonly name: string; readonly path?: string; readonly ttlMs?: number } }
  | { readonly sourceIp: true }
  | { readonly queryParameter: string };

/** DestinationRule `loadBalancer.consistentHash`: session affinity by `key`. */
export interface ConsistentHash {
  readonly key: HashKey;
  /** Ring hash (Istio's default) or Maglev. */
  readonly algorithm: 'RING_HASH' | 'MAGLEV';
  readonly minimumRingSize?: number;
  readonly maglevTableSize?: number;
}

/**
 * Locality-aware load balancing (Istio `LocalityLoadBalancerSetting`). Localities are
 * written `region/zone/subzone`, `*` allowed as the last part.
 */
export interface LocalityLbSetting {
  /** False turns locality-aware balancing off for the destination. */
  readonly enabled?: boolean;
  /** From the caller's locality `from`, the share of traffic (percent) each `to` locality gets. */
  readonly distribute?: readonly { readonly from: string; readonly to: Readonly<Record<string, number>> }[];
  /** When every endpoint of region `from` is unhealthy, go to region `to` before the others. */
  readonly failover?: readonly { readonly from: string; readonly to: string }[];
  /** Labels (in order) whose equality with the caller's decides failover priority. */
  readonly failoverPriority?: readonly string[];
}

export interface LoadBalancerPolicy {
  readonly simple?: LoadBalancerKind;
  readonly consistentHash?: ConsistentHash;
  readonly localityLbSetting?: LocalityLbSetting;
  /** Ramp new endpoints up over this window (Envoy slow start). */
  readonly warmupMs?: number;
}

export interface ConnectionPoolPolicy {
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
  readonly tcpKeepalive?: { readonly probes?: number; readonly timeMs?: number; readonly intervalMs?: number };
  readonly maxConnectionDurationMs?: number;
  /** http1MaxPendingRequests */
  readonly maxPendingRequests?: number;
  /** http2MaxRequests */
  readonly maxRequests?: number;
  readonly maxRequestsPerConnection?: number;
  readonly maxRetries?: number;
  readonly idleTimeoutMs?: number;
  readonly maxConcurrentStreams?: number;
  /** `UPGRADE`: speak HTTP/2 to HTTP/1.1 destinations; `DO_NOT_UPGRADE`: never. */
  readonly h2UpgradePolicy?: 'UPGRADE' | 'DO_NOT_UPGRADE';
  /** Speak to the destination in the protocol the caller used. */
  readonly useClientProtocol?: boolean;
}

export interface OutlierDetectionPolicy {
  readonly consecutive5xxErrors?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly consecutiveLocalOriginFailures?: number;
  readonly splitExternalLocalOriginErrors?: boolean;
  readonly intervalMs?: number;
  readonly baseEjectionTimeMs?: number;
  readonly maxEjectionPercent?: number;
  /** Below this share of healthy endpoints, ejection stops (Envoy's panic threshold). */
  readonly minHealthPercent?: number;
}

/** The parts of a traffic policy that a port-level setting can override. */
export interface TrafficPolicySections {
  readonly loadBalancer?: LoadBalancerPolicy;
  readonly connectionPool?: ConnectionPoolPolicy;
  readonly outlierDetection?: OutlierDetectionPolicy;
}

/** `trafficPolicy.portLevelSettings[]`: overrides for one destination port. */
export interface PortTrafficPolicy extends TrafficPolicySections {
  readonly port: number;
  /** Where it was written: `spec.trafficPolicy.portLevelSettings[0]`. */
  readonly path?: string;
}

export interface TrafficPolicy extends TrafficPolicySections {
  readonly portLevelSettings?: readonly PortTrafficPolicy[];
  /** Config key of the DestinationRule it came from. */
  readonly origin?: string;
  /** Where in that object: `spec.trafficPolicy` or `spec.subsets[1].trafficPolicy`. */
  readonly path?: string;
}

export interface Subset {
  readonly name: string;
  /** Workload labels the subset selects (all must match). */
  readonly labels: Readonly<Record<string, string>>;
  readonly trafficPolicy?: TrafficPolicy;
}

/** DestinationRule resolved for one host. */
export interface DestinationPolicy {
  readonly host: string;
  readonly subsets: readonly Subset[];
  readonly trafficPolicy?: TrafficPolicy;
  readonly origin: string;
  readonly version: string;
}

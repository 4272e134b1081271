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

export interface WeightedDestination {
  /** FQDN of the destination service. */
  readonly host: string;
  readonly subset?: string;
  /** Destination port; absent when the service has a single port. */
  readonly port?: number;
  /** Percent of traffic; the weights of one route add up to 100. */
  readonly weight: number;
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
  /** Comma-separated Envoy/gRPC retry conditions, e.g. `unavailable,5xx`. */
  readonly retryOn?: string;
}

export interface HttpRoute {
  /** Stable name: `<VirtualService key>#<http index>` or the rule's own `name`. */
  readonly name: string;
  /** Alternatives (OR); an empty list matches every request. */
  readonly matches: readonly HttpRequestMatch[];
  readonly destinations: readonly WeightedDestination[];
  readonly timeoutMs?: number;
  readonly retries?: RetryPolicy;
  readonly fault?: FaultPolicy;
  /** Config key of the object this route came from, for warnings and debugging. */
  readonly origin: string;
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

export interface TrafficPolicy {
  readonly loadBalancer?: { readonly simple?: LoadBalancerKind };
  readonly connectionPool?: {
    readonly maxConnections?: number;
    readonly maxPendingRequests?: number;
    readonly maxRequests?: number;
    readonly maxRetries?: number;
    readonly connectTimeoutMs?: number;
  };
  readonly outlierDetection?: {
    readonly consecutive5xxErrors?: number;
    readonly consecutiveGatewayErrors?: number;
    readonly intervalMs?: number;
    readonly baseEjectionTimeMs?: number;
    readonly maxEjectionPercent?: number;
  };
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

import type { XdsProxy } from '../proxy.js';
import type { ClientKind } from '../resources/resource-type.js';

/**
 * What one kind of data plane can enforce. Envoy takes every VirtualService and
 * DestinationRule field Isthmus translates; proxyless gRPC clients take a subset, which
 * differs between implementations and versions (shared/XDS-INTEROP.md, observed with
 * grpc-js-xds 1.14.1 and C-core 1.51.1). A rule part a client cannot enforce is left out
 * of that client's config, and reported (see adapt.ts): never sent to be NACKed or
 * crash the client.
 */
export type Feature =
  // VirtualService actions and decorations
  | 'redirect'
  | 'directResponse'
  | 'rewrite'
  | 'headers'
  | 'mirror'
  | 'corsPolicy'
  /** Retry conditions other than gRPC status codes (5xx, connect-failure, 503, ...). */
  | 'retryOnHttp'
  | 'perTryTimeout'
  | 'retryRemoteLocalities'
  /** A route timeout below `minTimeoutMs` (C-core 1.51 fails every call at once). */
  | 'shortTimeout'
  // DestinationRule load balancing
  | 'ringHash'
  | 'maglev'
  | 'hashHeader'
  | 'hashCookie'
  | 'hashSourceIp'
  | 'hashQueryParameter'
  | 'leastRequest'
  | 'random'
  | 'passthrough'
  | 'warmup'
  // connection pool
  | 'maxConnections'
  | 'maxPendingRequests'
  | 'maxRequests'
  | 'maxRetries'
  | 'connectTimeout'
  | 'tcpKeepalive'
  | 'httpProtocolOptions'
  // outlier detection
  | 'outlierConsecutiveErrors'
  | 'outlierLocalOrigin'
  | 'minHealthPercent';

export type ProfileId = 'envoy' | 'grpc-js' | 'grpc-c-core' | 'grpc-c-core-1.51' | 'grpc';

export interface ClientProfile {
  /** Stable id: cache keys, the `client` label of `isthmus_xds_unenforced_rules`. */
  readonly id: ProfileId;
  /** Whose resource rules apply (validators). */
  readonly client: ClientKind;
  /** For messages: `proxyless gRPC (C-core ≤ 1.51)`. */
  readonly name: string;
  readonly unsupported: ReadonlySet<Feature>;
  /** Timeouts below this are left out when `shortTimeout` is unsupported. */
  readonly minTimeoutMs: number;
  /**
   * How DestinationRule outlier detection reaches this client: Envoy's own consecutive
   * error ejection, or (gRPC, A50) failure-percentage ejection standing in for it.
   */
  readonly outlierDetection: 'consecutive-errors' | 'failure-percentage';
  /** How `consistentHash.useSourceIp` is honoured: by the connection's address, or per gRPC channel. */
  readonly sourceIpHash: 'connection' | 'channel' | 'none';
  /** `maglev` has no gRPC implementation; a client with ring hash gets a ring instead. */
  readonly maglevAs: 'MAGLEV' | 'RING_HASH';
}

/** What no proxyless gRPC client implements (gRPC A28/A31/A33/A42/A44/A50): they ignore or NACK it. */
const GRPC_GAPS: readonly Feature[] = [
  'redirect',
  'directResponse',
  'rewrite',
  'headers',
  'mirror',
  'corsPolicy',
  'retryOnHttp',
  'perTryTimeout',
  'retryRemoteLocalities',
  'maglev',
  'hashCookie',
  'hashQueryParameter',
  'leastRequest',
  'random',
  'passthrough',
  'warmup',
  'maxConnections',
  'maxPendingRequests',
  'maxRetries',
  'connectTimeout',
  'tcpKeepalive',
  'httpProtocolOptions',
  'outlierConsecutiveErrors',
  'outlierLocalOrigin',
  'minHealthPercent',
];

/** C-core 1.51 dies (SIGSEGV) on a RING_HASH cluster and fails every call under a ≤ 1 s max_stream_duration. */
const C_CORE_151_GAPS: readonly Feature[] = [...GRPC_GAPS, 'ringHash', 'hashHeader', 'hashSourceIp', 'shortTimeout'];

export const ENVOY_PROFILE: ClientProfile = {
  id: 'envoy',
  client: 'envoy',
  name: 'Envoy sidecars',
  unsupported: new Set<Feature>(),
  minTimeoutMs: 0,
  outlierDetection: 'consecutive-errors',
  sourceIpHash: 'connection',
  maglevAs: 'MAGLEV',
};

export const GRPC_JS_PROFILE: ClientProfile = {
  id: 'grpc-js',
  client: 'grpc',
  name: 'proxyless gRPC (grpc-js)',
  unsupported: new Set(GRPC_GAPS),
  minTimeoutMs: 0,
  outlierDetection: 'failure-percentage',
  sourceIpHash: 'channel',
  maglevAs: 'RING_HASH',
};

/** C-core after 1.51: as grpc-js (RING_HASH no longer crashes); not re-verified here. */
export const GRPC_C_CORE_PROFILE: ClientProfile = {
  id: 'grpc-c-core',
  client: 'grpc',
  name: 'proxyless gRPC (C-core > 1.51)',
  unsupported: new Set(GRPC_GAPS),
  minTimeoutMs: 0,
  outlierDetection: 'failure-percentage',
  sourceIpHash: 'channel',
  maglevAs: 'RING_HASH',
};

export const GRPC_C_CORE_151_PROFILE: ClientProfile = {
  id: 'grpc-c-core-1.51',
  client: 'grpc',
  name: 'proxyless gRPC (C-core ≤ 1.51)',
  unsupported: new Set(C_CORE_151_GAPS),
  // 1 s failed every call; 2 s worked (XDS-INTEROP).
  minTimeoutMs: 2000,
  outlierDetection: 'failure-percentage',
  sourceIpHash: 'none',
  maglevAs: 'RING_HASH',
};

/**
 * A proxyless client Isthmus does not recognise (grpc-go, grpc-java, no user agent):
 * the intersection of what the verified clients take, so nothing can break it.
 */
export const GRPC_GENERIC_PROFILE: ClientProfile = {
  id: 'grpc',
  client: 'grpc',
  name: 'proxyless gRPC (unrecognised client)',
  unsupported: new Set(C_CORE_151_GAPS),
  minTimeoutMs: 2000,
  outlierDetection: 'failure-percentage',
  sourceIpHash: 'none',
  maglevAs: 'RING_HASH',
};

export const PROFILES: readonly ClientProfile[] = [
  ENVOY_PROFILE,
  GRPC_JS_PROFILE,
  GRPC_C_CORE_PROFILE,
  GRPC_C_CORE_151_PROFILE,
  GRPC_GENERIC_PROFILE,
];

/** The proxyless profiles `isthmus validate` reports against: the clients verified in XDS-INTEROP. */
export const VERIFIED_PROXYLESS_PROFILES: readonly ClientProfile[] = [GRPC_JS_PROFILE, GRPC_C_CORE_151_PROFILE];

export function supports(profile: ClientProfile, feature: Feature): boolean {
  return !profile.unsupported.has(feature);
}

/** Version `[major, minor]` from the first `x.y[.z]` after `prefix`, if any. */
function versionAfter(text: string, prefix: RegExp): [number, number] | undefined {
  const m = new RegExp(`${prefix.source}\\s*(\\d+)\\.(\\d+)`).exec(text);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * The profile of a proxyless gRPC client, from `node.user_agent_name` +
 * `user_agent_version` (joined in `XdsProxy.userAgent`):
 * - `gRPC Node Pure JS 1.14.1`: grpc-js (1.14 and later; earlier versions are unverified
 *   and get the generic profile);
 * - `gRPC C-core linux Python C-core 29.0.0 Python 1.51.1`: C-core; its core version 29 is
 *   gRPC 1.51 (core = minor − 22), so ≤ 29 is the 1.51 profile. Without a core version
 *   the wrapper's `1.x` version decides.
 */
const grpcProfiles = new Map<string, ClientProfile>();

export function grpcProfileFor(userAgent: string): ClientProfile {
  // Asked for every resource generated for a proxy: the user agents in a mesh are few.
  let profile = grpcProfiles.get(userAgent);
  if (!profile) {
    profile = grpcProfileOf(userAgent);
    if (grpcProfiles.size < 1024) grpcProfiles.set(userAgent, profile);
  }
  return profile;
}

function grpcProfileOf(userAgent: string): ClientProfile {
  if (/gRPC Node Pure JS/i.test(userAgent)) {
    const v = versionAfter(userAgent, /gRPC Node Pure JS/i);
    return v && (v[0] > 1 || (v[0] === 1 && v[1] >= 14)) ? GRPC_JS_PROFILE : GRPC_GENERIC_PROFILE;
  }
  if (/gRPC C-core/i.test(userAgent)) {
    const core = versionAfter(userAgent, /C-core/);
    if (core && core[0] >= 2) return core[0] <= 29 ? GRPC_C_CORE_151_PROFILE : GRPC_C_CORE_PROFILE;
    const wrapper = /(\d+)\.(\d+)\.\d+\s*$/.exec(userAgent);
    if (wrapper && Number(wrapper[1]) === 1) return Number(wrapper[2]) <= 51 ? GRPC_C_CORE_151_PROFILE : GRPC_C_CORE_PROFILE;
    return GRPC_C_CORE_151_PROFILE;
  }
  return GRPC_GENERIC_PROFILE;
}

/** The profile for a proxy served by generators of `client` (the node's GENERATOR decides). */
export function profileFor(proxy: Pick<XdsProxy, 'generator' | 'userAgent'>, client?: ClientKind): ClientProfile {
  const kind = client ?? (proxy.generator === 'grpc' ? 'grpc' : 'envoy');
  return kind === 'envoy' ? ENVOY_PROFILE : grpcProfileFor(proxy.userAgent);
}

import type { MeshSnapshot } from '../snapshot/mesh-snapshot.js';

/** What a contributor knows about the proxy it contributes to. */
export interface ProxyInfo {
  readonly id: string;
  /** `grpc` for proxyless gRPC, `sidecar` for Envoy. */
  readonly generator: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export const XdsContributor = Symbol.for('isthmus.XdsContributor');
/**
 * Adjusts generated xDS resources of one type for one proxy (Kuma's policy plugins modify
 * what the base generators built). Resources are plain objects in Envoy's proto JSON shape
 * (`keepCase`), keyed by resource name; a contributor edits, adds or removes entries and
 * must be deterministic (same input → same output) so versions stay content hashes.
 */
export interface XdsContributor {
  readonly name: string;
  /** Envoy v3 type URL, e.g. `type.googleapis.com/envoy.config.cluster.v3.Cluster`. */
  readonly typeUrl: string;
  /** Extra cache-key input: a proxy's output depends on the snapshot and on this. */
  cacheKey?(proxy: ProxyInfo, snapshot: MeshSnapshot): string;
  contribute(proxy: ProxyInfo, snapshot: MeshSnapshot, resources: Map<string, Record<string, unknown>>): void;
}

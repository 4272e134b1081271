import type { RateLimit } from '@isthmus/core';
import type { KubeConnectionOptions } from './kube-config.js';
import type { InformerTuning } from './resilient-informer.js';

/** Tunables of the Kubernetes adapter and config source. Every default is in DEFAULT_TUNING. */
export interface KubernetesTuning extends InformerTuning {
  /** Per adapter: bounds the list and watch requests of all its informers together. */
  readonly globalRate: RateLimit;
  /** Changes arriving within this long make one shard (a rollout touches many objects at once). */
  readonly coalesceMs: number;
  /** While failing, `markStale` is repeated at most this often (with the latest error). */
  readonly staleReportIntervalMs: number;
  /** Config source: bounds status writes (PATCH .../status). */
  readonly statusWriteRate: RateLimit;
}

/**
 * Every tunable declared once, with its default and why.
 * - requestTimeoutMs 60 s: bounds each list page (500 objects) and a watch's wait for
 *   headers; a hung API server is noticed within a minute.
 * - watchTimeoutSeconds 300 (×1–2 random): client-go's reflector range; the server ends
 *   the watch and it resumes from its resourceVersion, so connections are renewed.
 * - watchIdleTimeoutMs 90 s: with allowWatchBookmarks the API server's watch cache sends a
 *   bookmark about once a minute, so 90 s of silence means a dead connection (or a server
 *   that sends none); re-watching from the last resourceVersion is cheap. (client-node 2.x
 *   uses 30 s.)
 * - backoff 0.5–30 s; slowRetryMs 60 s for 403/404: RBAC rules and CRDs change by hand.
 * - informerRate 2 burst, 1/s: one list+watch cycle per second at most per resource;
 *   globalRate 20 burst, 10/s for all of them.
 * - coalesceMs 20: short next to the xDS debounce (100 ms), long enough for one shard per
 *   burst of watch events.
 */
export const DEFAULT_TUNING: KubernetesTuning = {
  requestTimeoutMs: 60_000,
  listPageSize: 500,
  watchTimeoutSeconds: 300,
  watchIdleTimeoutMs: 90_000,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  slowRetryMs: 60_000,
  informerRate: { burst: 2, perSecond: 1 },
  globalRate: { burst: 20, perSecond: 10 },
  coalesceMs: 20,
  staleReportIntervalMs: 30_000,
  statusWriteRate: { burst: 10, perSecond: 5 },
};

/** Istio's default CLUSTER_ID. */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';
/** Kubernetes' default cluster domain (`--cluster-domain` of the kubelet). */
export const DEFAULT_DOMAIN = 'cluster.local';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** Which namespaces are read (Istio's discoverySelectors); applies to Services and to Istio config. */
export interface KubernetesScopeOptions {
  /** Read only these namespaces (plus those `namespaceSelectors` match). Default: all. */
  readonly namespaces?: readonly string[];
  /** Label selectors on Namespaces (`istio-discovery=enabled`); any match selects. Needs list/watch on namespaces. */
  readonly namespaceSelectors?: readonly string[];
}

/** How Services and EndpointSlices become mesh Services and Workloads. */
export interface KubernetesMappingOptions extends KubernetesScopeOptions {
  /**
   * The cluster domain: Services are named `<svc>.<ns>.svc.<domain>` (default `cluster.local`).
   * A value with `{service}` is a full template (placeholders `{service}`, `{namespace}`,
   * `{cluster}`), e.g. `{service}.mesh.internal` to merge with the same service from
   * Consul or Nomad.
   */
  readonly domain?: string;
  /** Trust domain of workload identities `spiffe://<td>/ns/<ns>/sa/<sa>`. Default cluster.local. */
  readonly trustDomain?: string;
}

/** One Kubernetes cluster (one kubeconfig context) as a registry source `kubernetes/<clusterId>`. */
export interface KubernetesAdapterOptions extends KubeConnectionOptions, KubernetesMappingOptions {
  /** Cluster id (Istio's CLUSTER_ID): source key `kubernetes/<id>`, label `topology.istio.io/cluster`. Default `Kubernetes`. */
  readonly clusterId?: string;
  readonly tuning?: Partial<KubernetesTuning>;
}

/** The Istio config (CRDs) of one cluster as a config source `kubernetes/<clusterId>`. */
export interface KubernetesConfigSourceOptions extends KubeConnectionOptions, KubernetesScopeOptions {
  readonly clusterId?: string;
  /** Write validation results to each object's status (needs patch on `<kind>/status`). Default false. */
  readonly writeStatus?: boolean;
  readonly tuning?: Partial<KubernetesTuning>;
}

/** `kubernetes/<clusterId>`. */
export function kubernetesSourceKey(clusterId: string | undefined): string {
  return `kubernetes/${clusterId || DEFAULT_CLUSTER_ID}`;
}

import type { HealthStatus, Protocol, RateLimit } from '@isthmus/core';

/** How to reach one Consul agent or server over HTTP(S). */
export interface ConsulConnectionOptions {
  /** `http://127.0.0.1:8500`, `https://consul.example:8501`, or `host:port` (http). */
  readonly address: string;
  /** ACL token, sent as `X-Consul-Token`. */
  readonly token?: string;
  /** File holding the ACL token; re-read whenever Consul answers 403, so a rotation needs no restart. */
  readonly tokenFile?: string;
  /** Consul Enterprise namespace (`?ns=`). */
  readonly namespace?: string;
  /** Consul Enterprise admin partition (`?partition=`). */
  readonly partition?: string;
  readonly tls?: ConsulTlsOptions;
}

export interface ConsulTlsOptions {
  /** PEM bundle of the CAs that sign Consul's certificate (default: Node's CAs). */
  readonly caFile?: string;
  /** Client certificate and key (PEM), when Consul verifies incoming HTTPS clients. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Name to verify Consul's certificate against (SNI), when it differs from the address host. */
  readonly serverName?: string;
  /** Do not verify Consul's certificate (development only). */
  readonly insecureSkipVerify?: boolean;
}

/** Token bucket: `burst` requests at once, refilled at `perSecond` (core's, shared by the adapters). */
export type { RateLimit } from '@isthmus/core';

/** Tunables of the blocking-query loop. Every default is in DEFAULT_TUNING. */
export interface ConsulTuning {
  /** `wait` of blocking queries: how long Consul holds a query open when nothing changes. */
  readonly waitMs: number;
  /** Added to wait + wait/16 (Consul's jitter) for the client-side timeout of a blocking query. */
  readonly timeoutMarginMs: number;
  /** Timeout of a non-blocking query (the first read of each watch). */
  readonly requestTimeoutMs: number;
  /** Per watch: bounds how often one service is re-read, so no fault or churn makes a loop hot. */
  readonly perWatchRate: RateLimit;
  /** Per adapter: bounds the requests of all its watches together. */
  readonly globalRate: RateLimit;
  /** Retry after an error: base * 2^(n-1), capped, with jitter (50–100% of the delay). */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** While failing, `markStale` is repeated at most this often (with the latest error). */
  readonly staleReportIntervalMs: number;
}

/**
 * Every tunable declared once, with its default and why.
 * - waitMs 60 s: consul-template's default; a hung (not refused) agent is noticed within
 *   about a minute, and an idle service costs one request a minute.
 * - perWatchRate 2 burst, 1/s: a churning service is re-read at most once a second, which
 *   still delivers changes within a second.
 * - globalRate 200 burst, 200/s: thousands of services churning at once cannot become
 *   thousands of requests a second against the agent.
 */
export const DEFAULT_TUNING: ConsulTuning = {
  waitMs: 60_000,
  timeoutMarginMs: 5_000,
  requestTimeoutMs: 30_000,
  perWatchRate: { burst: 2, perSecond: 1 },
  globalRate: { burst: 200, perSecond: 200 },
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  staleReportIntervalMs: 30_000,
};

/** What becomes of Connect sidecar (`connect-proxy`) instances. */
export type ConnectMode =
  /** Skip sidecars (and `*-sidecar-proxy` services): workloads are the services' own instances. */
  | 'ignore'
  /**
   * Route to sidecars: an instance fronted by a sidecar is published at the sidecar's
   * address and port (labels from the instance, health of both), read from
   * `/v1/health/connect/<service>`.
   */
  | 'sidecar';

/** How Consul services and instances become mesh Services and Workloads. */
export interface ConsulMappingOptions {
  /**
   * Mesh hostname of a Consul service: `<service>.<domain>`. Default domain `service.consul`.
   * A value with `{service}`, `{namespace}`, `{partition}` or `{dc}` is a full template,
   * e.g. `{service}.mesh.internal` to merge with the same service from another platform.
   */
  readonly domain?: string;
  /** Mesh namespace of the services (default: the Consul namespace, else `default`). */
  readonly meshNamespace?: string;
  /** Service names to watch (`*` globs); default all. */
  readonly services?: readonly string[];
  /** Service names never watched (`*` globs). Default `consul`. */
  readonly excludeServices?: readonly string[];
  /** Watch only services carrying at least one of these tags (any instance). */
  readonly tags?: readonly string[];
  /** Health of an instance whose worst check is `warning`. Default UNHEALTHY (Consul's `?passing`). */
  readonly warning?: Extract<HealthStatus, 'HEALTHY' | 'UNHEALTHY'>;
  /** Publish unhealthy instances too (with their health), instead of leaving them out. Default false. */
  readonly includeUnhealthy?: boolean;
  readonly connect?: ConnectMode;
  /** Service meta key holding the version label. Default `version`. */
  readonly versionMetaKey?: string;
  /** A bare tag that is a version when the meta key is absent. Default `^v\d[\w.-]*$` (`v1`, `v2.1`). */
  readonly versionTagPattern?: string;
  /** Node meta key holding the zone. Default `zone`. */
  readonly zoneMetaKey?: string;
  /** Instance meta key declaring the service's mesh port. Default `mesh_port`. */
  readonly meshPortMetaKey?: string;
  /** Instance meta key with the protocol (`http`, `http2`, `grpc`, `tcp`). Default `protocol`. */
  readonly protocolMetaKey?: string;
  /** Protocol when no instance says. Default TCP (Consul's default service protocol). */
  readonly defaultProtocol?: Protocol;
  /** Trust domain of workload identities `spiffe://<td>/ns/<ns>/sa/<service>`. Default cluster.local. */
  readonly trustDomain?: string;
}

/** One Consul platform adapter: one datacenter of one Consul cluster. */
export interface ConsulAdapterOptions extends ConsulConnectionOptions, ConsulMappingOptions {
  /** Datacenter to read (`?dc=`); default: the agent's own. */
  readonly datacenter?: string;
  /**
   * Instance id in the source key `consul/<id>`. Default: the datacenter, else `local`;
   * `/<partition>/<namespace>` is appended when either is set.
   */
  readonly sourceId?: string;
  readonly tuning?: Partial<ConsulTuning>;
}

/** The source key of an adapter: `consul/dc1`, `consul/local`, `consul/dc1/default/team-a`. */
export function consulSourceKey(o: Pick<ConsulAdapterOptions, 'datacenter' | 'sourceId' | 'namespace' | 'partition'>): string {
  if (o.sourceId) return `consul/${o.sourceId}`;
  const scope = o.namespace || o.partition ? `/${o.partition || 'default'}/${o.namespace || 'default'}` : '';
  return `consul/${o.datacenter || 'local'}${scope}`;
}

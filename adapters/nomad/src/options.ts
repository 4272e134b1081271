import type { BlockingQueryTuning, Protocol, RateLimit } from '@isthmus/core';

/** How to reach one Nomad agent (client or server) over HTTP(S). */
export interface NomadConnectionOptions {
  /** `http://127.0.0.1:4646`, `https://nomad.example:4646`, or `host:port` (http). */
  readonly address: string;
  /** ACL token (its SecretID), sent as `X-Nomad-Token`. */
  readonly token?: string;
  /** File holding the ACL token; re-read whenever Nomad answers 403, so a rotation needs no restart. */
  readonly tokenFile?: string;
  readonly tls?: NomadTlsOptions;
}

export interface NomadTlsOptions {
  /** PEM bundle of the CAs that sign Nomad's certificate (default: Node's CAs). */
  readonly caFile?: string;
  /** Client certificate and key (PEM), for Nomad's `verify_https_client`. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Name to verify Nomad's certificate against (SNI), e.g. `server.global.nomad`. */
  readonly serverName?: string;
  /** Do not verify Nomad's certificate (development only). */
  readonly insecureSkipVerify?: boolean;
}

/**
 * Where an allocation's health comes from. Nomad's service catalog carries no health
 * (nomad#15603): registrations mean "placed".
 */
export type HealthMode =
  /**
   * Read each allocation's Nomad service check results (`/v1/client/allocation/<id>/checks`,
   * served by its client node): any `failure` or `pending` check of the service makes the
   * instance unhealthy; an allocation without checks is healthy once placed.
   */
  | 'checks'
  /** Every registered instance is healthy (no extra requests). */
  | 'placed';

/** Tunables of the adapter. Every default is in DEFAULT_TUNING. */
export interface NomadTuning extends BlockingQueryTuning {
  /** Per watch: bounds how often one service is re-read, so no fault or churn makes a loop hot. */
  readonly perWatchRate: RateLimit;
  /** Per adapter: bounds the blocking reads of all its watches together. */
  readonly globalRate: RateLimit;
  /** Event stream: a stream silent (no event, no `{}` heartbeat) this long is considered dead. */
  readonly streamIdleTimeoutMs: number;
  /** Event stream: bounds how often it reconnects. */
  readonly streamRate: RateLimit;
  /** Check results: how often each allocation's checks are re-read. */
  readonly checkIntervalMs: number;
  /** Check results: bounds the check reads of the adapter together. */
  readonly checkRate: RateLimit;
  /** Check results: reads in flight at once. */
  readonly checkConcurrency: number;
  /** While failing, `markStale` is repeated at most this often (with the latest error). */
  readonly staleReportIntervalMs: number;
}

/**
 * Every tunable declared once, with its default and why.
 * - waitMs 60 s, the same as the Consul adapter: a hung (not refused) agent is noticed
 *   within about a minute, an idle service costs one request a minute.
 * - perWatchRate 2 burst, 1/s and globalRate 200/s: as for Consul (one raft-index model);
 *   the event stream delivers changes in between at once.
 * - streamIdleTimeoutMs 45 s: Nomad sends a `{}` heartbeat every 30 s (nomad/event_endpoint.go);
 *   one missed heartbeat plus margin means the stream is dead.
 * - checkIntervalMs 10 s, checkRate 20/s: check results are not in Nomad's catalog and
 *   cannot be watched, only polled; 200 allocations are re-read every 10 s at most.
 */
export const DEFAULT_TUNING: NomadTuning = {
  waitMs: 60_000,
  timeoutMarginMs: 5_000,
  requestTimeoutMs: 30_000,
  perWatchRate: { burst: 2, perSecond: 1 },
  globalRate: { burst: 200, perSecond: 200 },
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  streamIdleTimeoutMs: 45_000,
  streamRate: { burst: 2, perSecond: 0.2 },
  checkIntervalMs: 10_000,
  checkRate: { burst: 20, perSecond: 20 },
  checkConcurrency: 8,
  staleReportIntervalMs: 30_000,
};

/** How Nomad services and registrations become mesh Services and Workloads. */
export interface NomadMappingOptions {
  /**
   * Mesh hostname of a Nomad service: `<service>.<domain>`. Default domain `service.nomad`.
   * A value with `{service}`, `{namespace}` or `{region}` is a full template, e.g.
   * `{service}.mesh.internal` to merge with the same service from Consul or Kubernetes.
   */
  readonly domain?: string;
  /** Mesh namespace of the services (default: each service's Nomad namespace). */
  readonly meshNamespace?: string;
  /** Service names to watch (`*` globs); default all. */
  readonly services?: readonly string[];
  /** Watch only services carrying at least one of these tags (any registration). */
  readonly tags?: readonly string[];
  /** Default `checks`. */
  readonly health?: HealthMode;
  /** Publish unhealthy instances too (with their health), instead of leaving them out. Default false. */
  readonly includeUnhealthy?: boolean;
  /** A bare tag that is the version (`v1`, `v2.1`); `version=<v>` tags always are. Default `^v\d[\w.-]*$`. */
  readonly versionTagPattern?: string;
  /** A bare tag marking a canary (Nomad's `canary_tags`); it becomes the label `canary: "true"`. Default `canary`. */
  readonly canaryTag?: string;
  /** Tag key declaring the service's mesh port (`mesh_port=50051`). Default `mesh_port`. */
  readonly meshPortTagKey?: string;
  /** Tag key with the protocol (`protocol=grpc`: http, http2, grpc, tcp). Default `protocol`. */
  readonly protocolTagKey?: string;
  /** Protocol when no registration says. Default TCP. */
  readonly defaultProtocol?: Protocol;
  /** Trust domain of workload identities `spiffe://<td>/ns/<ns>/sa/<service>`. Default cluster.local. */
  readonly trustDomain?: string;
}

/** One Nomad platform adapter: one region of one Nomad cluster, one or more namespaces. */
export interface NomadAdapterOptions extends NomadConnectionOptions, NomadMappingOptions {
  /** Region to read (`?region=`); default: the agent's own. */
  readonly region?: string;
  /** Namespaces to read: one, several, or `*` for every namespace the token may read. Default `default`. */
  readonly namespaces?: readonly string[];
  /** Instance id in the source key `nomad/<id>`. Default: the region, else `local`. */
  readonly sourceId?: string;
  /** Follow `/v1/event/stream` for prompt updates (the blocking queries stay the truth). Default true. */
  readonly eventStream?: boolean;
  readonly tuning?: Partial<NomadTuning>;
}

/** The source key of an adapter: `nomad/global`, `nomad/local`. */
export function nomadSourceKey(o: Pick<NomadAdapterOptions, 'region' | 'sourceId'>): string {
  if (o.sourceId) return `nomad/${o.sourceId}`;
  return `nomad/${o.region || 'local'}`;
}

/** The namespaces option normalised: `*` alone when present, duplicates gone, `default` when empty. */
export function namespaceScopes(namespaces: readonly string[] | undefined): string[] {
  const list = [...new Set((namespaces ?? []).map((n) => n.trim()).filter(Boolean))];
  if (list.includes('*')) return ['*'];
  return list.length > 0 ? list : ['default'];
}

export type HealthStatus = 'HEALTHY' | 'UNHEALTHY' | 'DRAINING';

/** Where a workload runs; drives locality-aware load balancing. Empty fields are unknown. */
export interface Locality {
  readonly region?: string;
  readonly zone?: string;
  readonly subzone?: string;
}

/**
 * One instance (endpoint) of a service.
 *
 * Example (a Consul instance mapped into the mesh):
 * ```
 * { id: 'consul/dc1/node-1/greeter-v2-1', hostname: 'greeter.service.consul',
 *   namespace: 'default', address: '10.0.0.7', ports: { grpc: 50051 },
 *   labels: { version: 'v2' }, health: 'HEALTHY', locality: { region: 'dc1' },
 *   weight: 1, identity: 'spiffe://cluster.local/ns/default/sa/greeter',
 *   source: 'consul/dc1' }
 * ```
 * `ports` maps a service port name to the port this instance really listens on, so
 * instances of one service may listen on different ports. The `version` label is what
 * DestinationRule subsets usually select on.
 */
export interface Workload {
  /** Unique within its source. */
  readonly id: string;
  /** Mesh hostname of the service this workload serves. */
  readonly hostname: string;
  readonly namespace: string;
  /** An IP literal: proxyless gRPC clients reject host names in EDS. */
  readonly address: string;
  /** Service port name → instance port. A missing name means "same as the service port". */
  readonly ports: Readonly<Record<string, number>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly health: HealthStatus;
  readonly locality: Locality;
  /** Relative load-balancing weight, ≥ 1. */
  readonly weight: number;
  /** SPIFFE identity `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`, when known. */
  readonly identity?: string;
  /** Source key of the adapter that reported it, e.g. `consul/dc1`. */
  readonly source: string;
}

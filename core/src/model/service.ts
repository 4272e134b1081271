/** Application protocol of a service port; decides HTTP routing vs. plain TCP proxying. */
export type Protocol = 'HTTP' | 'HTTP2' | 'GRPC' | 'TCP' | 'TLS';

export const PROTOCOLS: readonly Protocol[] = ['HTTP', 'HTTP2', 'GRPC', 'TCP', 'TLS'];

/** True for protocols whose traffic Isthmus routes with HTTP rules (VirtualService `http`). */
export function isHttpProtocol(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC';
}

/**
 * A port a service listens on, as callers see it.
 * Example: `{ name: 'grpc', number: 50051, protocol: 'GRPC' }`.
 */
export interface ServicePort {
  readonly name: string;
  readonly number: number;
  readonly protocol: Protocol;
}

/**
 * A logical service in the mesh, keyed by its mesh hostname (an FQDN).
 *
 * Example (from a static ServiceEntry):
 * ```
 * { hostname: 'greeter.default.svc.cluster.local', namespace: 'default',
 *   ports: [{ name: 'grpc', number: 50051, protocol: 'GRPC' }],
 *   labels: { app: 'greeter' }, sources: ['static/examples/canary'], exportTo: ['*'] }
 * ```
 * The same hostname reported by two sources merges into one Service whose `sources`
 * lists both and whose workloads come from both.
 */
export interface Service {
  readonly hostname: string;
  readonly namespace: string;
  readonly ports: readonly ServicePort[];
  readonly labels: Readonly<Record<string, string>>;
  /** Source keys (`<platform kind>/<instance id>`) that report this service. */
  readonly sources: readonly string[];
  /** Namespaces that may see the service; `['*']` (the default) means all. */
  readonly exportTo: readonly string[];
}

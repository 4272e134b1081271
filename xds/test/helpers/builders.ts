import {
  hashOf,
  type DestinationPolicy,
  type EndpointSet,
  type HealthStatus,
  type HttpRoute,
  type Locality,
  type MeshService,
  type MeshSnapshot,
  type Protocol,
  type RouteTable,
  type Service,
  type SidecarScope,
  type Subset,
  type TrafficPolicy,
  type Workload,
} from '@isthmus/core';
import { proxyFromNode, type XdsProxy } from '../../src/proxy.js';
import { jsonToStruct } from '../../src/protos/struct.js';

/** Small fixture builders: `aService('greeter.default.svc.cluster.local').withPort('grpc', 50051).build()`. */

export class ServiceBuilder {
  private ports: Service['ports'][number][] = [];
  private namespace = 'default';
  private labels: Record<string, string> = {};
  constructor(private readonly hostname: string) {}
  withPort(name: string, number: number, protocol: Protocol = 'GRPC'): this {
    this.ports.push({ name, number, protocol });
    return this;
  }
  inNamespace(ns: string): this {
    this.namespace = ns;
    return this;
  }
  withLabels(labels: Record<string, string>): this {
    this.labels = { ...labels };
    return this;
  }
  build(): Service {
    return {
      hostname: this.hostname,
      namespace: this.namespace,
      ports: this.ports.length > 0 ? this.ports : [{ name: 'grpc', number: 50051, protocol: 'GRPC' }],
      labels: this.labels,
      sources: ['test/1'],
      exportTo: ['*'],
    };
  }
}
export const aService = (hostname: string) => new ServiceBuilder(hostname);

export class WorkloadBuilder {
  private address = '10.0.0.1';
  private ports: Record<string, number> = {};
  private labels: Record<string, string> = {};
  private health: HealthStatus = 'HEALTHY';
  private locality: Locality = {};
  private weight = 1;
  constructor(
    private readonly hostname: string,
    private readonly id: string,
  ) {}
  at(address: string): this {
    this.address = address;
    return this;
  }
  withPort(name: string, port: number): this {
    this.ports[name] = port;
    return this;
  }
  withLabels(labels: Record<string, string>): this {
    this.labels = { ...this.labels, ...labels };
    return this;
  }
  withHealth(health: HealthStatus): this {
    this.health = health;
    return this;
  }
  inLocality(locality: Locality): this {
    this.locality = locality;
    return this;
  }
  withWeight(weight: number): this {
    this.weight = weight;
    return this;
  }
  build(): Workload {
    return {
      id: this.id,
      hostname: this.hostname,
      namespace: 'default',
      address: this.address,
      ports: this.ports,
      labels: this.labels,
      health: this.health,
      locality: this.locality,
      weight: this.weight,
      source: 'test/1',
    };
  }
}
export const aWorkload = (hostname: string, id: string) => new WorkloadBuilder(hostname, id);

type RouteInput = Partial<HttpRoute> & Pick<HttpRoute, 'destinations'>;

/** A route table; matches default to `[]` (match all), headers to `{}`. */
export function aRouteTable(host: string, routes: readonly RouteInput[]): RouteTable {
  const full: HttpRoute[] = routes.map((r, i) => ({
    ...r,
    name: r.name ?? `vs#${i}`,
    matches: r.matches ?? [],
    destinations: r.destinations,
    origin: r.origin ?? 'VirtualService/default/test',
    ...(r.path === undefined ? { path: `spec.http[${i}]` } : {}),
  }));
  const table = { host, routes: full, origins: ['VirtualService/default/test'] };
  return { ...table, version: hashOf(table) };
}

/** `{ headers: { 'x-device': { exact: 'iphone' } } }` as a full HttpRequestMatch. */
export function aMatch(m: Partial<HttpRoute['matches'][number]> = {}): HttpRoute['matches'][number] {
  return { headers: {}, withoutHeaders: {}, queryParams: {}, ...m };
}

export function aDestinationPolicy(
  host: string,
  subsets: readonly (Omit<Subset, 'trafficPolicy'> & { trafficPolicy?: TrafficPolicy })[],
  trafficPolicy?: TrafficPolicy,
): DestinationPolicy {
  const p = { host, subsets, origin: 'DestinationRule/default/test', ...(trafficPolicy ? { trafficPolicy } : {}) };
  return { ...p, version: hashOf(p) };
}

/** Subsets v1 and v2 by the `version` label. */
export function versionSubsets(host: string, trafficPolicy?: TrafficPolicy): DestinationPolicy {
  return aDestinationPolicy(
    host,
    [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
    ],
    trafficPolicy,
  );
}

let sequence = 0;

export class SnapshotBuilder {
  private services = new Map<string, Service>();
  private workloads = new Map<string, Workload[]>();
  private routes = new Map<string, RouteTable>();
  private destinations = new Map<string, DestinationPolicy>();
  private sidecars = new Map<string, SidecarScope>();

  withService(...services: Service[]): this {
    for (const s of services) this.services.set(s.hostname, s);
    return this;
  }
  withWorkloads(...workloads: Workload[]): this {
    for (const w of workloads) this.workloads.set(w.hostname, [...(this.workloads.get(w.hostname) ?? []), w]);
    return this;
  }
  withRoutes(...tables: RouteTable[]): this {
    for (const t of tables) this.routes.set(t.host, t);
    return this;
  }
  withDestinations(...policies: DestinationPolicy[]): this {
    for (const p of policies) this.destinations.set(p.host, p);
    return this;
  }
  /** Compiled Sidecars, in precedence order (oldest first): see compileSidecars. */
  withSidecars(sidecars: ReadonlyMap<string, SidecarScope>): this {
    for (const [k, v] of sidecars) this.sidecars.set(k, v);
    return this;
  }
  build(): MeshSnapshot {
    const services = new Map<string, MeshService>(
      [...this.services].map(([h, service]) => [h, { service, version: hashOf(service) }]),
    );
    const endpoints = new Map<string, EndpointSet>(
      [...this.workloads].map(([h, workloads]) => [h, { hostname: h, workloads, version: hashOf(workloads) }]),
    );
    const parts = {
      services: [...services].map(([h, s]) => [h, s.version]),
      endpoints: [...endpoints].map(([h, e]) => [h, e.version]),
      routes: [...this.routes].map(([h, r]) => [h, r.version]),
      destinations: [...this.destinations].map(([h, d]) => [h, d.version]),
      sidecars: [...this.sidecars].map(([k, s]) => [k, s.version]),
    };
    return {
      version: hashOf(parts),
      sequence: ++sequence,
      services,
      endpoints,
      routes: new Map(this.routes),
      destinations: new Map(this.destinations),
      sidecars: new Map(this.sidecars),
      sources: [],
      issues: [],
      changes: {
        services: new Set(services.keys()),
        endpoints: new Set(endpoints.keys()),
        rules: true,
      },
    };
  }
}
export const aSnapshot = () => new SnapshotBuilder();

export const GREETER = 'greeter.default.svc.cluster.local';

/**
 * The article's canary mesh: greeter on 50051 with a v1 and a v2 workload, subsets v1/v2,
 * `x-device: iphone` → v2, everyone else 95/5. Ports of the workloads are parameters so
 * real backends can be plugged in.
 */
export function canarySnapshot(opts: { v1Port?: number; v2Port?: number; address?: string; split?: [number, number] } = {}): SnapshotBuilder {
  const address = opts.address ?? '10.0.0.1';
  const [w1, w2] = opts.split ?? [95, 5];
  return aSnapshot()
    .withService(aService(GREETER).withPort('grpc', 50051).build())
    .withWorkloads(
      aWorkload(GREETER, 'greeter-v1').at(address).withPort('grpc', opts.v1Port ?? 50061).withLabels({ version: 'v1' }).build(),
      aWorkload(GREETER, 'greeter-v2').at(address).withPort('grpc', opts.v2Port ?? 50062).withLabels({ version: 'v2' }).build(),
    )
    .withDestinations(versionSubsets(GREETER))
    .withRoutes(
      aRouteTable(GREETER, [
        {
          name: 'iphone-to-canary',
          matches: [aMatch({ headers: { 'x-device': { exact: 'iphone' } } })],
          destinations: [{ host: GREETER, subset: 'v2', weight: 100 }],
        },
        {
          name: 'canary-split',
          destinations: [
            { host: GREETER, subset: 'v1', weight: w1 },
            { host: GREETER, subset: 'v2', weight: w2 },
          ],
        },
      ]),
    );
}

/** A proxy as the server sees it after decoding a node. */
export function aProxy(
  opts: {
    id?: string;
    generator?: string;
    namespace?: string;
    labels?: Record<string, string>;
    /** node.user_agent_name / user_agent_version, e.g. GRPC_JS_AGENT. */
    userAgent?: { name: string; version: string };
    locality?: { region?: string; zone?: string; sub_zone?: string };
  } = {},
): XdsProxy {
  const metadata: Record<string, unknown> = {};
  if (opts.generator !== undefined) metadata.GENERATOR = opts.generator;
  else metadata.GENERATOR = 'grpc';
  if (opts.namespace) metadata.NAMESPACE = opts.namespace;
  if (opts.labels) metadata.LABELS = opts.labels;
  return proxyFromNode({
    id: opts.id ?? 'proxy-1',
    metadata: jsonToStruct(metadata),
    ...(opts.userAgent ? { user_agent_name: opts.userAgent.name, user_agent_version: opts.userAgent.version } : {}),
    ...(opts.locality ? { locality: opts.locality } : {}),
  });
}

/** The user agents of the clients verified in shared/XDS-INTEROP.md. */
export const GRPC_JS_AGENT = { name: 'gRPC Node Pure JS', version: '1.14.1' };
export const C_CORE_151_AGENT = { name: 'gRPC C-core linux Python', version: 'C-core 29.0.0 Python 1.51.1' };

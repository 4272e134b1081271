import type { RegistryMessage, RegistryShard, Service, Workload } from '@isthmus/core';

/** Test builders: `aService('greeter.default.svc.cluster.local').withPort(50051)` style, kept tiny. */
export function aService(hostname: string, over: Partial<Service> = {}): Service {
  return {
    hostname,
    namespace: 'default',
    ports: [{ name: 'grpc', number: 50051, protocol: 'GRPC' }],
    labels: {},
    sources: ['test/a'],
    exportTo: ['*'],
    ...over,
  };
}

export function aWorkload(hostname: string, id: string, over: Partial<Workload> = {}): Workload {
  return {
    id,
    hostname,
    namespace: 'default',
    address: '10.0.0.1',
    ports: {},
    labels: {},
    health: 'HEALTHY',
    locality: {},
    weight: 1,
    source: 'test/a',
    ...over,
  };
}

export function message(shard: RegistryShard, over: Partial<RegistryMessage> = {}): RegistryMessage {
  return { shard, synced: true, stale: false, updatedAt: '2026-01-01T00:00:00Z', ...over };
}

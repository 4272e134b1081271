import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBus, MeshEngine, parseConfigText, silentLogger, type MeshEngineOptions, type MeshSnapshot } from '@isthmus/core';
import { aService, aWorkload, message } from '../builders/registry.js';

const H = 'greeter.default.svc.cluster.local';

const RULES = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: greeter, namespace: default }
spec:
  hosts: [${H}]
  resolution: STATIC
  ports: [{ name: grpc, number: 50051, protocol: GRPC }]
  endpoints:
    - { address: 10.0.0.1, labels: { version: v1 } }
    - { address: 10.0.0.2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: greeter, namespace: default }
spec:
  host: greeter
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: greeter, namespace: default }
spec:
  hosts: [greeter]
  http:
    - route:
        - { destination: { host: greeter, subset: v1 }, weight: 95 }
        - { destination: { host: greeter, subset: v2 }, weight: 5 }
`;

const engines: MeshEngine[] = [];
function engine(
  bus: InMemoryBus,
  options: Omit<MeshEngineOptions, 'logger'> = { debounceMs: 5, maxDelayMs: 20 },
): { engine: MeshEngine; snapshots: MeshSnapshot[] } {
  const e = new MeshEngine(bus, { logger: silentLogger(), ...options });
  engines.push(e);
  const snapshots: MeshSnapshot[] = [];
  e.onSnapshot((s) => snapshots.push(s));
  return { engine: e, snapshots };
}
afterEach(() => engines.splice(0).forEach((e) => e.stop()));

/** Waits `quietMs` (no config change meanwhile), makes `change`, then lets setImmediate work run. */
async function afterQuiet(quietMs: number, change: () => Promise<void>): Promise<void> {
  await new Promise((r) => setTimeout(r, quietMs));
  await change();
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

describe('MeshEngine', () => {
  it('publishes nothing until every registry source has synced', async () => {
    const bus = new InMemoryBus();
    const { engine: e, snapshots } = engine(bus);
    e.requireRegistrySource('s/1');
    e.start();
    await bus.registry.put('s/1', message({ source: 's/1', services: [aService(H)], workloads: [] }, { synced: false }));
    await new Promise((r) => setTimeout(r, 60));
    expect(snapshots).toHaveLength(0);
    expect(e.notReady()).toEqual(['registry source s/1']);
    await bus.registry.put('s/1', message({ source: 's/1', services: [aService(H)], workloads: [aWorkload(H, 'a')] }));
    await until(() => snapshots.length === 1);
    expect(snapshots[0]!.services.has(H)).toBe(true);
  });

  it('compiles ServiceEntry + VirtualService + DestinationRule from config into the snapshot', async () => {
    const bus = new InMemoryBus();
    const { engine: e, snapshots } = engine(bus);
    e.start();
    await bus.config.put('mesh.yaml', { source: 'mesh.yaml', objects: parseConfigText(RULES, 'mesh.yaml').objects, updatedAt: 'x' });
    await until(() => snapshots.at(-1)?.routes.has(H) === true);
    const s = snapshots.at(-1)!;
    expect(s.endpoints.get(H)!.workloads.map((w) => w.labels.version)).toEqual(['v1', 'v2']);
    expect(s.routes.get(H)!.routes[0]!.destinations.map((d) => d.weight)).toEqual([95, 5]);
    expect(s.destinations.get(H)!.subsets.map((x) => x.name)).toEqual(['v1', 'v2']);
    expect(s.sources.map((x) => x.source)).toEqual(['config/mesh.yaml']);
  });

  it('marks an endpoint-only change as such and keeps rule versions', async () => {
    const bus = new InMemoryBus();
    const { engine: e, snapshots } = engine(bus);
    e.start();
    await bus.config.put('mesh.yaml', { source: 'mesh.yaml', objects: parseConfigText(RULES, 'mesh.yaml').objects, updatedAt: 'x' });
    await bus.registry.put('s/1', message({ source: 's/1', services: [aService('other.x')], workloads: [aWorkload('other.x', 'o1')] }));
    await until(() => snapshots.at(-1)?.services.has('other.x') === true);
    const before = snapshots.at(-1)!;
    await bus.registry.put('s/1', message({ source: 's/1', services: [aService('other.x')], workloads: [aWorkload('other.x', 'o1', { address: '10.9.9.9' })] }));
    await until(() => snapshots.at(-1) !== before);
    const after = snapshots.at(-1)!;
    expect([...after.changes.endpoints]).toEqual(['other.x']);
    expect(after.changes.services.size).toBe(0);
    expect(after.changes.rules).toBe(false);
    expect(after.routes.get(H)!.version).toBe(before.routes.get(H)!.version);
    expect(after.version).not.toBe(before.version);
  });

  it('compiles Sidecars from config into the snapshot and marks a Sidecar-only change as a rules change', async () => {
    const bus = new InMemoryBus();
    const { engine: e, snapshots } = engine(bus);
    e.start();
    await bus.config.put('mesh.yaml', { source: 'mesh.yaml', objects: parseConfigText(RULES, 'mesh.yaml').objects, updatedAt: 'x' });
    await until(() => snapshots.at(-1)?.routes.has(H) === true);
    const before = snapshots.at(-1)!;
    expect(before.sidecars.size).toBe(0);
    const sidecar = `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: default }
spec:
  egress: [{ hosts: ["./*"] }]
`;
    await bus.config.put('sidecar.yaml', { source: 'sidecar.yaml', objects: parseConfigText(sidecar, 'sidecar.yaml').objects, updatedAt: 'x' });
    await until(() => snapshots.at(-1)!.sidecars.size === 1);
    const after = snapshots.at(-1)!;
    expect(after.sidecars.get('default/default')).toMatchObject({ key: 'Sidecar/default/default', egress: [{ hosts: [{ namespace: '.', host: '*' }] }] });
    expect(after.changes.rules).toBe(true);
    expect(after.version).not.toBe(before.version);
    expect(after.routes.get(H)!.version).toBe(before.routes.get(H)!.version);
  });

  it('computes the same version in two engines fed the same input in different orders', async () => {
    const a = new InMemoryBus();
    const b = new InMemoryBus();
    const ea = engine(a);
    const eb = engine(b);
    ea.engine.start();
    eb.engine.start();
    const objects = parseConfigText(RULES, 'mesh.yaml').objects;
    const shard = (src: string) => message({ source: src, services: [aService('x.' + src)], workloads: [aWorkload('x.' + src, '1')] });
    await a.registry.put('s/1', shard('s/1'));
    await a.registry.put('s/2', shard('s/2'));
    await a.config.put('mesh.yaml', { source: 'mesh.yaml', objects, updatedAt: 'x' });
    await b.config.put('mesh.yaml', { source: 'mesh.yaml', objects: [...objects].reverse(), updatedAt: 'y' });
    await b.registry.put('s/2', shard('s/2'));
    await b.registry.put('s/1', shard('s/1'));
    await until(() => ea.snapshots.at(-1)?.services.size === 3 && eb.snapshots.at(-1)?.services.size === 3);
    expect(eb.snapshots.at(-1)!.version).toBe(ea.snapshots.at(-1)!.version);
  });

  it.each([
    [true, 2],
    [false, 1],
  ])('a config change on a quiet mesh (leading edge %s): snapshots built before the quiet period ends = %s', async (leading, built) => {
    const bus = new InMemoryBus();
    const { engine: e, snapshots } = engine(bus, { debounceMs: 150, maxDelayMs: 60_000, debounceLeadingEdge: leading });
    e.start();
    e.flush();
    expect(snapshots).toHaveLength(1);
    const objects = parseConfigText(RULES, 'mesh.yaml').objects;
    await afterQuiet(200, () => bus.config.put('mesh.yaml', { source: 'mesh.yaml', objects, updatedAt: 'x' }));
    expect(snapshots).toHaveLength(built);
    e.flush();
    expect(snapshots.at(-1)!.routes.has(H)).toBe(true);
  });

  it('a withdrawn part or a part of a batch waits for the quiet period even on a quiet mesh', async () => {
    const bus = new InMemoryBus();
    const { engine: e, snapshots } = engine(bus, { debounceMs: 100, maxDelayMs: 120_000 });
    e.start();
    e.flush();
    expect(snapshots).toHaveLength(1);
    const objects = parseConfigText(RULES, 'mesh.yaml').objects;
    await afterQuiet(150, () => bus.config.put('mesh.yaml', { source: 'mesh.yaml', objects, updatedAt: 'x', batch: 'b1' }));
    expect(snapshots).toHaveLength(1);
    e.flush();
    expect(snapshots.at(-1)!.routes.has(H)).toBe(true);
    await afterQuiet(150, () => bus.config.delete('mesh.yaml'));
    expect(snapshots).toHaveLength(2);
    e.flush();
    expect(snapshots).toHaveLength(3);
    expect(snapshots.at(-1)!.routes.has(H)).toBe(false);
    // The same put without a batch leads.
    await afterQuiet(150, () => bus.config.put('mesh.yaml', { source: 'mesh.yaml', objects, updatedAt: 'y' }));
    expect(snapshots).toHaveLength(4);
  });

  it('builds endpoint-only changes without the quiet period; config and service changes still wait for it', async () => {
    const bus = new InMemoryBus();
    // A quiet period no test waits out: only the endpoint throttle can build in time.
    const e = new MeshEngine(bus, { logger: silentLogger(), debounceMs: 60_000, maxDelayMs: 120_000, endpointIntervalMs: 5 });
    engines.push(e);
    const snapshots: MeshSnapshot[] = [];
    e.onSnapshot((s) => snapshots.push(s));
    e.requireRegistrySource('s/1');
    e.start();
    const shard = (address: string, port = 50051) =>
      message({ source: 's/1', services: [aService('a.x', { ports: [{ name: 'grpc', number: port, protocol: 'GRPC' }] })], workloads: [aWorkload('a.x', 'a1', { address })] });
    await bus.registry.put('s/1', shard('10.0.0.1'));
    e.flush();
    expect(snapshots).toHaveLength(1);

    await bus.registry.put('s/1', shard('10.0.0.2'));
    await until(() => snapshots.length === 2);
    expect([...snapshots[1]!.changes.endpoints]).toEqual(['a.x']);

    // A service definition change (new port) is config-like: it waits for the quiet period.
    await bus.registry.put('s/1', shard('10.0.0.2', 50052));
    await bus.config.put('mesh.yaml', { source: 'mesh.yaml', objects: parseConfigText(RULES, 'mesh.yaml').objects, updatedAt: 'x' });
    await new Promise((r) => setTimeout(r, 100));
    expect(snapshots).toHaveLength(2);
    // ... and an endpoint change arriving meanwhile joins that batch instead of splitting it.
    await bus.registry.put('s/1', shard('10.0.0.3', 50052));
    await new Promise((r) => setTimeout(r, 100));
    expect(snapshots).toHaveLength(2);
    e.flush();
    expect(snapshots).toHaveLength(3);
    expect(snapshots[2]!.routes.has(H)).toBe(true);
    expect(snapshots[2]!.endpoints.get('a.x')!.workloads[0]!.address).toBe('10.0.0.3');
  });
});

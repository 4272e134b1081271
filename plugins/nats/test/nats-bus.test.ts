import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'nats';
import type { ConfigMessage, RegistryMessage, Service, Workload } from '@isthmus/core';
import { NatsBus, bucketName, decodeKey, encodeKey, type NatsBusOptions } from '@isthmus/plugin-nats';
import { startNatsServer, type NatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/process.js';

function service(host: string, ns = 'default', labels: Record<string, string> = {}): Service {
  return { hostname: host, namespace: ns, ports: [{ name: 'grpc', number: 50051, protocol: 'GRPC' }], labels, sources: ['test/a'], exportTo: ['*'] };
}

function workload(host: string, i: number, source = 'test/a'): Workload {
  return {
    id: `${host}/${i}`,
    hostname: host,
    namespace: 'default',
    address: `10.0.${Math.floor(i / 250)}.${i % 250}`,
    ports: { grpc: 8080 },
    labels: { app: host.split('.')[0]!, version: i % 2 ? 'v2' : 'v1', padding: 'x'.repeat(40) },
    health: 'HEALTHY',
    locality: {},
    weight: 1,
    source,
  };
}

function message(source: string, hosts: Record<string, number>): RegistryMessage {
  const services = Object.keys(hosts).map((h) => service(h));
  const workloads = Object.entries(hosts).flatMap(([h, n]) => Array.from({ length: n }, (_, i) => workload(h, i, source)));
  return { shard: { source, services, workloads }, synced: true, stale: false, updatedAt: new Date().toISOString() };
}

describe('KV key encoding', () => {
  it.each(['consul/dc1', 'examples/canary/routes.yaml', 'a b*c>d', 'ünïcode', '', '=x=2E', '/abs/path'])('round-trips %j', (key) => {
    const token = encodeKey(key);
    expect(token).toMatch(/^[A-Za-z0-9_/=-]+$/);
    expect(decodeKey(token)).toBe(key);
  });

  it('names buckets per mesh and refuses ids that cannot name a bucket', () => {
    expect(bucketName('prod-eu', 'registry')).toBe('isthmus_prod-eu_registry');
    expect(() => bucketName('a.b', 'config')).toThrow(/mesh id/);
  });
});

describe('NatsBus on a real nats-server', () => {
  let nats: NatsServer;
  const buses: NatsBus[] = [];
  let mesh = 0;
  const open = (o: Partial<NatsBusOptions> & { mesh: string }): NatsBus => {
    const bus = new NatsBus({ connection: { servers: [nats.url] }, ...o });
    buses.push(bus);
    return bus;
  };
  const nextMesh = () => `t${process.pid}-${++mesh}`;

  let confDir: string;

  beforeAll(async () => {
    // A small max_payload, so a host too big for one message is cheap to build.
    confDir = await mkdtemp(join(tmpdir(), 'isthmus-nats-conf-'));
    await writeFile(join(confDir, 'small.conf'), 'max_payload: 65536\n');
    nats = await startNatsServer({ extraArgs: ['-c', join(confDir, 'small.conf')] });
  });

  afterAll(async () => {
    for (const b of buses) await b.close().catch(() => undefined);
    await nats?.stop();
    await rm(confDir, { recursive: true, force: true });
  });

  it('replays current entries to a new process, then streams changes', async () => {
    const m = nextMesh();
    const writer = open({ mesh: m, mirror: [] });
    const config: ConfigMessage = { source: 'a.yaml', objects: [], updatedAt: new Date().toISOString() };
    await writer.config.put('a.yaml', config);
    await writer.rawRegistry.put('test/a', message('test/a', { 'greeter.default.svc.cluster.local': 2 }));

    const reader = open({ mesh: m });
    await reader.ready();
    expect(reader.config.get('a.yaml')).toEqual(config);
    expect(reader.registry.get('test/a')?.shard.workloads).toHaveLength(2);

    const seen: string[] = [];
    reader.config.watch((k, v) => seen.push(`${k}:${v ? 'put' : 'delete'}`));
    expect(seen).toEqual(['a.yaml:put']);
    await writer.config.put('b.yaml', { ...config, source: 'b.yaml' });
    await writer.config.delete('a.yaml');
    await waitFor(() => seen.length === 3, 'two changes');
    expect(seen).toEqual(['a.yaml:put', 'b.yaml:put', 'a.yaml:delete']);
    expect([...reader.config.entries().keys()]).toEqual(['b.yaml']);
  });

  it('stores a large shard as per-host chunks, rewrites only what changed, purges what is gone', async () => {
    const m = nextMesh();
    const writer = open({ mesh: m, mirror: [], inlineLimitBytes: 4096 });
    const reader = open({ mesh: m });
    await reader.ready();
    const hosts = { 'a.mesh': 30, 'b.mesh': 30, 'c.mesh': 30 };
    await writer.rawRegistry.put('big/src', message('big/src', hosts));
    await waitFor(() => reader.registry.get('big/src')?.shard.workloads.length === 90, 'the chunked shard');
    const nc = await connect({ servers: nats.url });
    try {
      const kv = await nc.jetstream().views.kv(bucketName(m, 'registry'));
      const chunkKeys = async () => {
        const keys: string[] = [];
        for await (const k of await kv.keys('c.>')) keys.push(k);
        return keys.sort();
      };
      const before = await chunkKeys();
      expect(before).toHaveLength(3);
      // One host changes: one new chunk, one purged, two untouched.
      await writer.rawRegistry.put('big/src', message('big/src', { ...hosts, 'b.mesh': 31 }));
      await waitFor(() => reader.registry.get('big/src')?.shard.workloads.length === 91, 'the update');
      const after = await chunkKeys();
      expect(after).toHaveLength(3);
      expect(after.filter((k) => before.includes(k))).toHaveLength(2);
      // A host bigger than one message (64 KiB here) is cut into runs of workloads.
      await writer.rawRegistry.put('big/src', message('big/src', { 'huge.mesh': 1000 }));
      await waitFor(() => reader.registry.get('big/src')?.shard.workloads.length === 1000, 'the huge host');
      expect(reader.registry.get('big/src')?.shard.services.map((s) => s.hostname)).toEqual(['huge.mesh']);
      expect(reader.registry.get('big/src')?.shard.workloads.map((w) => w.id)).toEqual(Array.from({ length: 1000 }, (_, i) => `huge.mesh/${i}`));
      expect((await chunkKeys()).length).toBeGreaterThan(3);
      await writer.rawRegistry.delete('big/src');
      await waitFor(() => reader.registry.get('big/src') === undefined, 'the delete');
      expect(await chunkKeys()).toEqual([]);
    } finally {
      await nc.close();
    }
  });

  it('keeps meshes apart on one NATS', async () => {
    const a = open({ mesh: nextMesh() });
    const b = open({ mesh: nextMesh() });
    await Promise.all([a.ready(), b.ready()]);
    await a.config.put('only-a', { source: 'only-a', objects: [], updatedAt: '' });
    await waitFor(() => a.config.get('only-a'), 'own write');
    expect(b.config.get('only-a')).toBeUndefined();
  });

  it('marks a source stale when its heartbeats stop, removes it after the grace period, brings it back when they resume', async () => {
    const m = nextMesh();
    const adapter = open({ mesh: m, mirror: [] });
    const xds = open({ mesh: m, liveness: { staleAfterMs: 600, graceMs: 900, checkEveryMs: 50 } });
    await xds.ready();
    await adapter.rawRegistry.put('static/a', message('static/a', { 'greeter.mesh': 1 }));
    adapter.heartbeat('static/a', 'adapter-a', 150);
    const states: string[] = [];
    xds.registry.watch((_k, v) => states.push(v ? (v.stale ? 'stale' : 'alive') : 'removed'));
    await waitFor(() => states.includes('alive'), 'source alive');
    await adapter.close(); // heartbeats stop
    await waitFor(() => states.includes('stale'), 'source stale', 10_000);
    expect(xds.registry.get('static/a')?.error).toMatch(/no heartbeat from adapter adapter-a/);
    expect(xds.registry.get('static/a')?.shard.workloads).toHaveLength(1); // kept during grace
    await waitFor(() => states.includes('removed'), 'source removed after grace', 10_000);
    expect(states).toEqual(['alive', 'stale', 'removed']);
    expect(xds.rawRegistry.get('static/a')).toBeDefined(); // KV keeps it for a returning adapter
    const back = open({ mesh: m, mirror: [] });
    back.heartbeat('static/a', 'adapter-a', 150);
    await waitFor(() => xds.registry.get('static/a')?.stale === false, 'source back');
    expect(xds.status().sources.map((s) => s.liveness)).toEqual(['alive']);
  });
});

describe('NatsBus through a NATS outage', () => {
  let nats: NatsServer;
  const buses: NatsBus[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
  });

  afterAll(async () => {
    for (const b of buses) await b.close().catch(() => undefined);
    await nats?.stop();
  });

  it('keeps the mirror while NATS is down, lands writes made meanwhile, and catches up after the restart', async () => {
    const writer = new NatsBus({ connection: { servers: [nats.url] }, mesh: 'outage', mirror: [] });
    const reader = new NatsBus({ connection: { servers: [nats.url] }, mesh: 'outage' });
    buses.push(writer, reader);
    await reader.ready();
    await writer.config.put('kept', { source: 'kept', objects: [], updatedAt: '1' });
    await writer.config.put('removed', { source: 'removed', objects: [], updatedAt: '1' });
    await waitFor(() => reader.config.entries().size === 2, 'two entries');

    await nats.kill();
    await waitFor(() => reader.connectionStatus().state !== 'connected', 'the reader to notice');
    expect(reader.config.entries().size).toBe(2); // the last state stays
    expect(reader.status().connection.state).toBe('reconnecting');
    // Writes during the outage: queued, retried, acknowledged after the restart.
    const landed = Promise.all([
      writer.config.put('during', { source: 'during', objects: [], updatedAt: '2' }),
      writer.config.delete('removed'),
    ]);
    await nats.restart();
    await landed;
    await waitFor(() => reader.config.get('during') && !reader.config.get('removed'), 'the outage writes on the reader', 30_000);
    expect([...reader.config.entries().keys()].sort()).toEqual(['during', 'kept']);
    expect(reader.connectionStatus().reconnects).toBeGreaterThanOrEqual(1);

    // A process started after all this catches up from KV alone.
    const late = new NatsBus({ connection: { servers: [nats.url] }, mesh: 'outage' });
    buses.push(late);
    await late.ready();
    expect([...late.config.entries().keys()].sort()).toEqual(['during', 'kept']);
  });

  it('waits for NATS that is not there yet, reporting why it is not ready', async () => {
    const port = nats.port;
    await nats.kill();
    const bus = new NatsBus({ connection: { servers: [`nats://127.0.0.1:${port}`] }, mesh: 'late' });
    buses.push(bus);
    await waitFor(() => bus.connectionStatus().lastError, 'a connection error');
    expect(bus.isInitialized()).toBe(false);
    expect(bus.notReadyReason()).toMatch(/NATS nats:\/\/127\.0\.0\.1:\d+: connecting since/);
    await nats.restart();
    await bus.ready();
    expect(bus.notReadyReason()).toBeUndefined();
  });
});

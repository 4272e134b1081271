import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../support/process.js';
import { startNatsServer, type NatsServer } from '../support/nats-server.js';
import { metricValue, startRole, type RoleProcess } from '../support/federation.js';
import { FEDERATED_HOST, FEDERATED_TARGET, runtimeDir, serviceEntryYaml } from '../support/runtime-files.js';
import { greeterClient, sayHello, startGreeter, tally, useXdsServer } from '../support/xds-client.js';

// NATS failures, with a nats-server this file starts late, kills and restarts itself.
describe('NATS outages', () => {
  let natsPort: number;
  let nats: NatsServer | undefined;
  let xds: RoleProcess;
  let adapter: RoleProcess | undefined;
  let client: any;
  let dir: string;
  const greeters: any[] = [];
  const natsUrl = () => `nats://127.0.0.1:${natsPort}`;

  beforeAll(async () => {
    natsPort = await freePort();
    greeters.push(await startGreeter({ version: 'v1' }), await startGreeter({ version: 'v2' }));
    dir = await runtimeDir('runtime-a', [{ port: greeters[0].port, version: 'v1', runtime: 'runtime-a' }]);
  });

  afterAll(async () => {
    client?.close();
    await adapter?.stop();
    await xds?.stop();
    for (const g of greeters) await g.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await nats?.stop();
  });

  it('NATS down at start: the xDS server is not ready and serves no config until it has the KV state', async () => {
    // --require-source: an empty KV (NATS up before any adapter) is not a mesh to serve either.
    xds = await startRole('xds', ['--nats', natsUrl(), '--stale-after', '2s', '--grace', '1m', '--require-source', 'static/runtime-a'], { waitReady: false });
    const notReady = await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${xds.httpPort}/healthz/ready`).catch(() => undefined);
      return r && r.status === 503 ? r.json() : undefined;
    }, 'a 503 from /healthz/ready');
    expect(notReady.waitingFor.join()).toMatch(/NATS nats:\/\/127\.0\.0\.1:\d+: connecting since/);
    const busz = await waitFor(async () => {
      const b = await xds.getJson('/debug/busz');
      return b.connection.lastError ? b : undefined;
    }, 'the connection error in /debug/busz');
    expect(busz.connection.state).toBe('connecting');
    expect(busz.initialized).toBe(false);

    // A proxy that connects now gets nothing at all — not an empty config.
    await useXdsServer(xds.xdsPort, 'outage-client');
    client = greeterClient(FEDERATED_TARGET);
    await expect(sayHello(client, { deadlineMs: 1500 })).rejects.toThrow();
    const syncz = await waitFor(async () => {
      const s = (await xds.getJson('/debug/syncz')) as any[];
      return s.find((p) => p.id === 'outage-client');
    }, 'the proxy on /debug/syncz');
    for (const t of Object.values(syncz.types) as any[]) expect(t.sentVersion).toBeUndefined();

    // NATS and an adapter come up: the replica loads the KV state, then serves.
    nats = await startNatsServer({ port: natsPort });
    const waiting = await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${xds.httpPort}/healthz/ready`);
      const body = r.status === 503 ? await r.json() : undefined;
      return body && body.waitingFor.join().includes('registry source static/runtime-a') ? body : undefined;
    }, 'the replica to wait for the required source once NATS is up');
    expect(waiting.waitingFor).toContain('registry source static/runtime-a on NATS');
    await expect(sayHello(client, { deadlineMs: 500 })).rejects.toThrow();
    adapter = await startRole('adapter', ['--nats', natsUrl(), '--id', 'runtime-a', '--static', dir, '--heartbeat', '250ms']);
    await xds.waitReady();
    const t = await tally(client, 20);
    expect(t).toMatchObject({ v1: 20, errors: 0 });
  });

  it('NATS down while serving: proxies keep their config, status shows the outage, updates made meanwhile arrive after the restart', async () => {
    await nats!.kill();
    const busz = await waitFor(async () => {
      const b = await xds.getJson('/debug/busz');
      return b.connection.state !== 'connected' ? b : undefined;
    }, 'the outage in /debug/busz');
    expect(busz.connection.state).toBe('reconnecting');
    expect(Date.parse(busz.connection.since)).toBeGreaterThan(0);
    const metrics = await xds.getText('/metrics');
    expect(metricValue(metrics, 'isthmus_bus_connected')).toBe(0);
    expect(metricValue(metrics, 'isthmus_bus_down_since_seconds')).toBeGreaterThan(0);
    // Still serving the last good snapshot, still ready.
    expect(await xds.ready()).toBe(true);
    const during = await tally(client, 30);
    expect(during).toMatchObject({ v1: 30, errors: 0 });

    // The runtime changes while NATS is down: a v2 instance joins. The adapter queues it.
    await writeFile(
      join(dir, 'greeter.yaml'),
      serviceEntryYaml('greeter', FEDERATED_HOST, [
        { port: greeters[0].port, version: 'v1', runtime: 'runtime-a' },
        { port: greeters[1].port, version: 'v2', runtime: 'runtime-a' },
      ]),
    );
    await waitFor(async () => (await adapter!.getJson('/debug/busz')).maps.registry.unsentWrites > 0, 'the adapter to queue the change');
    expect((await tally(client, 20)).v2).toBe(0);

    await nats!.restart();
    await waitFor(async () => (await tally(client, 20)).v2 > 0, 'the change made during the outage to reach the proxy', 30_000);
    const after = await xds.getJson('/debug/busz');
    expect(after.connection.state).toBe('connected');
    expect(after.connection.reconnects).toBeGreaterThanOrEqual(1);
    expect(metricValue(await xds.getText('/metrics'), 'isthmus_bus_reconnects_total')).toBeGreaterThanOrEqual(1);
    // The outage aged nobody: the adapter's source never went stale.
    expect(after.sources.map((s: any) => s.liveness)).toEqual(['alive']);
    expect(xds.logs()).not.toContain('source marked stale');
    const t = await tally(client, 100);
    expect(t.errors).toBe(0);
    expect(t.v1 + t.v2).toBe(100);
    expect(metricValue(await xds.getText('/metrics'), 'isthmus_bus_lag_seconds_count', { map: 'registry' })).toBeGreaterThan(0);
    // The change reached a built snapshot, not only this process's copy of the KV.
    await waitFor(async () => metricValue(await xds.getText('/metrics'), 'isthmus_bus_snapshot_lag_seconds_count', { map: 'registry' }) > 0, 'the change in a built snapshot');
  });
});

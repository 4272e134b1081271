import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/process.js';
import { startNatsCluster } from '../support/nats-server.js';
import { startRole, type RoleProcess } from '../support/federation.js';
import { FEDERATED_HOST, FEDERATED_TARGET, runtimeDir, serviceEntryYaml } from '../support/runtime-files.js';
import { greeterClient, startGreeter, tally, useXdsServer } from '../support/xds-client.js';

// A 3-node JetStream cluster with buckets replicated 3 times loses the member the xDS
// server is connected to: the mesh does not notice.
describe('a 3-node NATS cluster losing one member', () => {
  let cluster: Awaited<ReturnType<typeof startNatsCluster>>;
  let adapter: RoleProcess;
  let xds: RoleProcess;
  let client: any;
  let dir: string;
  const greeters: any[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster();
    greeters.push(await startGreeter({ version: 'v1' }), await startGreeter({ version: 'v2' }));
    dir = await runtimeDir('runtime-a', [{ port: greeters[0].port, version: 'v1', runtime: 'runtime-a' }]);
    const nats = ['--nats', cluster.urls, '--nats-replicas', '3'];
    adapter = await startRole('adapter', [...nats, '--id', 'runtime-a', '--static', dir, '--heartbeat', '250ms']);
    xds = await startRole('xds', [...nats, '--stale-after', '2s', '--grace', '1m']);
    await useXdsServer(xds.xdsPort, 'cluster-client');
    client = greeterClient(FEDERATED_TARGET);
  });

  afterAll(async () => {
    client?.close();
    await adapter?.stop();
    await xds?.stop();
    for (const g of greeters) await g.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('keeps serving, moves to another member, and still carries updates', async () => {
    expect(await tally(client, 20)).toMatchObject({ v1: 20, errors: 0 });
    const server = (await xds.getJson('/debug/busz')).connection.server as string;
    const victim = cluster.servers.find((s) => server.endsWith(`:${s.port}`));
    expect(victim, `xDS connected to ${server}`).toBeDefined();
    await victim!.kill();

    const during = await tally(client, 50);
    expect(during).toMatchObject({ v1: 50, errors: 0 });
    const moved = await waitFor(async () => {
      const b = await xds.getJson('/debug/busz');
      return b.connection.state === 'connected' && b.connection.server !== server ? b : undefined;
    }, 'the xDS server on another member', 30_000);
    expect(moved.initialized).toBe(true);
    expect(await xds.ready()).toBe(true);

    // A change after the loss still flows adapter → KV (2 of 3 replicas) → xDS → proxy.
    await writeFile(
      join(dir, 'greeter.yaml'),
      serviceEntryYaml('greeter', FEDERATED_HOST, [
        { port: greeters[0].port, version: 'v1', runtime: 'runtime-a' },
        { port: greeters[1].port, version: 'v2', runtime: 'runtime-a' },
      ]),
    );
    // After the loss the write waits for a stream leader on the survivors, and a watch whose
    // consumer lived on the lost member is recreated only after two missed 5 s idle
    // heartbeats: under a loaded machine that can take well over 30 s. On a timeout the
    // roles' logs say which side stalled.
    try {
      await waitFor(async () => (await tally(client, 20)).v2 > 0, 'the update to reach the proxy', 75_000);
    } catch (err) {
      const bus = async (r: RoleProcess) => JSON.stringify(await r.getJson('/debug/busz').catch(String));
      throw new Error(
        `${(err as Error).message}\n--- adapter /debug/busz: ${await bus(adapter)}\n--- adapter log:\n${adapter.logs()}` +
          `\n--- xds /debug/busz: ${await bus(xds)}\n--- xds log:\n${xds.logs()}`,
      );
    }
    const t = await tally(client, 40);
    expect(t.errors).toBe(0);
    expect((await xds.getJson('/debug/busz')).sources.map((s: any) => s.liveness)).toEqual(['alive']);
  }, 180_000);
});

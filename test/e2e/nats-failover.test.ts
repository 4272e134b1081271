import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, waitFor } from '../support/process.js';
import { startNatsServer, type NatsServer } from '../support/nats-server.js';
import { metricValue, startFailoverProxy, startRole, type RoleProcess } from '../support/federation.js';
import { FEDERATED_TARGET, runtimeDir } from '../support/runtime-files.js';
import { greeterClient, startGreeter, tally, useXdsServer } from '../support/xds-client.js';

const CLIENT = 'failover-client';

interface TypeVersions {
  [typeUrl: string]: string;
}

async function ackedVersions(x: RoleProcess): Promise<TypeVersions | undefined> {
  const proxies = (await x.getJson('/debug/syncz')) as any[];
  const p = proxies.find((q) => q.id === CLIENT);
  if (!p) return undefined;
  const out: TypeVersions = {};
  for (const [typeUrl, t] of Object.entries(p.types) as [string, any][]) {
    if (t.status !== 'ACKED' || !t.ackedVersion) return undefined;
    out[typeUrl] = t.ackedVersion;
  }
  return Object.keys(out).length >= 4 ? out : undefined;
}

// Two xDS replicas behind one server_uri (grpc-js-xds only uses the first xds_servers
// entry), a real nats-server shared by this file (not killed here).
describe('an xDS replica killed under a proxyless gRPC client', () => {
  let nats: NatsServer;
  let adapter: RoleProcess;
  let xdsA: RoleProcess;
  let xdsB: RoleProcess;
  let proxy: Awaited<ReturnType<typeof startFailoverProxy>>;
  let client: any;
  let dir: string;
  const greeters: any[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    greeters.push(await startGreeter({ version: 'v1' }), await startGreeter({ version: 'v2' }));
    dir = await runtimeDir('runtime-a', [
      { port: greeters[0].port, version: 'v1', runtime: 'runtime-a' },
      { port: greeters[1].port, version: 'v2', runtime: 'runtime-b' },
    ]);
    adapter = await startRole('adapter', ['--nats', nats.url, '--id', 'runtime-a', '--static', dir]);
    [xdsA, xdsB] = await Promise.all([startRole('xds', ['--nats', nats.url]), startRole('xds', ['--nats', nats.url])]);
    proxy = await startFailoverProxy(() => [xdsA.xdsPort, xdsB.xdsPort]);
    await useXdsServer(proxy.port, CLIENT);
    client = greeterClient(FEDERATED_TARGET);
  });

  afterAll(async () => {
    client?.close();
    await proxy?.close();
    for (const r of [adapter, xdsA, xdsB]) await r?.stop();
    for (const g of greeters) await g.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await nats?.stop();
  });

  it('reconnects to the other replica, which has the same versions and pushes nothing', async () => {
    const before = await tally(client, 20);
    expect(before.errors, before.lastError).toBe(0);
    expect(proxy.connections()).toEqual([xdsA.xdsPort]);
    const onA = await waitFor(() => ackedVersions(xdsA), 'the client to ACK every type on replica A');

    await xdsA.kill();
    // The data plane never depended on the control plane: calls go on during the switch.
    const during = await tally(client, 50);
    expect(during.errors, during.lastError).toBe(0);

    const onB = await waitFor(() => ackedVersions(xdsB), 'the client on replica B', 30_000);
    expect(proxy.connections().at(-1)).toBe(xdsB.xdsPort);
    expect(onB).toEqual(onA);
    // Same content hashes: B answered the reconnect with nothing to send.
    const pushes = metricValue(await xdsB.getText('/metrics'), 'isthmus_xds_pushes_total');
    expect(Number.isNaN(pushes) ? 0 : pushes).toBe(0);
  });

  it('keeps following changes through the new replica', async () => {
    const file = join(tmpdir(), `failover-all-v2-${process.pid}.yaml`);
    const canary = await readFile('examples/federated/rules/canary.yaml', 'utf8');
    await writeFile(file, canary.replace('weight: 95', 'weight: 0').replace('weight: 5', 'weight: 100'));
    try {
      const r = await runCli(['apply', '-f', file, '--nats', nats.url]);
      expect(r.code, r.stderr).toBe(0);
      await waitFor(async () => (await tally(client, 20)).v2 === 20, 'all traffic on v2 through replica B');
      expect(metricValue(await xdsB.getText('/metrics'), 'isthmus_xds_pushes_total')).toBeGreaterThan(0);
    } finally {
      await rm(file, { force: true });
    }
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulSimulator } from '../sim/consul/src/index.js';
import { startServe, waitFor, type ServeProcess } from '../support/process.js';
import { greeterClient, startGreeter, tally, useXdsServer } from '../support/xds-client.js';

const HOST = 'greeter.service.consul';
const TARGET = `xds:///${HOST}:50051`;

// Rules for the Consul service, as a user would keep them next to `isthmus serve`.
const RULES = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: greeter, namespace: default}
spec:
  hosts: [${HOST}]
  http:
    - name: canary-split
      route:
        - destination: {host: ${HOST}, subset: v1}
          weight: 95
        - destination: {host: ${HOST}, subset: v2}
          weight: 5
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: greeter, namespace: default}
spec:
  host: ${HOST}
  subsets:
    - name: v1
      labels: {version: v1}
    - name: v2
      labels: {version: v2}
`;

// One control plane (`isthmus serve --consul`) fed by the Consul simulator, two real
// greeter backends registered in it, and a real grpc-js-xds client.
describe('Consul end to end: greeter v1/v2 from Consul, routed by Istio rules, to grpc-js-xds', () => {
  let sim: ConsulSimulator;
  let v1: any;
  let v2: any;
  let dir: string;
  let serve: ServeProcess;
  let client: any;

  const register = (version: 'v1' | 'v2', port: number) =>
    sim.registerInstance({
      service: 'greeter',
      id: `greeter-${version}`,
      node: `node-${version}`,
      nodeAddress: '127.0.0.1',
      port,
      // protocol: gRPC routing; mesh_port: the port clients dial, whatever each instance listens on.
      meta: { version, protocol: 'grpc', mesh_port: '50051' },
    });
  const registry = () => serve.getJson('/debug/registryz');
  const consulSource = async () => (await registry()).sources.find((s: any) => s.source === 'consul/dc1');
  const greeterWorkloads = async () => (await registry()).services.find((s: any) => s.hostname === HOST)?.workloads ?? [];

  beforeAll(async () => {
    v1 = await startGreeter({ version: 'v1' });
    v2 = await startGreeter({ version: 'v2' });
    sim = await ConsulSimulator.start();
    register('v1', v1.port);
    register('v2', v2.port);
    dir = await mkdtemp(join(tmpdir(), 'isthmus-consul-e2e-'));
    await writeFile(join(dir, 'routes.yaml'), RULES);
    serve = await startServe(['--consul', sim.url, '--consul-dc', 'dc1', '--static', dir]);
    await useXdsServer(serve.xdsPort, 'consul-e2e');
    client = greeterClient(TARGET);
  });

  afterAll(async () => {
    client?.close();
    await serve?.stop();
    await sim?.stop();
    await v1?.stop();
    await v2?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('publishes the Consul instances: mesh port 50051, each endpoint on its own port, version labels', async () => {
    const source = await consulSource();
    expect(source).toMatchObject({ synced: true, stale: false, services: 1, workloads: 2 });
    const service = (await registry()).services.find((s: any) => s.hostname === HOST);
    expect(service.ports).toEqual([{ name: 'grpc', number: 50051, protocol: 'GRPC' }]);
    const byVersion = Object.fromEntries(service.workloads.map((w: any) => [w.labels.version, w.ports.grpc]));
    expect(byVersion).toEqual({ v1: v1.port, v2: v2.port });
  });

  it('splits 95/5 between v1 and v2 over 1000 calls', async () => {
    const t = await tally(client, 1000);
    expect(t.errors, t.lastError).toBe(0);
    // Binomial(1000, 0.05): mean 50, sd ≈ 6.9; the band is about ±4.4 sd.
    expect(t.v2).toBeGreaterThanOrEqual(20);
    expect(t.v2).toBeLessThanOrEqual(80);
  });

  it('keeps traffic flowing on the last good endpoints while Consul is down, and catches up after', async () => {
    await sim.down();
    await waitFor(async () => (await consulSource())?.stale === true, 'the Consul source to be marked stale');
    expect((await consulSource()).lastError).toMatch(/Consul http:\/\/127\.0\.0\.1:\d+: .*watches failing/);
    expect(await greeterWorkloads()).toHaveLength(2);
    expect(await serve.getText('/metrics')).toContain('isthmus_consul_source_stale{source="consul/dc1"} 1');
    const during = await tally(client, 300);
    expect(during.errors, during.lastError).toBe(0);
    expect(during.v1 + during.v2).toBe(300);

    await sim.up();
    await waitFor(async () => (await consulSource())?.stale === false, 'the stale mark to clear');
    expect(await serve.getText('/metrics')).toContain('isthmus_consul_source_stale{source="consul/dc1"} 0');
  });

  it('moves all traffic to v1 without errors when v2 is deregistered from Consul', async () => {
    sim.deregisterInstance('greeter-v2');
    await waitFor(async () => (await greeterWorkloads()).length === 1, 'v2 to leave the registry');
    await waitFor(async () => {
      const t = await tally(client, 40);
      return t.v2 === 0 && t.errors === 0;
    }, 'clients to stop calling v2');
    const t = await tally(client, 300);
    expect(t).toMatchObject({ v1: 300, v2: 0, errors: 0 });
  });

  it('splits again once v2 re-registers', async () => {
    register('v2', v2.port);
    await waitFor(async () => (await greeterWorkloads()).length === 2, 'v2 back in the registry');
    await waitFor(async () => (await tally(client, 200)).v2 > 0, 'v2 to serve again');
  });
});

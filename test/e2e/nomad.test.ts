import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NomadSimulator, uuid } from '../sim/nomad/src/index.js';
import { startServe, waitFor, type ServeProcess } from '../support/process.js';
import { byInstance, greeterClient, startGreeter, tally, useXdsServer } from '../support/xds-client.js';

const HOST = 'greeter.service.nomad';
const TARGET = `xds:///${HOST}:50051`;

// Rules for the Nomad service, as a user would keep them next to `isthmus serve`: the
// article's content-based route (iPhones to v2) and a 95/5 canary split.
const RULES = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: greeter, namespace: default}
spec:
  hosts: [${HOST}]
  http:
    - name: iphone-to-canary
      match:
        - headers:
            x-device: {exact: iphone}
      route:
        - destination: {host: ${HOST}, subset: v2}
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

// One control plane (`isthmus serve --nomad`) fed by the Nomad simulator, three real
// greeter backends registered as allocations of one job (two v1, one v2 canary with
// canary_tags), and a real grpc-js-xds client.
describe('Nomad end to end: greeter v1 and a v2 canary from Nomad, routed by Istio rules, to grpc-js-xds', () => {
  let sim: NomadSimulator;
  let v1: any;
  let v1b: any;
  let v2: any;
  let dir: string;
  let serve: ServeProcess;
  let client: any;
  const allocs = { v1: uuid('e2e/greeter/v1'), v1b: uuid('e2e/greeter/v1b'), v2: uuid('e2e/greeter/v2') };

  // protocol: gRPC routing; mesh_port: the port clients dial, whatever dynamic port each allocation got.
  const register = (version: 'v1' | 'v2', port: number, allocId: string) => {
    sim.registerService({
      service: 'greeter',
      allocId,
      job: 'greeter',
      group: 'api',
      portLabel: 'grpc',
      address: '127.0.0.1',
      port,
      tags: version === 'v2' ? ['v2', 'canary', 'protocol=grpc', 'mesh_port=50051'] : ['v1', 'protocol=grpc', 'mesh_port=50051'],
    });
    sim.setCheck({ allocId, status: 'success' });
  };
  const registry = () => serve.getJson('/debug/registryz');
  const nomadSource = async () => (await registry()).sources.find((s: any) => s.source === 'nomad/global');
  const greeterWorkloads = async () => (await registry()).services.find((s: any) => s.hostname === HOST)?.workloads ?? [];

  beforeAll(async () => {
    v1 = await startGreeter({ version: 'v1' });
    v1b = await startGreeter({ version: 'v1' });
    v2 = await startGreeter({ version: 'v2' });
    sim = await NomadSimulator.start();
    register('v1', v1.port, allocs.v1);
    register('v1', v1b.port, allocs.v1b);
    register('v2', v2.port, allocs.v2);
    dir = await mkdtemp(join(tmpdir(), 'isthmus-nomad-e2e-'));
    await writeFile(join(dir, 'routes.yaml'), RULES);
    serve = await startServe(['--nomad', sim.url, '--nomad-region', 'global', '--static', dir]);
    await useXdsServer(serve.xdsPort, 'nomad-e2e');
    client = greeterClient(TARGET);
  });

  afterAll(async () => {
    client?.close();
    await serve?.stop();
    await sim?.stop();
    await v1?.stop();
    await v1b?.stop();
    await v2?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('publishes the Nomad registrations: mesh port 50051, each allocation on its own port, version and Nomad labels', async () => {
    const source = await nomadSource();
    expect(source).toMatchObject({ synced: true, stale: false, services: 1, workloads: 3 });
    const service = (await registry()).services.find((s: any) => s.hostname === HOST);
    expect(service.ports).toEqual([{ name: 'grpc', number: 50051, protocol: 'GRPC' }]);
    const byAlloc = Object.fromEntries(service.workloads.map((w: any) => [w.labels['nomad.hashicorp.com/alloc-id'], w]));
    expect(byAlloc[allocs.v1].ports).toEqual({ grpc: v1.port });
    expect(byAlloc[allocs.v1b].ports).toEqual({ grpc: v1b.port });
    expect(byAlloc[allocs.v2].ports).toEqual({ grpc: v2.port });
    const byVersion = Object.fromEntries(service.workloads.map((w: any) => [w.labels.version, w]));
    expect(byVersion.v2.labels).toMatchObject({
      canary: 'true',
      'nomad.hashicorp.com/alloc-id': allocs.v2,
      'nomad.hashicorp.com/job': 'greeter',
      'nomad.hashicorp.com/task-group': 'api',
    });
    expect(byVersion.v1.locality).toEqual({ region: 'dc1' });
  });

  it('splits 95/5 between v1 and v2 over 1000 calls', async () => {
    const t = await tally(client, 1000);
    expect(t.errors, t.lastError).toBe(0);
    // Binomial(1000, 0.05): mean 50, sd ≈ 6.9; the band is about ±4.4 sd.
    expect(t.v2).toBeGreaterThanOrEqual(20);
    expect(t.v2).toBeLessThanOrEqual(80);
  });

  it('sends x-device: iphone to the v2 canary only', async () => {
    expect(await tally(client, 200, { 'x-device': 'iphone' })).toMatchObject({ v1: 0, v2: 200, errors: 0 });
  });

  it('removes the endpoint of an allocation that stops: its traffic moves to the other v1 allocation, without errors', async () => {
    const before = await byInstance(client, 100);
    expect(before.instances[v1b.address]).toBeGreaterThan(0);
    sim.stopAllocation(allocs.v1b);
    await waitFor(async () => (await greeterWorkloads()).length === 2, 'the stopped allocation to leave the registry');
    await waitFor(async () => (await byInstance(client, 40)).instances[v1b.address] === undefined, 'clients to stop calling it');
    const after = await byInstance(client, 300);
    expect(after.errors).toBe(0);
    expect(after.instances[v1b.address]).toBeUndefined();
    expect(after.instances[v1.address]).toBeGreaterThan(200);
  });

  it('keeps traffic flowing on the last good endpoints while Nomad is down, and catches up after', async () => {
    await sim.down();
    await waitFor(async () => (await nomadSource())?.stale === true, 'the Nomad source to be marked stale');
    expect((await nomadSource()).lastError).toMatch(/Nomad http:\/\/127\.0\.0\.1:\d+: .*queries failing/);
    expect(await greeterWorkloads()).toHaveLength(2);
    expect(await serve.getText('/metrics')).toContain('isthmus_nomad_source_stale{source="nomad/global"} 1');
    const during = await tally(client, 300);
    expect(during.errors, during.lastError).toBe(0);
    expect(during.v1).toBeGreaterThan(250);
    expect(await tally(client, 50, { 'x-device': 'iphone' })).toMatchObject({ v2: 50, errors: 0 });

    await sim.up();
    await waitFor(async () => (await nomadSource())?.stale === false, 'the stale mark to clear');
    // A replacement allocation (rescheduled on another port) is routed as soon as it registers.
    const v1c = await startGreeter({ version: 'v1' });
    try {
      register('v1', v1c.port, uuid('e2e/greeter/v1c'));
      await waitFor(async () => ((await byInstance(client, 100)).instances[v1c.address] ?? 0) > 0, 'the new allocation to serve');
    } finally {
      await v1c.stop();
    }
  });
});

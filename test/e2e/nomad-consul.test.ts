import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulSimulator } from '../sim/consul/src/index.js';
import { NomadSimulator, uuid } from '../sim/nomad/src/index.js';
import { startServe, waitFor, type ServeProcess } from '../support/process.js';
import { byInstance, greeterClient, startGreeter, useXdsServer } from '../support/xds-client.js';

// Both runtimes map into one shared domain, so `greeter` from Consul and `greeter` from
// Nomad are one mesh service.
const HOST = 'greeter.mesh.internal';
const TARGET = `xds:///${HOST}:50051`;

// One `isthmus serve` fed by a Consul simulator and a Nomad simulator at once: the same
// service name registered in both (a service being migrated from VMs in Consul to Nomad),
// each runtime running one real greeter, and a real grpc-js-xds client.
describe('one mesh over Consul and Nomad: the same service from both runtimes receives traffic on both', () => {
  let consul: ConsulSimulator;
  let nomad: NomadSimulator;
  let onConsul: any;
  let onNomad: any;
  let serve: ServeProcess;
  let client: any;
  const alloc = uuid('mixed/greeter');

  const registry = () => serve.getJson('/debug/registryz');
  const greeter = async () => (await registry()).services.find((s: any) => s.hostname === HOST);

  beforeAll(async () => {
    onConsul = await startGreeter({ version: 'v1' });
    onNomad = await startGreeter({ version: 'v2' });
    consul = await ConsulSimulator.start();
    nomad = await NomadSimulator.start();
    // The same service, the same mesh port and protocol, told the way each runtime can:
    // Consul service meta, Nomad tags (native registrations carry no meta).
    consul.registerInstance({
      service: 'greeter',
      id: 'greeter-vm-1',
      node: 'vm-1',
      nodeAddress: '127.0.0.1',
      port: onConsul.port,
      meta: { version: 'v1', protocol: 'grpc', mesh_port: '50051' },
    });
    nomad.registerService({
      service: 'greeter',
      allocId: alloc,
      address: '127.0.0.1',
      port: onNomad.port,
      tags: ['v2', 'protocol=grpc', 'mesh_port=50051'],
    });
    serve = await startServe([
      '--consul', consul.url, '--consul-dc', 'dc1', '--consul-domain', 'mesh.internal',
      '--nomad', nomad.url, '--nomad-region', 'global', '--nomad-domain', 'mesh.internal',
    ]);
    await useXdsServer(serve.xdsPort, 'consul-nomad-e2e');
    client = greeterClient(TARGET);
  });

  afterAll(async () => {
    client?.close();
    await serve?.stop();
    await consul?.stop();
    await nomad?.stop();
    await onConsul?.stop();
    await onNomad?.stop();
  });

  it('merges the two registrations into one service with workloads from both sources', async () => {
    const reg = await registry();
    expect(reg.sources.map((s: any) => [s.source, s.synced, s.stale])).toEqual([
      ['consul/dc1', true, false],
      ['nomad/global', true, false],
    ]);
    const service = await greeter();
    expect(service.sources).toEqual(['consul/dc1', 'nomad/global']);
    expect(service.ports).toEqual([{ name: 'grpc', number: 50051, protocol: 'GRPC' }]);
    expect(service.workloads.map((w: any) => [w.source, w.ports.grpc]).sort()).toEqual(
      [
        ['consul/dc1', onConsul.port],
        ['nomad/global', onNomad.port],
      ].sort(),
    );
  });

  it('sends traffic to the workloads of both runtimes', async () => {
    const t = await byInstance(client, 200);
    expect(t.errors).toBe(0);
    expect(t.instances[onConsul.address]).toBeGreaterThan(0);
    expect(t.instances[onNomad.address]).toBeGreaterThan(0);
    expect(t.instances[onConsul.address]! + t.instances[onNomad.address]!).toBe(200);
  });

  it('keeps serving the Consul workload when the Nomad allocation stops, and takes a new one', async () => {
    nomad.stopAllocation(alloc);
    await waitFor(async () => (await greeter())?.workloads.length === 1, 'the Nomad workload to leave');
    await waitFor(async () => (await byInstance(client, 30)).instances[onNomad.address] === undefined, 'clients to stop calling it');
    const t = await byInstance(client, 100);
    expect(t).toEqual({ instances: { [onConsul.address]: 100 }, errors: 0 });
    nomad.registerService({ service: 'greeter', allocId: uuid('mixed/greeter-2'), address: '127.0.0.1', port: onNomad.port, tags: ['v2', 'protocol=grpc', 'mesh_port=50051'] });
    await waitFor(async () => ((await byInstance(client, 50)).instances[onNomad.address] ?? 0) > 0, 'the new Nomad allocation to serve');
  });
});

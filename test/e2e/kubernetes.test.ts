import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesSimulator, endpointSlice, namespace, node, pod, service } from '../sim/kubernetes/src/index.js';
import { startServe, waitFor, type ServeProcess } from '../support/process.js';
import { byInstance, greeterClient, startGreeter, tally, useXdsServer } from '../support/xds-client.js';

const HOST = 'greeter.default.svc.cluster.local';
const TARGET = `xds:///${HOST}:50051`;
const SOURCE = 'kubernetes/Kubernetes';

const virtualService = (v1Weight: number) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'greeter', namespace: 'default' },
  spec: {
    hosts: ['greeter'],
    http: [
      {
        name: 'canary-split',
        route: [
          { destination: { host: 'greeter', subset: 'v1' }, weight: v1Weight },
          { destination: { host: 'greeter', subset: 'v2' }, weight: 100 - v1Weight },
        ],
      },
    ],
  },
});

const destinationRule = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'greeter', namespace: 'default' },
  spec: {
    host: 'greeter',
    subsets: [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
    ],
  },
};

/** What the control plane asked the API server for, in RBAC terms (checked against deploy/kubernetes/rbac.yaml below). */
const observedRequests: { group: string; resource: string; verb: string }[] = [];

function rbacRequest(method: string, path: string, query: Record<string, string>): { group: string; resource: string; verb: string } | undefined {
  const parts = path.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts[1] === 'v1') [group, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 4) [group, rest] = [parts[1]!, parts.slice(3)];
  else return undefined; // discovery, /version
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, sub] = rest;
  if (!resource) return undefined;
  if (method === 'GET') return { group, resource, verb: query.watch ? 'watch' : name ? 'get' : 'list' };
  if (method === 'PATCH') return { group, resource: sub ? `${resource}/${sub}` : resource, verb: 'patch' };
  return { group, resource, verb: method.toLowerCase() };
}

// One control plane (`isthmus serve --kubeconfig`) reading Services, EndpointSlices, Pods,
// Nodes and Istio CRDs from the API-server simulator; three real greeter backends as pods
// (two v1, one v2); a real grpc-js-xds client dialing the Kubernetes service name.
describe('Kubernetes end to end: Service + EndpointSlices + a VirtualService CRD, to grpc-js-xds', () => {
  let sim: KubernetesSimulator;
  let dir: string;
  let serve: ServeProcess;
  let client: any;
  const greeters: Record<string, any> = {};

  // Every greeter listens on 127.0.0.1 on its own port, so each pod gets its own slice (an
  // EndpointSlice's ports apply to all of its endpoints), as pods of one Deployment whose
  // named container port differs would.
  const slice = (name: string, opts: { ready?: boolean } = {}) =>
    endpointSlice({
      name: `greeter-${name}`,
      namespace: 'default',
      service: 'greeter',
      ports: [{ name: 'grpc', port: greeters[name].port, protocol: 'TCP', appProtocol: 'grpc' }],
      endpoints: [{ address: '127.0.0.1', ready: opts.ready ?? true, nodeName: 'node-a', pod: { name: `greeter-${name}` } }],
    });
  const addPod = (name: string, version: string) => {
    sim.apply(
      pod({
        name: `greeter-${name}`,
        namespace: 'default',
        labels: { app: 'greeter', version },
        ip: '127.0.0.1',
        nodeName: 'node-a',
        serviceAccountName: 'greeter',
        containerPorts: [{ name: 'grpc', containerPort: greeters[name].port }],
      }),
    );
    sim.apply(slice(name));
  };
  const registry = () => serve.getJson('/debug/registryz');
  const source = async () => (await registry()).sources.find((s: any) => s.source === SOURCE);
  const greeterService = async () => (await registry()).services.find((s: any) => s.hostname === HOST);
  const healthyAddresses = async () =>
    ((await greeterService())?.workloads ?? []).filter((w: any) => w.health === 'HEALTHY').map((w: any) => w.ports.grpc);

  beforeAll(async () => {
    greeters.v1 = await startGreeter({ version: 'v1' });
    greeters.v1b = await startGreeter({ version: 'v1' });
    greeters.v2 = await startGreeter({ version: 'v2' });
    sim = await KubernetesSimulator.start({ bookmarkIntervalMs: 200 });
    sim.apply(namespace('default'));
    sim.apply(node('node-a', { region: 'eu-west-1', zone: 'eu-west-1a' }));
    sim.apply(service({ name: 'greeter', namespace: 'default', ports: [{ name: 'grpc', port: 50051, targetPort: 'grpc', appProtocol: 'grpc' }], selector: { app: 'greeter' } }));
    addPod('v1', 'v1');
    addPod('v1b', 'v1');
    addPod('v2', 'v2');
    sim.apply(destinationRule);
    sim.apply(virtualService(95));
    dir = await mkdtemp(join(tmpdir(), 'isthmus-k8s-e2e-'));
    const kubeconfig = join(dir, 'kubeconfig');
    sim.writeKubeconfig(kubeconfig);
    serve = await startServe(['--kubeconfig', kubeconfig, '--context', 'isthmus-sim', '--kube-write-status']);
    await useXdsServer(serve.xdsPort, 'kubernetes-e2e');
    client = greeterClient(TARGET);
  });

  afterAll(async () => {
    client?.close();
    await serve?.stop();
    for (const r of sim?.requests() ?? []) {
      const request = rbacRequest(r.method, r.path, r.query);
      if (request) observedRequests.push(request);
    }
    await sim?.stop();
    for (const g of Object.values(greeters)) await g?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('publishes the Service with one workload per pod: pod labels, SPIFFE identity, node locality', async () => {
    expect(await source()).toMatchObject({ synced: true, stale: false, services: 1, workloads: 3 });
    const svc = await greeterService();
    expect(svc.ports).toEqual([{ name: 'grpc', number: 50051, protocol: 'GRPC' }]);
    const v2 = svc.workloads.find((w: any) => w.labels.version === 'v2');
    expect(v2).toMatchObject({
      address: '127.0.0.1',
      ports: { grpc: greeters.v2.port },
      health: 'HEALTHY',
      identity: 'spiffe://cluster.local/ns/default/sa/greeter',
      locality: { region: 'eu-west-1', zone: 'eu-west-1a' },
    });
    expect(v2.labels).toMatchObject({ app: 'greeter', version: 'v2' });
  });

  it('splits 95/5 between v1 and v2 as the VirtualService CRD says', async () => {
    const t = await tally(client, 1000);
    expect(t.errors, t.lastError).toBe(0);
    // Binomial(1000, 0.05): mean 50, sd ≈ 6.9; the band is about ±4.4 sd.
    expect(t.v2).toBeGreaterThanOrEqual(20);
    expect(t.v2).toBeLessThanOrEqual(80);
  });

  it('follows a change of the CRD: 0/100 sends everything to v2, and back', async () => {
    sim.apply(virtualService(0));
    await waitFor(async () => (await tally(client, 50)).v2 === 50, 'all traffic to move to v2');
    expect(await tally(client, 200)).toMatchObject({ v1: 0, v2: 200, errors: 0 });
    sim.apply(virtualService(95));
    await waitFor(async () => (await tally(client, 50)).v1 > 30, 'the 95/5 split to return');
  });

  it('rejects an invalid CRD with an error naming the object and field, and keeps the last good rules', async () => {
    const bad = virtualService(95);
    (bad.spec.http[0]!.route[0] as any).weight = 'ninety';
    sim.apply(bad);
    const part = 'kubernetes/Kubernetes/VirtualService/default/greeter';
    await waitFor(async () => (await serve.getJson('/debug/configz')).rejected?.[part], 'the refusal to be reported');
    const configz = await serve.getJson('/debug/configz');
    expect(configz.rejected[part]).toEqual([
      'kubernetes/Kubernetes:VirtualService/default/greeter: spec.http[0].route[0].weight: must be an integer, got "ninety"',
    ]);
    // --kube-write-status: the error is on the object itself, where `kubectl get -o yaml` shows it.
    await waitFor(() => (sim.get('networking.istio.io/v1', 'VirtualService', 'default', 'greeter') as any)?.status?.validationMessages?.length > 0, 'the validation status');
    const status = (sim.get('networking.istio.io/v1', 'VirtualService', 'default', 'greeter') as any).status;
    expect(JSON.stringify(status.validationMessages)).toContain('spec.http[0].route[0].weight');
    const t = await tally(client, 400);
    expect(t.errors).toBe(0);
    expect(t.v1).toBeGreaterThan(300);
    sim.apply(virtualService(95));
    await waitFor(() => !(sim.get('networking.istio.io/v1', 'VirtualService', 'default', 'greeter') as any)?.status?.validationMessages?.length, 'the status to clear once fixed');
  });

  it('takes a pod that becomes not ready out of the rotation, without errors', async () => {
    const before = await byInstance(client, 100);
    expect(before.instances[greeters.v1b.address]).toBeGreaterThan(0);
    sim.apply(slice('v1b', { ready: false }));
    await waitFor(async () => !(await healthyAddresses()).includes(greeters.v1b.port), 'the pod to turn unhealthy in the registry');
    await waitFor(async () => (await byInstance(client, 40)).instances[greeters.v1b.address] === undefined, 'clients to stop calling it');
    const after = await byInstance(client, 300);
    expect(after.errors).toBe(0);
    expect(after.instances[greeters.v1b.address]).toBeUndefined();
    expect(after.instances[greeters.v1.address]).toBeGreaterThan(200);
  });

  it('loses no update when the watch is expired with 410 Gone: it relists and sees the change', async () => {
    const listsBefore = sim.requests('/apis/discovery.k8s.io/v1/endpointslices').filter((r) => r.query.watch === undefined).length;
    // In one tick: every open watch gets the 410 ERROR event and closes, the pod turns ready
    // again while no watch is open, and the history is compacted, so re-watching from the
    // last version seen is refused too. Only a relist can deliver the change.
    sim.goneMode = 'event';
    sim.expireWatches();
    sim.apply(slice('v1b', { ready: true }));
    sim.compact();
    await waitFor(async () => (await healthyAddresses()).includes(greeters.v1b.port), 'the pod to be ready again after the relist');
    await waitFor(async () => ((await byInstance(client, 40)).instances[greeters.v1b.address] ?? 0) > 0, 'clients to call it again');
    const listsAfter = sim.requests('/apis/discovery.k8s.io/v1/endpointslices').filter((r) => r.query.watch === undefined).length;
    expect(listsAfter).toBeGreaterThan(listsBefore);
    expect(await source()).toMatchObject({ stale: false, workloads: 3 });
  });

  it('keeps serving the last good endpoints while the API server is down, and catches up after', async () => {
    await sim.down();
    await waitFor(async () => (await source())?.stale === true, 'the source to be marked stale');
    const during = await tally(client, 200);
    expect(during.errors, during.lastError).toBe(0);
    expect((await greeterService()).workloads).toHaveLength(3);
    await sim.up();
    await waitFor(async () => (await source())?.stale === false, 'the stale mark to clear');
    sim.remove('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'greeter-v1b');
    await waitFor(async () => (await greeterService()).workloads.length === 2, 'the removed slice to leave the registry');
  });
});

// deploy/kubernetes/rbac.yaml is what users apply: it must grant every request the control
// plane made in the run above (a permission missing there is a degraded mesh in a cluster).
describe('deploy/kubernetes/rbac.yaml', () => {
  it('grants every list, watch and status patch `isthmus serve --kube-write-status` makes', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parseAllDocuments } = await import('yaml');
    const { ROOT } = await import('../support/process.js');
    const docs = parseAllDocuments(await readFile(join(ROOT, 'deploy/kubernetes/rbac.yaml'), 'utf8')).map((d) => d.toJS());
    const rules = docs.filter((d) => d.kind === 'ClusterRole').flatMap((d) => d.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]);
    const allowed = (group: string, resource: string, verb: string) =>
      rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    expect(observedRequests.length).toBeGreaterThan(0);
    const missing = observedRequests.filter((r) => !allowed(r.group, r.resource, r.verb)).map((r) => `${r.verb} ${r.group}/${r.resource}`);
    expect([...new Set(missing)]).toEqual([]);
  });
});

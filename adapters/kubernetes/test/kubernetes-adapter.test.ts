import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { endpointSlice, KubernetesSimulator, namespace, pod, service } from '../../../test/sim/kubernetes/src/index.js';
import { RecordingSink } from '../../../test/conformance/recording-sink.js';
import { KubernetesPlatformAdapter } from '../src/kubernetes-adapter.js';
import type { KubernetesAdapterOptions } from '../src/options.js';
import { applyApp, applyNodes, captureLogger, eventually, FAST } from './helpers.js';

const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const WEB = 'web.default.svc.cluster.local';

let sims: KubernetesSimulator[] = [];
let adapters: KubernetesPlatformAdapter[] = [];
afterEach(async () => {
  await Promise.all(adapters.map((a) => a.stop()));
  await Promise.all(sims.map((s) => s.stop()));
  adapters = [];
  sims = [];
});

async function startSim(opts: Parameters<typeof KubernetesSimulator.start>[0] = {}): Promise<KubernetesSimulator> {
  const sim = await KubernetesSimulator.start({ bookmarkIntervalMs: 200, ...opts });
  sims.push(sim);
  return sim;
}

async function startAdapter(sim: KubernetesSimulator, o: Partial<KubernetesAdapterOptions> = {}, deps: ConstructorParameters<typeof KubernetesPlatformAdapter>[1] = {}) {
  const adapter = new KubernetesPlatformAdapter({ kubeconfigData: sim.kubeconfig(), ...o, tuning: { ...FAST, ...o.tuning } }, deps);
  adapters.push(adapter);
  const sink = new RecordingSink(adapter.source);
  await adapter.start(sink);
  return { adapter, sink };
}

const versions = (sink: RecordingSink, host = WEB) => sink.workloads(host).map((w) => `${w.address}:${w.labels.version ?? '-'}:${w.health}`);

describe('Kubernetes adapter', () => {
  it('publishes Services, endpoints joined to Pods and Nodes, once everything is listed', async () => {
    const sim = await startSim();
    applyNodes(sim);
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1', sa: 'web' }, { name: 'web-2', ip: '10.0.0.2', version: 'v2', node: 'node-b', zone: 'eu-west-1b' }] });
    const { adapter, sink } = await startAdapter(sim, { clusterId: 'east', trustDomain: 'example.org' });
    expect(adapter.source).toBe('kubernetes/east');
    await eventually('synced', () => sink.synced);
    const first = sink.replaces()[0]!;
    expect(first.workloads).toHaveLength(2);
    const [w1, w2] = sink.workloads(WEB);
    expect(w1).toMatchObject({
      id: 'default/web/10.0.0.1:8080',
      address: '10.0.0.1',
      ports: { http: 8080 },
      labels: { app: 'web', version: 'v1', 'topology.istio.io/cluster': 'east' },
      health: 'HEALTHY',
      locality: { region: 'eu-west-1', zone: 'eu-west-1a', subzone: 'rack-1' },
      weight: 1,
      identity: 'spiffe://example.org/ns/default/sa/web',
      source: 'kubernetes/east',
    });
    expect(w2!.locality).toEqual({ region: 'eu-west-1', zone: 'eu-west-1b' });
    expect(sink.shard!.services).toEqual([
      { hostname: WEB, namespace: 'default', ports: [{ name: 'http', number: 8080, protocol: 'HTTP' }], labels: {}, sources: ['kubernetes/east'], exportTo: ['*'] },
    ]);
    expect(sink.violations).toEqual([]);
  });

  it('follows endpoint health: not ready is UNHEALTHY, serving while terminating is DRAINING', async () => {
    const sim = await startSim();
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }, { name: 'web-2', ip: '10.0.0.2', version: 'v1' }] });
    const { sink } = await startAdapter(sim);
    await eventually('synced', () => sink.synced);
    const slice = (e2: { ready: boolean; serving?: boolean; terminating?: boolean }) =>
      sim.apply(
        endpointSlice({
          name: 'web-abc',
          namespace: 'default',
          service: 'web',
          ports: [{ name: 'http', port: 8080 }],
          endpoints: [
            { address: '10.0.0.1', nodeName: 'node-a', pod: { name: 'web-1' } },
            { address: '10.0.0.2', nodeName: 'node-a', pod: { name: 'web-2' }, ...e2 },
          ],
        }),
      );
    slice({ ready: false });
    await eventually('web-2 unhealthy', () => versions(sink).join() === '10.0.0.1:v1:HEALTHY,10.0.0.2:v1:UNHEALTHY');
    slice({ ready: false, serving: true, terminating: true });
    await eventually('web-2 draining', () => versions(sink).join() === '10.0.0.1:v1:HEALTHY,10.0.0.2:v1:DRAINING');
    slice({ ready: true });
    await eventually('web-2 back', () => versions(sink).join() === '10.0.0.1:v1:HEALTHY,10.0.0.2:v1:HEALTHY');
  });

  it('maps named target ports per endpoint, and headless Services like any other', async () => {
    const sim = await startSim();
    sim.apply(service({ name: 'api', namespace: 'shop', ports: [{ name: 'grpc-api', port: 80, targetPort: 'grpc' }, { name: 'metrics', port: 9090, appProtocol: 'http' }], clusterIP: 'None' }));
    sim.apply(pod({ name: 'api-v1', namespace: 'shop', ip: '10.1.0.1', nodeName: 'n', labels: { version: 'v1' } }));
    sim.apply(pod({ name: 'api-v2', namespace: 'shop', ip: '10.1.0.2', nodeName: 'n', labels: { version: 'v2' } }));
    // v1 pods name their container port "grpc" 8080, v2 pods 9000: one slice per port set, as the controller writes them.
    sim.apply(endpointSlice({ name: 'api-1', namespace: 'shop', service: 'api', ports: [{ name: 'grpc-api', port: 8080 }, { name: 'metrics', port: 9090 }], endpoints: [{ address: '10.1.0.1', pod: { name: 'api-v1' } }] }));
    sim.apply(endpointSlice({ name: 'api-2', namespace: 'shop', service: 'api', ports: [{ name: 'grpc-api', port: 9000 }, { name: 'metrics', port: 9090 }], endpoints: [{ address: '10.1.0.2', pod: { name: 'api-v2' } }] }));
    const { sink } = await startAdapter(sim);
    await eventually('synced', () => sink.synced);
    const host = 'api.shop.svc.cluster.local';
    expect(sink.shard!.services[0]!.ports).toEqual([
      { name: 'grpc-api', number: 80, protocol: 'GRPC' },
      { name: 'metrics', number: 9090, protocol: 'HTTP' },
    ]);
    expect(sink.workloads(host).map((w) => [w.labels.version, w.ports])).toEqual([
      ['v1', { 'grpc-api': 8080, metrics: 9090 }],
      ['v2', { 'grpc-api': 9000, metrics: 9090 }],
    ]);
  });

  it('merges several slices of one Service, dedupes an address in two of them (the ready one wins), and takes endpoints: null', async () => {
    const sim = await startSim();
    sim.apply(service({ name: 'web', namespace: 'default', ports: [{ name: 'http', port: 80 }] }));
    sim.apply(endpointSlice({ name: 'web-a', namespace: 'default', service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ address: '10.0.0.1' }, { address: '10.0.0.2', ready: false }] }));
    sim.apply(endpointSlice({ name: 'web-b', namespace: 'default', service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ address: '10.0.0.2' }, { address: '10.0.0.3' }] }));
    sim.apply(endpointSlice({ name: 'web-c', namespace: 'default', service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: null }));
    const { sink } = await startAdapter(sim);
    await eventually('synced', () => sink.synced);
    expect(versions(sink, 'web.default.svc.cluster.local')).toEqual(['10.0.0.1:-:HEALTHY', '10.0.0.2:-:HEALTHY', '10.0.0.3:-:HEALTHY']);
    // No Pod behind them: no pod labels, no identity; the cluster label still.
    expect(sink.workloads()[0]!.labels).toEqual({ 'topology.istio.io/cluster': 'Kubernetes' });
    expect(sink.workloads()[0]!.identity).toBeUndefined();
    sim.remove('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'web-b');
    await eventually('web-b gone', () => versions(sink, 'web.default.svc.cluster.local').join() === '10.0.0.1:-:HEALTHY,10.0.0.2:-:UNHEALTHY');
  });

  it('publishes only when the shard changes, keeping unchanged objects identical', async () => {
    const sim = await startSim();
    applyNodes(sim);
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }] });
    applyApp(sim, { name: 'api', pods: [{ name: 'api-1', ip: '10.0.0.9', version: 'v1' }] });
    const { sink } = await startAdapter(sim);
    await eventually('synced', () => sink.synced);
    const before = sink.replaces().length;
    const web = sink.workloads(WEB)[0]!;
    // A pod status change, a node heartbeat: new resourceVersions, nothing the mesh sees.
    sim.patchStatus('v1', 'Pod', 'default', 'web-1', { phase: 'Running', podIP: '10.0.0.1', hostIP: '10.128.0.1' });
    sim.apply({ ...(sim.get('v1', 'Node', undefined, 'node-a') as any), status: { conditions: [] } });
    // A change to api only: web's objects stay the very same.
    sim.apply(pod({ name: 'api-1', namespace: 'default', ip: '10.0.0.9', nodeName: 'node-a', labels: { app: 'api', version: 'v2' } }));
    await eventually('api v2', () => sink.workloads('api.default.svc.cluster.local')[0]?.labels.version === 'v2');
    expect(sink.replaces().length).toBe(before + 1);
    expect(sink.workloads(WEB)[0]).toBe(web);
    expect(sink.shard!.services.find((s) => s.hostname === WEB)).toBe(sink.replaces()[0]!.services.find((s) => s.hostname === WEB));
  });

  it('publishes exportTo from the annotation, and leaves out ExternalName Services and UDP ports', async () => {
    const sim = await startSim();
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1' }], annotations: { 'networking.istio.io/exportTo': '., istio-system' } });
    sim.apply(service({ name: 'ext', namespace: 'default', ports: [], type: 'ExternalName', externalName: 'example.com' }));
    sim.apply(service({ name: 'dns', namespace: 'default', ports: [{ name: 'dns-udp', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }] }));
    const { sink } = await startAdapter(sim);
    await eventually('synced', () => sink.synced);
    expect(sink.hosts()).toEqual(['dns.default.svc.cluster.local', WEB]);
    expect(sink.shard!.services.find((s) => s.hostname === WEB)!.exportTo).toEqual(['.', 'istio-system']);
    expect(sink.shard!.services.find((s) => s.hostname.startsWith('dns'))!.ports).toEqual([{ name: 'dns-tcp', number: 53, protocol: 'TCP' }]);
  });

  it('reads only the selected namespaces: by name, or by namespace labels as they change', async () => {
    const sim = await startSim();
    sim.apply(namespace('shop', { 'istio-discovery': 'enabled' }));
    sim.apply(namespace('lab'));
    sim.apply(namespace('named'));
    for (const ns of ['shop', 'lab', 'named', 'default']) applyApp(sim, { name: 'web', namespace: ns, pods: [{ name: 'web-1', ip: '10.0.0.1' }] });
    const { sink } = await startAdapter(sim, { namespaces: ['named'], namespaceSelectors: ['istio-discovery=enabled'] });
    await eventually('synced', () => sink.synced);
    expect(sink.hosts()).toEqual(['web.named.svc.cluster.local', 'web.shop.svc.cluster.local']);
    sim.apply(namespace('lab', { 'istio-discovery': 'enabled' }));
    await eventually('lab selected', () => sink.hosts().includes('web.lab.svc.cluster.local'));
    sim.apply(namespace('shop'));
    await eventually('shop deselected', () => !sink.hosts().includes('web.shop.svc.cluster.local'));
  });

  it('names Services into a shared domain with a template', async () => {
    const sim = await startSim();
    applyApp(sim, { name: 'web', namespace: 'shop', pods: [{ name: 'web-1', ip: '10.0.0.1' }] });
    const { sink } = await startAdapter(sim, { domain: '{service}.{namespace}.mesh.internal' });
    await eventually('synced', () => sink.synced);
    expect(sink.hosts()).toEqual(['web.shop.mesh.internal']);
  });
});

describe('Kubernetes adapter failures', () => {
  it('starts while the API server is down (connection refused), syncs once it is up', async () => {
    const sim = await startSim();
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1' }] });
    await sim.down();
    const { sink } = await startAdapter(sim);
    await eventually('stale', () => sink.stale);
    expect(sink.lastError).toMatch(/^kubernetes\/Kubernetes \(http:\/\/127\.0\.0\.1:\d+\): \d of 4 resources failing: .*connection refused/);
    expect(sink.synced).toBe(false);
    await sim.up();
    await eventually('synced', () => sink.synced);
    expect(sink.workloads()).toHaveLength(1);
    expect(sink.stale).toBe(false);
  });

  it('restarts a watch that fails with 500, naming the resource and the status, and keeps everything meanwhile', async () => {
    const sim = await startSim();
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }] });
    const { sink } = await startAdapter(sim);
    await eventually('synced', () => sink.synced);
    const remove = sim.inject({ path: SLICES, kind: 'status', code: 500, message: 'etcdserver: leader changed' });
    await eventually('stale', () => sink.stale);
    expect(sink.lastError).toMatch(/endpointslices\.discovery\.k8s\.io: watch: HTTP 500 InternalError: etcdserver: leader changed/);
    expect(sink.workloads()).toHaveLength(1);
    remove();
    await eventually('recovered', () => !sink.stale);
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }, { name: 'web-2', ip: '10.0.0.2', version: 'v2' }] });
    await eventually('web-2', () => sink.workloads().length === 2);
  });

  for (const goneMode of ['http', 'event'] as const) {
    it(`relists on 410 (${goneMode}) and loses no update made while the watch was away`, async () => {
      const sim = await startSim({ goneMode });
      applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }, { name: 'web-2', ip: '10.0.0.2', version: 'v1' }] });
      const { sink } = await startAdapter(sim);
      await eventually('synced', () => sink.synced);
      await sim.down();
      // Changes, a deletion among them, that the adapter's resourceVersion is too old to replay.
      applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v2' }, { name: 'web-3', ip: '10.0.0.3', version: 'v2' }] });
      sim.remove('v1', 'Pod', 'default', 'web-2');
      applyApp(sim, { name: 'api', pods: [{ name: 'api-1', ip: '10.0.0.9' }] });
      sim.compact();
      const lists = sim.requests(SLICES).filter((r) => !r.watch).length;
      await sim.up();
      await eventually('the changes', () => versions(sink).join() === '10.0.0.1:v2:HEALTHY,10.0.0.3:v2:HEALTHY' && sink.hosts().includes('api.default.svc.cluster.local'));
      expect(sim.requests(SLICES).filter((r) => !r.watch).length).toBeGreaterThan(lists);
    });
  }

  it('relists when an open watch expires with an ERROR 410 event', async () => {
    const sim = await startSim({ goneMode: 'event' });
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }] });
    const metrics = new Registry();
    const { sink } = await startAdapter(sim, {}, { metrics });
    await eventually('synced', () => sink.synced);
    sim.compact();
    sim.expireWatches();
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v3' }] });
    await eventually('v3', () => sink.workloads()[0]?.labels.version === 'v3');
    const restarts = (await metrics.getSingleMetric('isthmus_kubernetes_watch_restarts_total')!.get()).values;
    expect(restarts.some((v) => v.labels.reason === 'gone' && v.value >= 1)).toBe(true);
  });

  it('re-watches from its resourceVersion after a watch is cut mid-stream', async () => {
    const sim = await startSim();
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }] });
    const { sink } = await startAdapter(sim);
    await eventually('synced', () => sink.synced);
    const lists = sim.requests(SLICES).filter((r) => !r.watch).length;
    sim.dropWatches();
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v2' }] });
    await eventually('v2', () => sink.workloads()[0]?.labels.version === 'v2');
    // No relist needed: the history still held the resourceVersion.
    expect(sim.requests(SLICES).filter((r) => !r.watch).length).toBe(lists);
  });

  it('restarts a watch that goes silent', async () => {
    const sim = await startSim();
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }] });
    const { sink } = await startAdapter(sim);
    await eventually('synced', () => sink.synced);
    const watches = sim.requests(SLICES).filter((r) => r.watch).length;
    // Freezes the open EndpointSlice watch (no events, no bookmarks: a dead connection);
    // the first new watch hangs too, then the fault is used up.
    sim.inject({ path: SLICES, watch: true, kind: 'hang', times: 1 });
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }, { name: 'web-2', ip: '10.0.0.2', version: 'v1' }] });
    await eventually('web-2 through a new watch', () => sink.workloads().length === 2);
    expect(sim.requests(SLICES).filter((r) => r.watch).length).toBeGreaterThan(watches);
  });

  it('bounds a list that does not answer with the request timeout, then syncs', async () => {
    const sim = await startSim();
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1' }] });
    sim.inject({ path: SLICES, watch: false, kind: 'slow', delayMs: 5000, times: 1 });
    const { sink } = await startAdapter(sim, { tuning: { requestTimeoutMs: 500 } });
    await eventually('stale', () => sink.stale);
    expect(sink.lastError).toMatch(/endpointslices\.discovery\.k8s\.io: list: GET \/apis\/discovery\.k8s\.io\/v1\/endpointslices: no answer within 500 ms/);
    await eventually('synced', () => sink.synced);
    expect(sink.workloads()).toHaveLength(1);
  });

  it('reads a large cluster in pages: 3,000 endpoints in 30 slices of 100', async () => {
    const sim = await startSim({ historyLimit: 5000 });
    for (let s = 0; s < 30; s++) {
      sim.apply(service({ name: `svc-${s}`, namespace: 'default', ports: [{ name: 'http', port: 80 }] }));
      const endpoints = Array.from({ length: 100 }, (_, i) => ({ address: `10.${s}.${Math.floor(i / 250)}.${(i % 250) + 1}`, nodeName: 'node-a' }));
      sim.apply(endpointSlice({ name: `svc-${s}-x`, namespace: 'default', service: `svc-${s}`, ports: [{ name: 'http', port: 8080 }], endpoints }));
    }
    const { sink } = await startAdapter(sim, { tuning: { listPageSize: 7 } });
    await eventually('synced', () => sink.synced, 30_000);
    expect(sink.replaces()[0]!.workloads).toHaveLength(3000);
    expect(sink.hosts()).toHaveLength(30);
    expect(sim.requests(SLICES).filter((r) => !r.watch).length).toBe(Math.ceil(30 / 7));
    expect(sink.violations).toEqual([]);
  });

  it('runs degraded without permission on pods: says what is missing, serves the rest, and recovers', async () => {
    const sim = await startSim();
    applyNodes(sim);
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }] });
    const forbid = sim.inject({
      path: '/api/v1/pods',
      kind: 'status',
      code: 403,
      reason: 'Forbidden',
      message: 'pods is forbidden: User "system:serviceaccount:istio-system:isthmus" cannot list resource "pods" in API group "" at the cluster scope',
    });
    const logger = captureLogger();
    const { sink } = await startAdapter(sim, {}, { logger });
    await eventually('synced', () => sink.synced);
    await eventually('stale', () => sink.stale);
    expect(sink.lastError).toMatch(/forbidden to list\/watch pods \(HTTP 403 Forbidden: pods is forbidden: .*\); grant "list" and "watch" on pods/);
    // Endpoints and locality still work; pod labels and identities are missing.
    expect(sink.workloads()[0]).toMatchObject({ address: '10.0.0.1', labels: { 'topology.istio.io/cluster': 'Kubernetes' }, locality: { region: 'eu-west-1' } });
    expect(sink.workloads()[0]!.identity).toBeUndefined();
    expect(logger.lines.some((l) => l.level === 'warn' && /running degraded: workloads have no pod labels/.test(l.msg))).toBe(true);
    applyApp(sim, { name: 'api', pods: [{ name: 'api-1', ip: '10.0.0.9' }] });
    await eventually('a new service meanwhile', () => sink.hosts().includes('api.default.svc.cluster.local'));

    forbid();
    await eventually('pod labels', () => sink.workloads(WEB)[0]?.labels.version === 'v1');
    await eventually('not stale', () => !sink.stale);
  });

  it('runs without locality when Nodes are forbidden', async () => {
    const sim = await startSim();
    applyNodes(sim);
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1', zone: 'eu-west-1a' }] });
    sim.inject({ path: '/api/v1/nodes', kind: 'status', code: 403, reason: 'Forbidden' });
    const { sink } = await startAdapter(sim);
    await eventually('synced', () => sink.synced);
    expect(sink.workloads()[0]).toMatchObject({ labels: { version: 'v1' }, locality: { zone: 'eu-west-1a' } });
    expect(sink.workloads()[0]!.locality.region).toBeUndefined();
    await eventually('stale', () => /list\/watch nodes/.test(sink.lastError ?? ''));
  });

  it('does not publish without Services or EndpointSlices: those are not optional', async () => {
    const sim = await startSim();
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1' }] });
    const forbid = sim.inject({ path: SLICES, kind: 'status', code: 403, reason: 'Forbidden' });
    const { sink } = await startAdapter(sim);
    await eventually('stale', () => /list\/watch endpointslices\.discovery\.k8s\.io/.test(sink.lastError ?? ''));
    expect(sink.synced).toBe(false);
    forbid();
    await eventually('synced after the grant', () => sink.synced);
  });

  it('stops promptly even with a request hanging', async () => {
    const sim = await startSim();
    sim.inject({ kind: 'hang' });
    const { adapter, sink } = await startAdapter(sim, { tuning: { requestTimeoutMs: 60_000 } });
    await eventually('requests in flight', () => sim.requests('/api').length >= 4);
    await adapter.stop();
    sink.closed = true;
    adapters = [];
    expect(sink.violations).toEqual([]);
  });
});

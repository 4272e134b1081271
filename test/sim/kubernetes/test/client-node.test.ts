import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
  type V1EndpointSlice,
} from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { endpointSlice, KubernetesSimulator, pod, service } from '../src/index.js';
import { until } from './helpers.js';

// @kubernetes/client-node 1.4 as an independent real client: its informer (ListWatch), Watch,
// typed APIs and CustomObjectsApi must work against the simulator unmodified.

let sim: KubernetesSimulator;
const informers: Informer<KubernetesObject>[] = [];
afterEach(async () => {
  for (const i of informers.splice(0)) await i.stop();
  await sim?.stop();
});

function config(opts: { token?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig(opts));
  return kc;
}

const slice = (name: string, ready = true) =>
  endpointSlice({ name, namespace: 'default', service: 'web', ports: [{ name: 'http', port: 8080, appProtocol: 'http' }], endpoints: [{ address: '10.0.0.1', ready, nodeName: 'n1', zone: 'z1', pod: { name: `${name}-pod` } }] });

/** An EndpointSlice informer, as the adapter builds one, recording what it reports. */
function sliceInformer(kc: KubeConfig, labelSelector?: string) {
  const api = kc.makeApiClient(DiscoveryV1Api);
  const inf = makeInformer<V1EndpointSlice>(kc, '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', () => api.listNamespacedEndpointSlice({ namespace: 'default', ...(labelSelector ? { labelSelector } : {}) }), labelSelector);
  const log: string[] = [];
  const errors: unknown[] = [];
  inf.on('add', (o) => log.push(`add ${o.metadata?.name}`));
  inf.on('update', (o) => log.push(`update ${o.metadata?.name}`));
  inf.on('delete', (o) => log.push(`delete ${o.metadata?.name}`));
  inf.on('error', (e) => errors.push(e));
  informers.push(inf as unknown as Informer<KubernetesObject>);
  return { inf: inf as Informer<V1EndpointSlice> & ObjectCache<V1EndpointSlice>, log, errors };
}

const lists = () => sim.requests('/apis/discovery.k8s.io/').filter((r) => !r.watch).length;
const watches = () => sim.requests('/apis/discovery.k8s.io/').filter((r) => r.watch);

describe('Kubernetes simulator with @kubernetes/client-node 1.4', () => {
  it('refuses plain http unless the kubeconfig sets insecure-skip-tls-verify (the generated one does)', async () => {
    sim = await KubernetesSimulator.start();
    const strict = new KubeConfig();
    strict.loadFromString(sim.kubeconfig().replace('    insecure-skip-tls-verify: true\n', ''));
    await expect(strict.makeApiClient(CoreV1Api).listNamespace()).rejects.toThrow('HTTP protocol is not allowed when skipTLSVerify is not set or false');
    const list = await config().makeApiClient(CoreV1Api).listNamespace();
    expect(list.items.map((n) => n.metadata?.name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  });

  it('informer: lists, then watches from the list RV and sees add, update and delete', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(slice('a'));
    const { inf, log, errors } = sliceInformer(config());
    await inf.start();
    await until(() => log.includes('add a'), 'the listed object');
    await until(() => watches().length === 1, 'the watch');
    expect(watches()[0]!.query).toEqual({ watch: 'true', resourceVersion: sim.resourceVersion });
    sim.apply(slice('b'));
    sim.apply(slice('a', false));
    sim.remove('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'b');
    await until(() => log.length === 4, 'four callbacks');
    expect(log).toEqual(['add a', 'add b', 'update a', 'delete b']);
    expect(inf.get('a', 'default')?.endpoints?.[0]?.conditions?.ready).toBe(false);
    expect(inf.list('default').map((s) => s.metadata?.name)).toEqual(['a']);
    expect(errors).toEqual([]);
  });

  it('informer with a label selector: objects leaving the selection are deleted from its cache', async () => {
    sim = await KubernetesSimulator.start();
    const { inf, log } = sliceInformer(config(), 'kubernetes.io/service-name=web');
    await inf.start();
    await until(() => watches().length === 1, 'the watch');
    sim.apply(slice('a'));
    sim.apply({ ...slice('a'), metadata: { ...slice('a').metadata, labels: { 'kubernetes.io/service-name': 'other' } } });
    await until(() => log.length === 2, 'add and delete');
    expect(log).toEqual(['add a', 'delete a']);
    expect(inf.list()).toEqual([]);
  });

  it('informer: re-lists after a 410 ERROR event and reports what vanished meanwhile', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(slice('a'));
    sim.apply(slice('b'));
    const { inf, log, errors } = sliceInformer(config());
    await inf.start();
    await until(() => log.length === 2 && sim.openWatches() === 1, 'synced and watching');
    // Stall the watch so the informer misses b's deletion, then expire it.
    const unstall = sim.inject({ kind: 'hang', watch: true });
    sim.remove('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'b');
    const listsBefore = lists();
    sim.expireWatches();
    await until(() => log.includes('delete b'), 'the relist to drop b');
    expect(lists()).toBe(listsBefore + 1);
    unstall();
    await until(() => sim.openWatches() === 1, 'watching again');
    sim.apply(slice('c'));
    await until(() => log.includes('add c'), 'a live event after the relist');
    expect(errors).toEqual([]);
  });

  it('informer: re-lists after an HTTP 410 on re-watch (history compacted while the watch was down)', async () => {
    sim = await KubernetesSimulator.start({ goneMode: 'http' });
    sim.apply(slice('a'));
    sim.apply(slice('b'));
    const { inf, log, errors } = sliceInformer(config());
    await inf.start();
    await until(() => log.length === 2 && sim.openWatches() === 1, 'synced and watching');
    const unstall = sim.inject({ kind: 'hang', watch: true });
    sim.remove('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'b');
    sim.compact();
    // A clean close (apiserver's watch timeout): the informer re-watches from its last RV, which is now too old.
    sim.closeWatches();
    await until(() => watches().length === 2, 'the re-watch');
    unstall();
    await until(() => log.includes('delete b'), 'the relist to drop b');
    await until(() => watches().length === 3, 'watching again');
    expect(watches().map((r) => r.status)).toEqual([200, 410, 200]);
    expect(errors).toEqual([]);
  });

  it('informer: any other failure stops it with an error; start() again resumes', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(slice('a'));
    const { inf, log, errors } = sliceInformer(config());
    await inf.start();
    await until(() => sim.openWatches() === 1, 'watching');
    await sim.down();
    await until(() => errors.length > 0, 'an error');
    await sim.up();
    sim.apply(slice('b'));
    await inf.start();
    await until(() => log.includes('add b'), 'the informer to resume');
  });

  it('Watch: passes its query through, gets bookmarks, and calls done when the server closes at timeoutSeconds', async () => {
    sim = await KubernetesSimulator.start({ bookmarkIntervalMs: 20 });
    const events: string[] = [];
    let doneWith: unknown = 'not yet';
    const rv = sim.resourceVersion;
    await new Watch(config()).watch(
      '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices',
      { allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: 1 },
      (type: string, obj: any) => events.push(type === 'BOOKMARK' ? 'BOOKMARK' : `${type} ${obj.metadata.name}`),
      (err: unknown) => (doneWith = err),
    );
    sim.apply(slice('a'));
    await until(() => events.includes('ADDED a') && events.includes('BOOKMARK'), 'an event and a bookmark');
    await until(() => doneWith !== 'not yet', 'done', 3000);
    expect(doneWith).toBeNull();
  });

  it('typed APIs: CoreV1Api and DiscoveryV1Api read real-shaped objects; errors are ApiExceptions with a Status body', async () => {
    sim = await KubernetesSimulator.start({ token: 'tok' });
    const kc = config();
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 'http' }] } } });
    sim.apply(pod({ name: 'web-1', namespace: 'default', labels: { app: 'web' }, ip: '10.0.0.1', nodeName: 'n1', serviceAccountName: 'web' }));
    sim.apply(slice('web-abc12'));
    const svc = await core.readNamespacedService({ name: 'web', namespace: 'default' });
    expect(svc.spec?.ports?.[0]?.targetPort).toBe('http');
    const pods = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
    expect(pods.items[0]?.status?.podIP).toBe('10.0.0.1');
    expect(pods.items[0]?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const slices = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' });
    expect(slices.kind).toBe('EndpointSliceList');
    expect(slices.items[0]?.endpoints?.[0]).toMatchObject({ addresses: ['10.0.0.1'], conditions: { ready: true }, zone: 'z1', targetRef: { kind: 'Pod', name: 'web-abc12-pod' } });

    const missing = await core.readNamespacedService({ name: 'nope', namespace: 'default' }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 404 });
    expect(JSON.parse((missing as { body: string }).body)).toMatchObject({ kind: 'Status', reason: 'NotFound' });
    const bad = await config({ token: 'wrong' }).makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 401 });
  });

  it('CustomObjectsApi: CRUD on Istio resources, and status PATCH in the content types client-node sends', async () => {
    sim = await KubernetesSimulator.start();
    const co = config().makeApiClient(CustomObjectsApi);
    const target = { group: 'networking.istio.io', version: 'v1', namespace: 'default', plural: 'virtualservices', name: 'web' };
    await co.createNamespacedCustomObject({ ...target, body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web' }, spec: { hosts: ['web'] } } });
    const listed = await co.listClusterCustomObject({ group: 'networking.istio.io', version: 'v1beta1', plural: 'virtualservices' });
    expect(listed.items.map((i: any) => [i.apiVersion, i.metadata.name])).toEqual([['networking.istio.io/v1beta1', 'web']]);

    // client-node 1.4 sends application/json-patch+json by default: a JSON Patch array works ...
    const byJsonPatch = await co.patchNamespacedCustomObjectStatus({ ...target, body: [{ op: 'add', path: '/status', value: { validationMessages: [] } }] });
    expect(byJsonPatch.status).toEqual({ validationMessages: [] });
    const seen = sim.requests('/apis/networking.istio.io/v1/namespaces/default/virtualservices/web/status');
    expect(seen.map((r) => r.method)).toEqual(['PATCH']);
    // ... a merge-patch object under that content type is refused, as apiserver refuses it ...
    const wrong = await co.patchNamespacedCustomObjectStatus({ ...target, body: { status: { x: 1 } } }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 400 });
    // ... and the merge-patch content type is set through setHeaderOptions.
    const merged = await co.patchNamespacedCustomObjectStatus({ ...target, body: { spec: { hosts: ['ignored'] }, status: { observedGeneration: 1 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(merged).toMatchObject({ spec: { hosts: ['web'] }, status: { validationMessages: [], observedGeneration: 1 } });

    await co.deleteNamespacedCustomObject(target);
    expect(sim.get('networking.istio.io/v1', 'VirtualService', 'default', 'web')).toBeUndefined();
  });

  it('the informer on a Service with many objects survives dribbled, chunked responses', async () => {
    sim = await KubernetesSimulator.start();
    for (let i = 0; i < 20; i++) sim.apply(service({ name: `svc-${i}`, namespace: 'default', ports: [{ name: 'http', port: 80 }] }));
    sim.inject({ kind: 'dribble', chunkDelayMs: 0.1, path: '/api/v1/namespaces/default/services', watch: false, times: 1 });
    const kc = config();
    const core = kc.makeApiClient(CoreV1Api);
    const inf = makeInformer(kc, '/api/v1/namespaces/default/services', () => core.listNamespacedService({ namespace: 'default' }));
    informers.push(inf as unknown as Informer<KubernetesObject>);
    await inf.start();
    await until(() => inf.list().length === 20, 'all services');
  });
});

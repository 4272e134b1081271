import { afterEach, describe, expect, it } from 'vitest';
import { endpointSlice, KubernetesSimulator, namespace, node, pod, service, uidFor } from '../src/index.js';
import { call, get } from './helpers.js';

// The REST contract: apiserver's URLs, verbs, metadata rules, selectors, chunking, Status errors, discovery, auth.

let sim: KubernetesSimulator;
afterEach(async () => {
  await sim?.stop();
});

const SVC = '/api/v1/namespaces/default/services';
const svc = (name: string, labels: Record<string, string> = {}) => service({ name, namespace: 'default', ports: [{ name: 'http', port: 80, targetPort: 8080 }], selector: { app: name }, labels });
const vs = (name: string, apiVersion = 'networking.istio.io/v1', hosts = [name]) => ({ apiVersion, kind: 'VirtualService', metadata: { name, namespace: 'default' }, spec: { hosts } });

describe('Kubernetes simulator: REST', () => {
  it('creates, gets, replaces, patches and deletes, with server-set metadata and a global resourceVersion', async () => {
    sim = await KubernetesSimulator.start();
    const rv0 = Number(sim.resourceVersion);
    const created = await call(sim, 'POST', SVC, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', labels: { app: 'web' } }, spec: { ports: [{ port: 80 }] } });
    expect(created.status).toBe(201);
    const meta = created.body.metadata;
    expect(meta).toMatchObject({ name: 'web', namespace: 'default', generation: 1, resourceVersion: String(rv0 + 1) });
    expect(meta.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const again = await call(sim, 'POST', SVC, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' } });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'services "web" already exists',
      reason: 'AlreadyExists',
      details: { name: 'web', kind: 'services' },
      code: 409,
    });

    // An unrelated write to another resource moves the shared counter.
    sim.apply(node('n1', { region: 'r', zone: 'z' }));
    const got = await get(sim, `${SVC}/web`);
    expect(got.body).toMatchObject({ apiVersion: 'v1', kind: 'Service', metadata: { resourceVersion: String(rv0 + 1) } });

    const put = await call(sim, 'PUT', `${SVC}/web`, { ...got.body, spec: { ports: [{ port: 81 }] } });
    expect(put.status).toBe(200);
    expect(put.body.metadata).toMatchObject({ uid: meta.uid, creationTimestamp: meta.creationTimestamp, generation: 2, resourceVersion: String(rv0 + 3) });

    // A stale resourceVersion is a Conflict; none at all replaces unconditionally.
    const stale = await call(sim, 'PUT', `${SVC}/web`, { ...got.body, spec: { ports: [{ port: 82 }] } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ reason: 'Conflict', message: 'Operation cannot be fulfilled on services "web": the object has been modified; please apply your changes to the latest version and try again' });
    const { resourceVersion: _, ...noRv } = got.body.metadata;
    expect((await call(sim, 'PUT', `${SVC}/web`, { ...got.body, metadata: noRv, spec: { ports: [{ port: 82 }] } })).status).toBe(200);

    const merged = await call(sim, 'PATCH', `${SVC}/web`, { metadata: { labels: { tier: 'front' } } }, 'application/merge-patch+json');
    expect(merged.body.metadata.labels).toEqual({ app: 'web', tier: 'front' });
    expect(merged.body.metadata.generation).toBe(3); // labels are not spec
    const jp = await call(sim, 'PATCH', `${SVC}/web`, [{ op: 'replace', path: '/spec/ports/0/port', value: 90 }, { op: 'remove', path: '/metadata/labels/tier' }], 'application/json-patch+json');
    expect(jp.body.spec.ports[0].port).toBe(90);
    expect(jp.body.metadata.labels).toEqual({ app: 'web' });
    expect(jp.body.metadata.generation).toBe(4);
    const badTest = await call(sim, 'PATCH', `${SVC}/web`, [{ op: 'test', path: '/spec/ports/0/port', value: 1 }], 'application/json-patch+json');
    expect(badTest.body).toMatchObject({ code: 422, reason: 'Invalid' });
    const precondition = await call(sim, 'PATCH', `${SVC}/web`, { metadata: { resourceVersion: '1' }, spec: { type: 'NodePort' } }, 'application/merge-patch+json');
    expect(precondition.body.reason).toBe('Conflict');

    const del = await call(sim, 'DELETE', `${SVC}/web`);
    expect(del.status).toBe(200);
    expect(del.body.metadata.name).toBe('web');
    const missing = await get(sim, `${SVC}/web`);
    expect(missing.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: 'services "web" not found' });
    expect((await call(sim, 'DELETE', `${SVC}/web`)).status).toBe(404);
  });

  it('does not write an update that changes nothing (no new resourceVersion)', async () => {
    sim = await KubernetesSimulator.start();
    const a = sim.apply(svc('web'));
    const b = sim.apply(svc('web'));
    expect(b.metadata.resourceVersion).toBe(a.metadata.resourceVersion);
    const patched = await call(sim, 'PATCH', `${SVC}/web`, { metadata: { labels: {} } }, 'application/merge-patch+json');
    expect(patched.body.metadata.resourceVersion).toBe(a.metadata.resourceVersion);
  });

  it('keeps status out of main-resource writes and spec out of /status writes', async () => {
    sim = await KubernetesSimulator.start();
    const created = await call(sim, 'POST', '/apis/networking.istio.io/v1/namespaces/default/virtualservices', { ...vs('r'), status: { ignored: true } });
    expect(created.body.status).toBeUndefined();
    const st = await call(sim, 'PATCH', '/apis/networking.istio.io/v1/namespaces/default/virtualservices/r/status', { spec: { hosts: ['x'] }, status: { observedGeneration: 1 } }, 'application/merge-patch+json');
    expect(st.status).toBe(200);
    expect(st.body).toMatchObject({ spec: { hosts: ['r'] }, status: { observedGeneration: 1 }, metadata: { generation: 1 } });
    const main = await call(sim, 'PATCH', '/apis/networking.istio.io/v1/namespaces/default/virtualservices/r', { spec: { hosts: ['y'] }, status: null }, 'application/merge-patch+json');
    expect(main.body).toMatchObject({ spec: { hosts: ['y'] }, status: { observedGeneration: 1 }, metadata: { generation: 2 } });
    const put = await call(sim, 'PUT', '/apis/networking.istio.io/v1/namespaces/default/virtualservices/r/status', { ...main.body, status: { observedGeneration: 2 } });
    expect(put.body.status).toEqual({ observedGeneration: 2 });
    // EndpointSlices have no status subresource.
    sim.apply(endpointSlice({ name: 's', namespace: 'default', service: 'web', ports: [], endpoints: null }));
    expect((await get(sim, '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/s/status')).status).toBe(404);
    // The test helper writes status directly.
    sim.patchStatus('networking.istio.io/v1', 'VirtualService', 'default', 'r', { conditions: [] });
    expect(sim.get('networking.istio.io/v1', 'VirtualService', 'default', 'r')?.status).toEqual({ conditions: [] });
  });

  it('refuses strategic merge patches for custom resources (415) and accepts them for built-ins', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(vs('r'));
    sim.apply(svc('web'));
    const crd = await call(sim, 'PATCH', '/apis/networking.istio.io/v1/namespaces/default/virtualservices/r', { spec: {} }, 'application/strategic-merge-patch+json');
    expect(crd.body).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
    const builtin = await call(sim, 'PATCH', `${SVC}/web`, { metadata: { annotations: { a: 'b' } } }, 'application/strategic-merge-patch+json');
    expect(builtin.body.metadata.annotations).toEqual({ a: 'b' });
    // Server-side apply: create when absent, needs a fieldManager.
    const noManager = await call(sim, 'PATCH', `${SVC}/api`, svc('api'), 'application/apply-patch+yaml');
    expect(noManager.status).toBe(400);
    const applied = await call(sim, 'PATCH', `${SVC}/api?fieldManager=test`, svc('api'), 'application/apply-patch+yaml');
    expect(applied.status).toBe(201);
    expect(sim.get('v1', 'Service', 'default', 'api')).toBeDefined();
  });

  it('serves one stored object at every version of its group, and refuses unknown groups, versions and resources', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(vs('r', 'networking.istio.io/v1alpha3'));
    for (const v of ['v1', 'v1beta1', 'v1alpha3']) {
      const r = await get(sim, `/apis/networking.istio.io/${v}/namespaces/default/virtualservices/r`);
      expect(r.body.apiVersion).toBe(`networking.istio.io/${v}`);
      const l = await get(sim, `/apis/networking.istio.io/${v}/virtualservices`);
      expect(l.body).toMatchObject({ kind: 'VirtualServiceList', apiVersion: `networking.istio.io/${v}` });
      expect(l.body.items.map((i: any) => [i.kind, i.apiVersion])).toEqual([['VirtualService', `networking.istio.io/${v}`]]);
    }
    // Writing at another version replaces the same object.
    sim.apply(vs('r', 'networking.istio.io/v1beta1', ['changed']));
    expect(sim.list('networking.istio.io/v1', 'VirtualService')).toHaveLength(1);
    expect(sim.get('networking.istio.io/v1alpha3', 'VirtualService', 'default', 'r')).toMatchObject({ apiVersion: 'networking.istio.io/v1alpha3', spec: { hosts: ['changed'] } });
    for (const path of ['/apis/networking.istio.io/v2/virtualservices', '/apis/nope.io/v1/things', '/api/v1/widgets', '/api/v2/pods', '/apis/security.istio.io/v1alpha3/authorizationpolicies', '/api/v1/namespaces/default/nodes', '/nonsense']) {
      const r = await get(sim, path);
      expect(r.status, path).toBe(404);
      expect(r.body).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    }
  });

  it('lists with the List kind, the list resourceVersion, label and field selectors', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(namespace('other'));
    sim.apply(svc('a', { tier: 'front', env: 'prod' }));
    sim.apply(svc('b', { tier: 'back', env: 'prod' }));
    sim.apply(svc('c', { tier: 'front' }));
    sim.apply({ ...svc('d', { tier: 'front' }), metadata: { name: 'd', namespace: 'other', labels: { tier: 'front' } } });
    const all = await get(sim, '/api/v1/services');
    expect(all.body).toMatchObject({ kind: 'ServiceList', apiVersion: 'v1', metadata: { resourceVersion: sim.resourceVersion } });
    expect(all.body.items.map((i: any) => `${i.metadata.namespace}/${i.metadata.name}`)).toEqual(['default/a', 'default/b', 'default/c', 'other/d']);
    expect(all.body.items[0]).toMatchObject({ kind: 'Service', apiVersion: 'v1' });
    const names = async (q: string, base = SVC) => (await get(sim, `${base}?${q}`)).body.items.map((i: any) => i.metadata.name).join(',');
    expect(await names('labelSelector=tier%3Dfront')).toBe('a,c');
    expect(await names('labelSelector=tier%3Dfront,env%3Dprod')).toBe('a');
    expect(await names('labelSelector=env!%3Dprod')).toBe('c');
    expect(await names('labelSelector=env')).toBe('a,b');
    expect(await names('labelSelector=!env')).toBe('c');
    expect(await names('labelSelector=tier%20in%20(front,back),env')).toBe('a,b');
    expect(await names('labelSelector=tier%20notin%20(front)')).toBe('b');
    expect(await names('fieldSelector=metadata.name%3Db')).toBe('b');
    expect(await names('fieldSelector=metadata.name!%3Db')).toBe('a,c');
    expect(await names('fieldSelector=metadata.namespace%3Dother', '/api/v1/services')).toBe('d');
    expect((await get(sim, `${SVC}?labelSelector=a%3D%3D%3D`)).body).toMatchObject({ code: 400, reason: 'BadRequest' });
    expect((await get(sim, `${SVC}?fieldSelector=spec.foo%3D1`)).body).toMatchObject({ code: 400, message: 'field label not supported: spec.foo' });
    // Pods are selectable by node, as the kubelet's own watch does.
    sim.apply(pod({ name: 'p1', namespace: 'default', labels: {}, ip: '10.0.0.1', nodeName: 'n1' }));
    sim.apply(pod({ name: 'p2', namespace: 'default', labels: {}, ip: '10.0.0.2', nodeName: 'n2' }));
    expect(await names('fieldSelector=spec.nodeName%3Dn2', '/api/v1/pods')).toBe('p2');
  });

  it('chunks lists with limit/continue from one consistent snapshot, and expires the token after compaction', async () => {
    sim = await KubernetesSimulator.start();
    for (const n of ['a', 'b', 'c', 'd', 'e']) sim.apply(svc(n));
    const p1 = await get(sim, `${SVC}?limit=2`);
    expect(p1.body.items.map((i: any) => i.metadata.name)).toEqual(['a', 'b']);
    expect(p1.body.metadata).toMatchObject({ resourceVersion: sim.resourceVersion, remainingItemCount: 3 });
    const listRv = p1.body.metadata.resourceVersion;
    // Writes between pages do not show: page 2 is read at the first page's resourceVersion.
    sim.remove('v1', 'Service', 'default', 'c');
    sim.apply(svc('bb'));
    const p2 = await get(sim, `${SVC}?limit=2&continue=${p1.body.metadata.continue}`);
    expect(p2.body.items.map((i: any) => i.metadata.name)).toEqual(['c', 'd']);
    expect(p2.body.metadata.resourceVersion).toBe(listRv);
    const p3 = await get(sim, `${SVC}?limit=2&continue=${p2.body.metadata.continue}`);
    expect(p3.body.items.map((i: any) => i.metadata.name)).toEqual(['e']);
    expect(p3.body.metadata.continue).toBeUndefined();

    const q1 = await get(sim, `${SVC}?limit=2`);
    sim.apply(svc('z'));
    sim.compact();
    const expired = await get(sim, `${SVC}?limit=2&continue=${q1.body.metadata.continue}`);
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
    expect(expired.body.message).toMatch(/^The provided continue parameter is too old/);
    // The Status carries an inconsistent continue token that resumes at the latest state.
    const resumed = await get(sim, `${SVC}?limit=10&continue=${expired.body.metadata.continue}`);
    expect(resumed.body.items.map((i: any) => i.metadata.name)).toEqual(['bb', 'd', 'e', 'z']);
    expect((await get(sim, `${SVC}?continue=garbage`)).status).toBe(400);
  });

  it('keeps a bounded history: exact-RV lists and continue tokens older than it get 410', async () => {
    sim = await KubernetesSimulator.start({ historyLimit: 3 });
    sim.apply(svc('a'));
    const rv = sim.resourceVersion;
    sim.apply(svc('b'));
    expect((await get(sim, `${SVC}?resourceVersion=${rv}&resourceVersionMatch=Exact`)).body.items).toHaveLength(1);
    for (const n of ['c', 'd', 'e']) sim.apply(svc(n));
    const old = await get(sim, `${SVC}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    expect(old.body).toMatchObject({ code: 410, reason: 'Expired' });
    expect(old.body.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
    // A resourceVersion the server never had is refused (504, ResourceVersionTooLarge).
    expect((await get(sim, `${SVC}?resourceVersion=999999`)).body).toMatchObject({ code: 504, reason: 'Timeout' });
  });

  it('enforces namespaces: creating in a missing one is 404, deleting one deletes its contents', async () => {
    sim = await KubernetesSimulator.start();
    const r = await call(sim, 'POST', '/api/v1/namespaces/ghost/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } });
    expect(r.body).toMatchObject({ code: 404, message: 'namespaces "ghost" not found' });
    const mismatch = await call(sim, 'POST', SVC, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', namespace: 'kube-system' } });
    expect(mismatch.body).toMatchObject({ code: 400, reason: 'BadRequest' });
    const wrongKind = await call(sim, 'POST', SVC, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } });
    expect(wrongKind.status).toBe(400);
    expect((await call(sim, 'POST', SVC, { apiVersion: 'v1', kind: 'Service', metadata: {} })).body).toMatchObject({ code: 422, reason: 'Invalid' });
    const generated = await call(sim, 'POST', SVC, { apiVersion: 'v1', kind: 'Service', metadata: { generateName: 'web-' } });
    expect(generated.body.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);

    sim.apply(namespace('team'));
    sim.apply({ ...svc('x'), metadata: { name: 'x', namespace: 'team' } });
    expect((await call(sim, 'DELETE', '/api/v1/namespaces/team')).status).toBe(200);
    expect(sim.list('v1', 'Service', 'team')).toEqual([]);
    expect((await get(sim, '/api/v1/namespaces')).body.items.map((n: any) => n.metadata.name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  });

  it('deletes with preconditions and by collection', async () => {
    sim = await KubernetesSimulator.start();
    const a = sim.apply(svc('a', { tier: 'front' }));
    sim.apply(svc('b', { tier: 'front' }));
    sim.apply(svc('c', { tier: 'back' }));
    const wrongUid = await call(sim, 'DELETE', `${SVC}/a`, { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'nope' } });
    expect(wrongUid.body).toMatchObject({ code: 409, reason: 'Conflict' });
    expect((await call(sim, 'DELETE', `${SVC}/a`, { preconditions: { uid: a.metadata.uid } })).status).toBe(200);
    const coll = await call(sim, 'DELETE', `${SVC}?labelSelector=tier%3Dfront`);
    expect(coll.body.items.map((i: any) => i.metadata.name)).toEqual(['b']);
    expect(sim.list('v1', 'Service').map((s) => s.metadata.name)).toEqual(['c']);
  });

  it('serves discovery: /version, /api, /apis, /apis/{group}, APIResourceLists', async () => {
    sim = await KubernetesSimulator.start();
    sim.registerResource({ group: 'example.com', versions: ['v1alpha1'], kind: 'Widget', plural: 'widgets', namespaced: false });
    expect((await get(sim, '/version')).body).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\./) });
    expect((await get(sim, '/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const apis = (await get(sim, '/apis')).body;
    expect(apis.kind).toBe('APIGroupList');
    const istio = apis.groups.find((g: any) => g.name === 'networking.istio.io');
    expect(istio.versions.map((v: any) => v.version)).toEqual(['v1', 'v1beta1', 'v1alpha3']);
    expect(istio.preferredVersion).toEqual({ groupVersion: 'networking.istio.io/v1', version: 'v1' });
    expect(apis.groups.map((g: any) => g.name)).toEqual(['discovery.k8s.io', 'networking.istio.io', 'security.istio.io', 'example.com']);
    expect((await get(sim, '/apis/security.istio.io')).body).toMatchObject({ kind: 'APIGroup', name: 'security.istio.io' });
    const core = (await get(sim, '/api/v1')).body;
    expect(core).toMatchObject({ kind: 'APIResourceList', groupVersion: 'v1' });
    expect(core.resources.find((r: any) => r.name === 'nodes')).toMatchObject({ namespaced: false, kind: 'Node', verbs: expect.arrayContaining(['list', 'watch']) });
    expect(core.resources.map((r: any) => r.name)).toContain('pods/status');
    const slices = (await get(sim, '/apis/discovery.k8s.io/v1')).body.resources;
    expect(slices.map((r: any) => r.name)).toEqual(['endpointslices']);
    expect((await get(sim, '/apis/example.com/v1alpha1')).body.resources[0]).toMatchObject({ name: 'widgets', kind: 'Widget', namespaced: false });
    // A registered cluster-scoped kind works end to end.
    expect((await call(sim, 'POST', '/apis/example.com/v1alpha1/widgets', { apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'w' } })).status).toBe(201);
    expect((await get(sim, '/apis/example.com/v1alpha1/widgets/w')).body.metadata).not.toHaveProperty('namespace');
  });

  it('requires the bearer token when one is set, and rotates it', async () => {
    sim = await KubernetesSimulator.start({ token: 's3cret' });
    const none = await get(sim, '/api/v1/pods');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    expect((await get(sim, '/api/v1/pods', { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get(sim, '/api/v1/pods', { Authorization: 'Bearer s3cret' })).status).toBe(200);
    expect(sim.kubeconfig()).toContain('token: "s3cret"');
    sim.token = 'rotated';
    expect((await get(sim, '/api/v1/pods', { Authorization: 'Bearer s3cret' })).status).toBe(401);
  });

  it('builds real-shaped fixtures that join: EndpointSlice targetRef → Pod uid, ownerReference → Service uid', () => {
    const p = pod({ name: 'web-1', namespace: 'shop', labels: { app: 'web', version: 'v1' }, ip: '10.0.0.1', nodeName: 'n1', serviceAccountName: 'web', ready: false, containerPorts: [{ name: 'http', containerPort: 8080 }] });
    expect(p.metadata.uid).toBe(uidFor('Pod', 'shop', 'web-1'));
    expect(p.status).toMatchObject({ podIP: '10.0.0.1', conditions: expect.arrayContaining([{ type: 'Ready', status: 'False', lastTransitionTime: expect.any(String) }]) });
    expect(p.spec).toMatchObject({ nodeName: 'n1', serviceAccountName: 'web', containers: [{ ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] });
    const s = service({ name: 'web', namespace: 'shop', ports: [{ name: 'http', port: 80, targetPort: 'http', appProtocol: 'http' }], clusterIP: 'None' });
    expect(s.spec).toMatchObject({ clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }] });
    const es = endpointSlice({ name: 'web-abc12', namespace: 'shop', service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ address: '10.0.0.1', ready: false, terminating: true, nodeName: 'n1', zone: 'z1', pod: { name: 'web-1' } }] });
    expect(es).toMatchObject({
      addressType: 'IPv4',
      metadata: { labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }, ownerReferences: [{ kind: 'Service', name: 'web', uid: s.metadata.uid }] },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: false, serving: false, terminating: true }, nodeName: 'n1', zone: 'z1', targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: p.metadata.uid } }],
    });
    expect(endpointSlice({ name: 'e', namespace: 'shop', service: 'web', ports: [], endpoints: null }).endpoints).toBeNull();
    expect(node('n1', { region: 'r1', zone: 'z1' }).metadata.labels).toMatchObject({ 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': 'z1' });
  });

  it('keeps a uid a test sets and stores `endpoints: null` as null', async () => {
    sim = await KubernetesSimulator.start();
    const p = sim.apply(pod({ name: 'p', namespace: 'default', labels: {}, ip: '10.0.0.1', nodeName: 'n' }));
    expect(p.metadata.uid).toBe(uidFor('Pod', 'default', 'p'));
    sim.apply(endpointSlice({ name: 'e', namespace: 'default', service: 'web', ports: [{ name: 'http', port: 80 }], endpoints: null }));
    const raw = await fetch(`${sim.url}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/e`).then((r) => r.text());
    expect(raw).toContain('"endpoints":null');
  });
});

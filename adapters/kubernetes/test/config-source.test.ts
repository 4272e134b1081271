import { afterEach, describe, expect, it } from 'vitest';
import { ConfigStore, formatIssue, InMemoryBus, type ConfigIssue, type SourcedObject } from '@isthmus/core';
import { KubernetesSimulator, type KubeObject } from '../../../test/sim/kubernetes/src/index.js';
import { KubernetesConfigSource } from '../src/config-source.js';
import { CONDITION_REASON, CONDITION_TYPE, VALIDATION_CODE } from '../src/status-writer.js';
import { captureLogger, eventually, FAST } from './helpers.js';

/** A ConfigStore (the real validation gate) that also remembers the issues each part got. */
class Store extends ConfigStore {
  readonly results = new Map<string, readonly ConfigIssue[]>();
  constructor(readonly memory = new InMemoryBus()) {
    super(memory, { source: 'test' });
  }
  override propose(part: string, objects: readonly SourcedObject[]): readonly ConfigIssue[] {
    const issues = super.propose(part, objects);
    this.results.set(part, issues);
    return issues;
  }
  override proposeAll(parts: ReadonlyMap<string, readonly SourcedObject[]>): ReadonlyMap<string, readonly ConfigIssue[]> {
    const results = super.proposeAll(parts);
    for (const [part, issues] of results) this.results.set(part, issues);
    this.batches.push(parts.size);
    return results;
  }
  /** Sizes of the batches proposed with proposeAll. */
  readonly batches: number[] = [];
  /** The accepted object of a part, if any. */
  object(part: string): SourcedObject | undefined {
    return this.memory.config.get(part)?.objects[0];
  }
}

const VS_API = 'networking.istio.io/v1';

function virtualService(name: string, weights: [number, number], apiVersion = VS_API, namespace = 'default'): KubeObject {
  const host = `reviews.${namespace}.svc.cluster.local`;
  return {
    apiVersion,
    kind: 'VirtualService',
    metadata: { name, namespace, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":"copy"}', team: 'shop' } },
    spec: {
      hosts: [host],
      http: [{ route: [{ destination: { host, port: { number: 9080 } }, weight: weights[0] }, { destination: { host: `ratings.${namespace}.svc.cluster.local`, port: { number: 9080 } }, weight: weights[1] }] }],
    },
  };
}

const PART = (kind: string, name: string, ns = 'default', cluster = 'Kubernetes') => `kubernetes/${cluster}/${kind}/${ns}/${name}`;

let sim: KubernetesSimulator;
let source: KubernetesConfigSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
  await sim?.stop();
});

async function startSource(opts: { writeStatus?: boolean; namespaces?: string[] } = {}): Promise<Store> {
  const store = new Store();
  source = new KubernetesConfigSource({ kubeconfigData: sim.kubeconfig(), tuning: FAST, ...opts }, { logger: captureLogger() });
  await source.start(store);
  return store;
}

describe('Kubernetes config source', () => {
  it('proposes each Istio object as its own part, re-proposes changes, withdraws deleted objects', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(virtualService('reviews', [80, 20]));
    const store = await startSource();
    await eventually('synced', () => store.synced);
    const accepted = store.object(PART('VirtualService', 'reviews'));
    expect(accepted?.origin).toBe('kubernetes/Kubernetes');
    const meta = accepted!.object.metadata;
    // Server metadata that is not config is gone; what identifies and orders objects stays.
    expect(meta).toMatchObject({ name: 'reviews', namespace: 'default', annotations: { team: 'shop' } });
    expect(meta.resourceVersion).toBeTruthy();
    expect(meta.creationTimestamp).toBeTruthy();
    expect(meta.annotations).not.toHaveProperty('kubectl.kubernetes.io/last-applied-configuration');
    expect(accepted!.object).not.toHaveProperty('status');

    sim.apply(virtualService('reviews', [50, 50]));
    await eventually('the change', () => (store.object(PART('VirtualService', 'reviews'))?.object.spec as any)?.http[0].route[0].weight === 50);

    sim.remove(VS_API, 'VirtualService', 'default', 'reviews');
    await eventually('the withdrawal', () => store.object(PART('VirtualService', 'reviews')) === undefined);
  });

  it('proposes a large listing in batches, refusing only its invalid objects', async () => {
    sim = await KubernetesSimulator.start();
    for (let i = 0; i < 400; i++) sim.apply(virtualService(`vs-${i}`, i === 7 ? [90, 20] : [80, 20]));
    const store = await startSource();
    await eventually('synced', () => store.synced);
    // One validation of the set per batch instead of one per object (the initial list is a few batches).
    expect(Math.max(...store.batches)).toBeGreaterThan(50);
    expect(store.object(PART('VirtualService', 'vs-0'))).toBeDefined();
    expect(store.object(PART('VirtualService', 'vs-399'))).toBeDefined();
    expect(store.object(PART('VirtualService', 'vs-7'))).toBeUndefined();
    expect(store.results.get(PART('VirtualService', 'vs-7'))!.map(formatIssue).join('\n')).toMatch(/weights must add up to 100, got 110/);
    const accepted = [...Array(400).keys()].filter((i) => store.object(PART('VirtualService', `vs-${i}`)) !== undefined);
    expect(accepted).toHaveLength(399);
  });

  it('refuses an invalid object alone, with its errors in its status, and clears them once it is fixed', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(virtualService('good', [80, 20]));
    sim.apply(virtualService('bad', [90, 20], VS_API, 'shop'));
    const store = await startSource({ writeStatus: true });
    await eventually('synced', () => store.synced);
    expect(store.object(PART('VirtualService', 'good'))).toBeDefined();
    expect(store.object(PART('VirtualService', 'bad', 'shop'))).toBeUndefined();
    const errors = store.results.get(PART('VirtualService', 'bad', 'shop'))!.filter((i) => i.severity === 'error');
    expect(errors.map(formatIssue).join('\n')).toMatch(/^kubernetes\/Kubernetes:VirtualService\/shop\/bad: spec\.http\[0\]/);

    const status = () => (sim.get(VS_API, 'VirtualService', 'shop', 'bad') as any)?.status;
    await eventually('the error in the status', () => status()?.validationMessages?.length > 0);
    expect(status().validationMessages[0]).toMatchObject({ type: VALIDATION_CODE, level: 'ERROR' });
    expect(status().validationMessages[0].message).toMatch(/weight/);
    expect(status().conditions).toEqual([expect.objectContaining({ type: CONDITION_TYPE, status: 'False', reason: CONDITION_REASON })]);
    // The valid object's status is left alone.
    expect((sim.get(VS_API, 'VirtualService', 'default', 'good') as any).status).toBeUndefined();

    // Our own status write comes back as MODIFIED: nothing is proposed or written again.
    const patches = () => sim.requests().filter((r) => r.method === 'PATCH').length;
    const proposals = store.results.size;
    const writes = patches();
    await new Promise((r) => setTimeout(r, 300));
    expect(patches()).toBe(writes);
    expect(store.results.size).toBe(proposals);

    sim.apply({ ...virtualService('bad', [80, 20], VS_API, 'shop'), status: status() });
    await eventually('the fix applied', () => store.object(PART('VirtualService', 'bad', 'shop')) !== undefined);
    await eventually('the status cleared', () => status() === undefined || (!status().validationMessages && !status().conditions));
  });

  it('applies a refused object once what it names arrives, and clears its status', async () => {
    sim = await KubernetesSimulator.start();
    const host = 'reviews.default.svc.cluster.local';
    const vs = (name: string): KubeObject => ({
      apiVersion: VS_API,
      kind: 'VirtualService',
      metadata: { name, namespace: 'default' },
      spec: { hosts: [host], http: [{ route: [{ destination: { host, subset: 'v1' } }] }] },
    });
    const dr = (name: string): KubeObject => ({ apiVersion: VS_API, kind: 'DestinationRule', metadata: { name, namespace: 'default' }, spec: { host, subsets: [{ name: 'v1', labels: { version: 'v1' } }] } });
    // Both present at start: whatever order the kinds are listed in, both apply, no status is written.
    sim.apply(vs('first'));
    sim.apply(dr('first'));
    const store = await startSource({ writeStatus: true });
    await eventually('synced', () => store.synced);
    await eventually('both applied', () => store.object(PART('VirtualService', 'first')) && store.object(PART('DestinationRule', 'first')));
    // A VirtualService naming a subset nobody defines yet: refused, with its status ...
    sim.remove(VS_API, 'DestinationRule', 'default', 'first');
    sim.remove(VS_API, 'VirtualService', 'default', 'first');
    // (Kinds are watched separately: wait until both are gone, or the new one could be checked against the old rule.)
    await eventually('both withdrawn', () => !store.object(PART('VirtualService', 'first')) && !store.object(PART('DestinationRule', 'first')));
    sim.apply(vs('second'));
    const status = () => (sim.get(VS_API, 'VirtualService', 'default', 'second') as any)?.status;
    await eventually('refused with a status', () => /subset "v1" is not defined/.test(status()?.conditions?.[0]?.message ?? ''));
    // ... until the DestinationRule arrives.
    sim.apply(dr('second'));
    await eventually('applied', () => store.object(PART('VirtualService', 'second')) !== undefined);
    await eventually('status cleared', () => !status()?.conditions);
    expect(sim.requests().filter((r) => r.method === 'PATCH' && r.path.includes('/virtualservices/first/'))).toEqual([]);
  });

  it('keeps other writers\' status entries when writing and clearing its own', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply({ ...virtualService('bad', [90, 20]), status: { conditions: [{ type: 'Other', status: 'True' }], validationMessages: [{ type: { code: 'IST0002', name: 'Deprecated' }, level: 'WARNING' }] } });
    const store = await startSource({ writeStatus: true });
    const status = () => (sim.get(VS_API, 'VirtualService', 'default', 'bad') as any)?.status;
    await eventually('the error in the status', () => status()?.validationMessages?.length === 2);
    expect(status().conditions.map((c: any) => c.type)).toEqual(['Other', CONDITION_TYPE]);
    sim.apply({ ...virtualService('bad', [80, 20]), status: status() });
    await eventually('the fix applied', () => store.object(PART('VirtualService', 'bad')) !== undefined);
    await eventually('only our entries removed', () => status()?.conditions?.length === 1);
    expect(status()).toEqual({ conditions: [{ type: 'Other', status: 'True' }], validationMessages: [{ type: { code: 'IST0002', name: 'Deprecated' }, level: 'WARNING' }] });
  });

  it('does not write status unless asked to', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(virtualService('bad', [90, 20]));
    const store = await startSource();
    await eventually('synced', () => store.synced);
    await eventually('refused', () => store.results.get(PART('VirtualService', 'bad'))?.some((i) => i.severity === 'error'));
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.requests().filter((r) => r.method === 'PATCH')).toEqual([]);
  });

  it('reads a kind at the first version the server serves', async () => {
    sim = await KubernetesSimulator.start();
    // An older Istio: VirtualService served at v1beta1 and v1alpha3 only.
    sim.registerResource({ group: 'networking.istio.io', versions: ['v1beta1', 'v1alpha3'], kind: 'VirtualService', plural: 'virtualservices', namespaced: true });
    sim.apply(virtualService('reviews', [80, 20], 'networking.istio.io/v1beta1'));
    const store = await startSource();
    await eventually('synced', () => store.synced);
    expect(store.object(PART('VirtualService', 'reviews'))?.object.apiVersion).toBe('networking.istio.io/v1beta1');
  });

  it('syncs without a CRD that is not installed, says so once, and reads it once it appears', async () => {
    sim = await KubernetesSimulator.start();
    const logger = captureLogger();
    const removeFault = sim.inject({ path: '/apis/security.istio.io/', kind: 'status', code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' });
    sim.apply(virtualService('reviews', [80, 20]));
    const store = new Store();
    source = new KubernetesConfigSource({ kubeconfigData: sim.kubeconfig(), tuning: FAST }, { logger });
    await source.start(store);
    await eventually('synced', () => store.synced);
    expect(store.object(PART('VirtualService', 'reviews'))).toBeDefined();
    // Several retries later, each missing kind was reported once.
    await eventually('retries', () => sim.requests('/apis/security.istio.io/v1/authorizationpolicies').length >= 6);
    const notServed = logger.lines.filter((l) => l.level === 'warn' && /authorizationpolicies\.security\.istio\.io is not served/.test(l.msg));
    expect(notServed).toHaveLength(1);
    expect(notServed[0]!.msg).toMatch(/CRD installed/);

    removeFault();
    sim.apply({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'allow', namespace: 'default' }, spec: { action: 'ALLOW', rules: [{}] } });
    await eventually('the policy', () => store.object(PART('AuthorizationPolicy', 'allow')) !== undefined);
  });

  it('reads only the selected namespaces', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(virtualService('reviews', [80, 20], VS_API, 'default'));
    sim.apply(virtualService('reviews', [80, 20], VS_API, 'shop'));
    const store = await startSource({ namespaces: ['shop'] });
    await eventually('synced', () => store.synced);
    expect([...store.memory.config.entries()].map(([p]) => p)).toEqual([PART('VirtualService', 'reviews', 'shop')]);
  });

  it('keeps the config in force while the API server is down, and follows changes afterwards', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(virtualService('reviews', [80, 20]));
    const store = await startSource();
    await eventually('synced', () => store.synced);
    await sim.down();
    await new Promise((r) => setTimeout(r, 300));
    expect(store.object(PART('VirtualService', 'reviews'))).toBeDefined();
    await sim.up();
    sim.apply(virtualService('reviews', [60, 40]));
    await eventually('the change after the outage', () => (store.object(PART('VirtualService', 'reviews'))?.object.spec as any)?.http[0].route[0].weight === 60);
  });
});

import { describe, expect, it } from 'vitest';
import {
  ConfigStore,
  formatIssue,
  InMemoryBus,
  InMemoryReplicatedMap,
  type Bus,
  type ConfigIssue,
  type ConfigMessage,
} from '@isthmus/core';
import { errors, GREETER_DR, objectsOf, warnings } from './helpers.js';

const DR_V1_ONLY = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: greeter, namespace: default }
spec:
  host: greeter
  subsets:
    - { name: v1, labels: { version: v1 } }
`;

const CANARY_VS = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: greeter, namespace: default }
spec:
  hosts: [greeter]
  http:
    - route:
        - { destination: { host: greeter, subset: v1 }, weight: 95 }
        - { destination: { host: greeter, subset: v2 }, weight: 5 }
`;

function recordingLogger() {
  const warned: { obj: object; msg: string }[] = [];
  return { warned, logger: { warn: (obj: object, msg: string) => warned.push({ obj, msg }), info: () => {} } };
}

const objectNames = (m: ConfigMessage | undefined): string[] => (m?.objects ?? []).map((o) => `${o.object.kind}/${o.object.metadata.name}`);

describe('ConfigStore', () => {
  it('publishes a valid part to the bus and returns its warnings', () => {
    const bus = new InMemoryBus();
    const store = new ConfigStore(bus, { source: 'file' });
    const issues = store.propose('rules.yaml', objectsOf(`${GREETER_DR}\n---\n${CANARY_VS}`, 'rules.yaml'));
    expect(errors(issues)).toEqual([]);
    expect(objectNames(bus.config.get('rules.yaml'))).toEqual(['DestinationRule/greeter', 'VirtualService/greeter']);
    expect(bus.config.get('rules.yaml')!.source).toBe('rules.yaml');
    expect(store.rejections).toBe(0);
    expect(store.synced).toBe(false);
    store.markSynced();
    expect(store.synced).toBe(true);

    const withWarning = store.propose(
      'policy.yaml',
      objectsOf('apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: strict }\nspec: { mtls: { mode: STRICT } }', 'policy.yaml'),
    );
    expect(warnings(withWarning)).toEqual([
      'policy.yaml:1:PeerAuthentication/default/strict: not enforced yet: Isthmus validates and stores PeerAuthentication objects but does not apply them to proxies',
    ]);
  });

  it('refuses an invalid proposal: the error is returned and logged, the bus keeps the previous set', () => {
    const bus = new InMemoryBus();
    const { warned, logger } = recordingLogger();
    const store = new ConfigStore(bus, { source: 'file', logger });
    store.propose('rules.yaml', objectsOf(`${GREETER_DR}\n---\n${CANARY_VS}`, 'rules.yaml'));
    const before = bus.config.get('rules.yaml');
    const changes: string[] = [];
    bus.config.watch((key) => changes.push(key));
    changes.length = 0;

    const bad = CANARY_VS.replace('weight: 5', 'weight: 50');
    const issues = store.propose('rules.yaml', objectsOf(`${GREETER_DR}\n---\n${bad}`, 'rules.yaml'));

    const expected = 'rules.yaml:13:VirtualService/default/greeter: spec.http[0].route: weights must add up to 100, got 145';
    expect(errors(issues)).toEqual([expected]);
    expect(bus.config.get('rules.yaml')).toBe(before);
    expect(changes).toEqual([]);
    expect(store.rejections).toBe(1);
    expect(warned).toHaveLength(1);
    expect(warned[0]!.msg).toContain(expected);
    expect(store.issues().get('rules.yaml')!.map(formatIssue)).toEqual([expected]);

    // Fixing it is accepted and clears the part's issues.
    expect(errors(store.propose('rules.yaml', objectsOf(`${GREETER_DR}\n---\n${CANARY_VS}`, 'rules.yaml')))).toEqual([]);
    expect(store.issues().get('rules.yaml')).toEqual([]);
  });

  it('refuses a change to one part that breaks another part', () => {
    const bus = new InMemoryBus();
    const store = new ConfigStore(bus, { source: 'file' });
    expect(errors(store.propose('dr.yaml', objectsOf(GREETER_DR, 'dr.yaml')))).toEqual([]);
    expect(errors(store.propose('vs.yaml', objectsOf(CANARY_VS, 'vs.yaml')))).toEqual([]);
    const before = bus.config.get('dr.yaml');

    const issues = store.propose('dr.yaml', objectsOf(DR_V1_ONLY, 'dr.yaml'));
    expect(errors(issues)).toEqual([
      'vs.yaml:2:VirtualService/default/greeter: spec.http[0].route[1].destination.subset: subset "v2" is not defined by any DestinationRule for host greeter.default.svc.cluster.local',
    ]);
    expect(bus.config.get('dr.yaml')).toBe(before);
    expect(store.rejections).toBe(1);
  });

  it('applies a refused part by itself once the part it depended on is fixed', () => {
    const bus = new InMemoryBus();
    const store = new ConfigStore(bus, { source: 'file' });
    expect(errors(store.propose('dr.yaml', objectsOf(DR_V1_ONLY, 'dr.yaml')))).toEqual([]);
    // The VirtualService needs subset v2, which no DestinationRule defines yet.
    expect(errors(store.propose('vs.yaml', objectsOf(CANARY_VS, 'vs.yaml')))).toHaveLength(1);
    expect(bus.config.get('vs.yaml')).toBeUndefined();
    expect(store.issues().get('vs.yaml')).toHaveLength(1);
    // Fixing the other file is enough: vs.yaml is not touched again.
    expect(errors(store.propose('dr.yaml', objectsOf(GREETER_DR, 'dr.yaml')))).toEqual([]);
    expect(objectNames(bus.config.get('vs.yaml'))).toEqual(['VirtualService/greeter']);
    expect(store.issues().get('vs.yaml')).toEqual([]);
    expect(store.rejections).toBe(1);
  });

  it('refuses an object another part already defines, on the newer part', () => {
    const bus = new InMemoryBus();
    const store = new ConfigStore(bus, { source: 'file' });
    store.propose('a.yaml', objectsOf(GREETER_DR, 'a.yaml'));
    const issues = store.propose('b.yaml', objectsOf(GREETER_DR, 'b.yaml'));
    expect(errors(issues)).toEqual(['b.yaml:2:DestinationRule/default/greeter: defined more than once (first at a.yaml:2)']);
    expect(bus.config.get('b.yaml')).toBeUndefined();
  });

  it('sees other sources on the bus: validates against them and reports duplicates', () => {
    const bus = new InMemoryBus();
    const files = new ConfigStore(bus, { source: 'file' });
    const kv = new ConfigStore(bus, { source: 'nats' });
    files.propose('dr.yaml', objectsOf(GREETER_DR, 'dr.yaml'));
    expect(errors(kv.propose('kv:vs', objectsOf(CANARY_VS, 'kv:vs')))).toEqual([]);
    expect(errors(files.propose('dr.yaml', objectsOf(DR_V1_ONLY, 'dr.yaml')))).toHaveLength(1);
  });

  it('withdraws a part; errors it leaves behind show in issues() but do not block unrelated changes', () => {
    const bus = new InMemoryBus();
    const store = new ConfigStore(bus, { source: 'file' });
    store.propose('dr.yaml', objectsOf(GREETER_DR, 'dr.yaml'));
    store.propose('vs.yaml', objectsOf(CANARY_VS, 'vs.yaml'));
    store.withdraw('dr.yaml');
    expect(bus.config.get('dr.yaml')).toBeUndefined();
    expect(errors(store.issues().get('vs.yaml')!)).toHaveLength(2);
    expect(store.issues().has('dr.yaml')).toBe(false);

    const other = store.propose(
      'other.yaml',
      objectsOf('apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: ratings }\nspec: { host: ratings }', 'other.yaml'),
    );
    expect(errors(other)).toEqual([]);
    expect(bus.config.get('other.yaml')).toBeDefined();
  });

  it('keeps the objects of an unreadable part and reports why', () => {
    const bus = new InMemoryBus();
    const store = new ConfigStore(bus, { source: 'file' });
    store.propose('dr.yaml', objectsOf(GREETER_DR, 'dr.yaml'));
    const problem: ConfigIssue = {
      severity: 'error',
      source: 'dr.yaml:3',
      kind: '',
      namespace: '',
      name: '',
      path: '',
      message: 'invalid YAML: bad indentation',
    };
    store.reportIssues('dr.yaml', [problem]);
    expect(bus.config.get('dr.yaml')).toBeDefined();
    expect(store.issues().get('dr.yaml')).toEqual([problem]);
  });

  it('sees its own accepted proposals before an asynchronous bus reflects them', async () => {
    const slow = new InMemoryBus();
    const config = new InMemoryReplicatedMap<ConfigMessage>();
    const deferred: (() => Promise<void>)[] = [];
    const bus: Bus = {
      ...slow,
      registry: slow.registry,
      proxyStatus: slow.proxyStatus,
      close: () => slow.close(),
      config: {
        put: (k, v) => new Promise<void>((resolve) => deferred.push(() => config.put(k, v).then(resolve))),
        delete: (k) => config.delete(k),
        get: (k) => config.get(k),
        entries: () => config.entries(),
        watch: (h) => config.watch(h),
      },
    };
    const store = new ConfigStore(bus, { source: 'nats' });
    expect(errors(store.propose('dr', objectsOf(GREETER_DR, 'dr')))).toEqual([]);
    expect(config.get('dr')).toBeUndefined();
    // The VirtualService needs the DestinationRule that is still in flight.
    expect(errors(store.propose('vs', objectsOf(CANARY_VS, 'vs')))).toEqual([]);
    for (const d of deferred.splice(0)) await d();
    expect([...config.entries().keys()].sort()).toEqual(['dr', 'vs']);
  });
});

describe('ConfigStore.proposeAll', () => {
  const vs = (name: string, weights: [number, number] = [95, 5]) =>
    CANARY_VS.replace('name: greeter, namespace', `name: ${name}, namespace`).replace('weight: 95', `weight: ${weights[0]}`).replace('weight: 5', `weight: ${weights[1]}`);

  it('accepts a batch with the same outcome per part as proposing them one by one', () => {
    const bus = new InMemoryBus();
    const store = new ConfigStore(bus, { source: 'k8s' });
    const parts = new Map([
      ['dr', objectsOf(GREETER_DR, 'dr')],
      ['vs', objectsOf(CANARY_VS, 'vs')],
    ]);
    const results = store.proposeAll(parts);
    expect([...results.keys()].sort()).toEqual(['dr', 'vs']);
    expect([...results.values()].flatMap(errors)).toEqual([]);
    expect(objectNames(bus.config.get('dr'))).toEqual(['DestinationRule/greeter']);
    expect(objectNames(bus.config.get('vs'))).toEqual(['VirtualService/greeter']);
  });

  it('refuses only the parts with errors, each with its own errors, and keeps them for a retry', () => {
    const bus = new InMemoryBus();
    const store = new ConfigStore(bus, { source: 'k8s' });
    const results = store.proposeAll(
      new Map([
        ['dr', objectsOf(DR_V1_ONLY, 'dr')],
        ['good', objectsOf(CANARY_VS.replace('subset: v2', 'subset: v1'), 'good')],
        ['bad-weights', objectsOf(vs('other', [60, 60]), 'bad-weights')],
        // Valid alone, but its subset v2 is not in the DestinationRule: refused like a single proposal.
        ['missing-subset', objectsOf(vs('third'), 'missing-subset')],
      ]),
    );
    expect(errors(results.get('good')!)).toEqual([]);
    expect(errors(results.get('bad-weights')!)).toContain(
      'bad-weights:2:VirtualService/default/other: spec.http[0].route: weights must add up to 100, got 120',
    );
    expect(errors(results.get('missing-subset')!).join('\n')).toMatch(/subset "v2"/);
    expect(bus.config.get('good')).toBeDefined();
    expect(bus.config.get('bad-weights')).toBeUndefined();
    expect(bus.config.get('missing-subset')).toBeUndefined();
    expect(store.rejections).toBe(2);
    // The store's own retry applies a refused part once what it needs arrives.
    store.propose('dr', objectsOf(GREETER_DR, 'dr'));
    expect(bus.config.get('missing-subset')).toBeDefined();
  });

  it('accepts hundreds of valid parts in one batch', () => {
    const bus = new InMemoryBus();
    const store = new ConfigStore(bus, { source: 'k8s' });
    const parts = new Map(Array.from({ length: 300 }, (_, i) => [`p${i}`, objectsOf(vs(`vs-${i}`).replace(/subset: v\d/g, '').replace(/weight: \d+/g, 'weight: 50'), `p${i}`)] as const));
    const results = store.proposeAll(parts);
    expect([...results.values()].flatMap(errors)).toEqual([]);
    expect([...bus.config.entries()]).toHaveLength(300);
  });
});

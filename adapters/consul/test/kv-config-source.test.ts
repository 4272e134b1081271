import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigIssue, ConfigSink, SourcedObject } from '@isthmus/core';
import { ConsulSimulator } from '../../../test/sim/consul/src/index.js';
import { freePort } from '../../../test/support/process.js';
import { ConsulKvConfigSource } from '../src/kv-config-source.js';
import { FAST, captureLogger, eventually } from './helpers.js';

/** A ConfigSink that records calls; `reject` makes propose() refuse a part. */
class Sink implements ConfigSink {
  parts = new Map<string, readonly SourcedObject[]>();
  issues = new Map<string, readonly ConfigIssue[]>();
  proposals: string[] = [];
  withdrawn: string[] = [];
  synced = false;
  reject = new Set<string>();
  propose(part: string, objects: readonly SourcedObject[]): readonly ConfigIssue[] {
    this.proposals.push(part);
    if (this.reject.has(part)) {
      return [{ severity: 'error', source: part, kind: 'VirtualService', namespace: 'default', name: 'x', path: 'spec', message: 'refused' }];
    }
    this.parts.set(part, objects);
    return [];
  }
  withdraw(part: string): void {
    this.withdrawn.push(part);
    this.parts.delete(part);
  }
  reportIssues(part: string, issues: readonly ConfigIssue[]): void {
    this.issues.set(part, issues);
  }
  markSynced(): void {
    this.synced = true;
  }
}

const VS = (weight: number) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: greeter}
spec:
  hosts: [greeter.service.consul]
  http:
    - route:
        - destination: {host: greeter.service.consul, subset: v1}
          weight: ${weight}
        - destination: {host: greeter.service.consul, subset: v2}
          weight: ${100 - weight}
`;

let sim: ConsulSimulator;
let source: ConsulKvConfigSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
  await sim?.stop();
});

function kv(address: string): ConsulKvConfigSource {
  source = new ConsulKvConfigSource({ address, prefix: 'isthmus/config/', datacenter: 'dc1', tuning: FAST });
  return source;
}

describe('Consul KV config source', () => {
  it('is synced after reading an empty prefix (404)', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    const sink = new Sink();
    await kv(sim.url).start(sink);
    await eventually('synced', () => sink.synced);
    expect(sink.parts.size).toBe(0);
    expect(source!.source).toBe('consul-kv/dc1');
  });

  it('proposes each key as one part, re-proposes changes, withdraws deleted keys', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.putKv('isthmus/config/greeter.yaml', VS(95));
    sim.putKv('isthmus/config/', ''); // a "folder" key
    sim.putKv('other/ignored.yaml', VS(50));
    const sink = new Sink();
    await kv(sim.url).start(sink);
    await eventually('synced', () => sink.synced);
    expect([...sink.parts.keys()]).toEqual(['isthmus/config/greeter.yaml']);
    const [obj] = sink.parts.get('isthmus/config/greeter.yaml')!;
    expect(obj!.origin).toBe('isthmus/config/greeter.yaml:1');
    expect(obj!.object.kind).toBe('VirtualService');

    sim.putKv('isthmus/config/greeter.yaml', VS(0));
    await eventually('the change', () => JSON.stringify(sink.parts.get('isthmus/config/greeter.yaml')).includes('"weight":100'));
    sim.putKv('isthmus/config/dr.json', JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'greeter' }, spec: { host: 'greeter.service.consul' } }));
    await eventually('the JSON key', () => sink.parts.has('isthmus/config/dr.json'));
    // Deleting the key with the highest ModifyIndex makes the recurse index go backwards.
    sim.deleteKv('isthmus/config/dr.json');
    await eventually('the withdrawal', () => sink.withdrawn.includes('isthmus/config/dr.json'));
    expect([...sink.parts.keys()]).toEqual(['isthmus/config/greeter.yaml']);
  });

  it('reports a key that does not parse and leaves the other keys alone', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.putKv('isthmus/config/good.yaml', VS(95));
    sim.putKv('isthmus/config/bad.yaml', 'kind: [unclosed');
    const sink = new Sink();
    await kv(sim.url).start(sink);
    await eventually('synced', () => sink.synced);
    expect(sink.parts.has('isthmus/config/good.yaml')).toBe(true);
    expect(sink.issues.get('isthmus/config/bad.yaml')?.[0]?.message).toMatch(/invalid YAML/);
  });

  it('does not re-propose an unchanged value', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.putKv('isthmus/config/a.yaml', VS(95));
    sim.putKv('isthmus/config/b.yaml', VS(95));
    const sink = new Sink();
    await kv(sim.url).start(sink);
    await eventually('synced', () => sink.synced);
    sim.putKv('isthmus/config/b.yaml', VS(50));
    await eventually('b re-proposed', () => sink.proposals.filter((p) => p.endsWith('b.yaml')).length === 2);
    expect(sink.proposals.filter((p) => p.endsWith('a.yaml'))).toHaveLength(1);
  });

  it('is not synced while Consul is down, and changes nothing on errors', async () => {
    const port = await freePort();
    const sink = new Sink();
    const logger = captureLogger();
    source = new ConsulKvConfigSource({ address: `http://127.0.0.1:${port}`, prefix: 'isthmus/config/', tuning: FAST }, logger);
    await source.start(sink);
    await eventually('a failed read', () => logger.lines.some((l) => l.level === 'warn'));
    expect(logger.lines.find((l) => l.level === 'warn')!.msg).toMatch(/connection refused.*not ready until it has been read once/);
    expect(sink.synced).toBe(false);
    sim = new ConsulSimulator({ jitter: false });
    sim.putKv('isthmus/config/greeter.yaml', VS(95));
    await sim.listen(port);
    await eventually('synced once up', () => sink.synced && sink.parts.size === 1);
    const clear = sim.inject({ kind: 'error', status: 500 });
    await eventually('a few failed reads', () => sim.requests('/v1/kv/').filter((r) => r.status === 500).length >= 2);
    expect(sink.parts.size).toBe(1);
    expect(sink.withdrawn).toEqual([]);
    clear();
  });
});

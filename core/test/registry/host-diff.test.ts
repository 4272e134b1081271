import { describe, expect, it } from 'vitest';
import { diffShard, RegistryAggregator, type RegistryShard, type Workload } from '@isthmus/core';
import { aService, aWorkload, message } from '../builders/registry.js';

const shard = (workloads: Workload[], services = [aService('a.x'), aService('b.x'), aService('c.x')]): RegistryShard => ({
  source: 's/1',
  services,
  workloads,
});
const base = () => [
  aWorkload('a.x', 'a1', { address: '10.0.0.1' }),
  aWorkload('a.x', 'a2', { address: '10.0.0.2' }),
  aWorkload('b.x', 'b1', { address: '10.0.1.1' }),
  aWorkload('c.x', 'c1', { address: '10.0.2.1' }),
];

describe('diffShard (per-host diffing of a republished shard)', () => {
  it('first shard: every host is new', () => {
    const { state, changed } = diffShard(undefined, shard(base()));
    expect([...changed].sort()).toEqual(['a.x', 'b.x', 'c.x']);
    expect(state?.hosts.get('a.x')?.workloads.map((w) => w.id)).toEqual(['a1', 'a2']);
  });

  it('same objects in a new array: nothing changed, and the previous contributions are kept', () => {
    const ws = base();
    const first = diffShard(undefined, shard(ws));
    const a = first.state!.hosts.get('a.x');
    const { state, changed } = diffShard(first.state, shard([...ws]));
    expect(changed.size).toBe(0);
    expect(state!.hosts.get('a.x')).toBe(a);
  });

  it('one replaced workload object (same layout): only its host changed', () => {
    const ws = base();
    const first = diffShard(undefined, shard(ws));
    const next = [...ws];
    next[2] = aWorkload('b.x', 'b1', { address: '10.0.1.9' });
    const { state, changed } = diffShard(first.state, shard(next));
    expect([...changed]).toEqual(['b.x']);
    expect(state!.hosts.get('b.x')!.workloads[0]!.address).toBe('10.0.1.9');
    expect(state!.hosts.get('a.x')).toBe(first.state!.hosts.get('a.x'));
  });

  it('a replaced object with the same content is no change', () => {
    const ws = base();
    const first = diffShard(undefined, shard(ws));
    const next = [...ws];
    next[3] = aWorkload('c.x', 'c1', { address: '10.0.2.1' });
    expect(diffShard(first.state, shard(next)).changed.size).toBe(0);
  });

  it('every object new (an adapter mapping each listing afresh): compared by structure', () => {
    const first = diffShard(undefined, shard(base()));
    const fresh = base().map((w) => ({ ...w, labels: { ...w.labels }, ports: { ...w.ports }, locality: { ...w.locality } }));
    fresh[0] = { ...fresh[0]!, labels: { version: 'v2' } };
    const services = [aService('a.x'), aService('b.x'), aService('c.x')];
    const { changed } = diffShard(first.state, shard(fresh, services));
    expect([...changed]).toEqual(['a.x']);
  });

  it('a new listing order is no change (workloads are compared sorted by id)', () => {
    const first = diffShard(undefined, shard(base()));
    expect(diffShard(first.state, shard([...base()].reverse())).changed.size).toBe(0);
  });

  it('a workload moving to another host changes both hosts (layout differs: regrouped)', () => {
    const ws = base();
    const first = diffShard(undefined, shard(ws));
    const next = [...ws];
    next[1] = aWorkload('c.x', 'a2', { address: '10.0.0.2' });
    const { state, changed } = diffShard(first.state, shard(next));
    expect([...changed].sort()).toEqual(['a.x', 'c.x']);
    expect(state!.hosts.get('c.x')!.workloads.map((w) => w.id)).toEqual(['a2', 'c1']);
  });

  it('added and removed workloads, a removed service, a changed service port', () => {
    const first = diffShard(undefined, shard(base()));
    const ws = [...base(), aWorkload('a.x', 'a3', { address: '10.0.0.3' })].filter((w) => w.id !== 'c1');
    const services = [aService('a.x'), aService('b.x', { ports: [{ name: 'http', number: 8080, protocol: 'HTTP' }] })];
    const { state, changed } = diffShard(first.state, shard(ws, services));
    expect([...changed].sort()).toEqual(['a.x', 'b.x', 'c.x']);
    expect(state!.hosts.has('c.x')).toBe(false);
  });

  it('an empty shard or no shard: every host is gone', () => {
    const first = diffShard(undefined, shard(base()));
    expect([...diffShard(first.state, undefined).changed].sort()).toEqual(['a.x', 'b.x', 'c.x']);
    expect(diffShard(first.state, shard([], [])).state).toBeUndefined();
  });
});

describe('RegistryAggregator with per-host diffing', () => {
  it('re-hashes only the changed host: other hosts keep their EndpointSet object', () => {
    const agg = new RegistryAggregator();
    const ws = base();
    agg.apply('s/1', message(shard(ws)));
    agg.takeChanges();
    const a = agg.endpointsView().get('a.x');
    const next = [...ws];
    next[2] = aWorkload('b.x', 'b1', { address: '10.0.1.9' });
    expect(agg.update('s/1', message(shard(next)))).toEqual({ hosts: 1, services: 0 });
    expect(agg.endpointsView().get('a.x')).toBe(a);
    expect([...agg.takeChanges().endpoints]).toEqual(['b.x']);
  });

  it('says when a service definition changed (the engine then debounces it like config)', () => {
    const agg = new RegistryAggregator();
    agg.apply('s/1', message(shard(base())));
    const services = [aService('a.x', { labels: { team: 'x' } }), aService('b.x'), aService('c.x')];
    expect(agg.update('s/1', message(shard(base(), services)))).toEqual({ hosts: 1, services: 1 });
  });

  it('gives the same versions whether a shard came whole or as a series of updates', () => {
    const one = new RegistryAggregator();
    const two = new RegistryAggregator();
    const ws = base();
    const final = [...ws];
    final[0] = aWorkload('a.x', 'a1', { address: '10.0.0.7' });
    final[3] = aWorkload('c.x', 'c1', { health: 'UNHEALTHY' });
    one.apply('s/1', message(shard(final)));
    two.apply('s/1', message(shard(ws)));
    const mid = [...ws];
    mid[0] = final[0]!;
    two.apply('s/1', message(shard(mid)));
    two.apply('s/1', message(shard(final)));
    for (const h of ['a.x', 'b.x', 'c.x']) expect(two.endpointsView().get(h)!.version).toBe(one.endpointsView().get(h)!.version);
  });
});

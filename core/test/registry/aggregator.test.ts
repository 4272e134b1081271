import { describe, expect, it } from 'vitest';
import { RegistryAggregator } from '@isthmus/core';
import { aService, aWorkload, message } from '../builders/registry.js';

const H = 'greeter.default.svc.cluster.local';

describe('RegistryAggregator', () => {
  it('merges one hostname from two sources into one service with workloads from both', () => {
    const agg = new RegistryAggregator();
    agg.apply('consul/dc1', message({
      source: 'consul/dc1',
      services: [aService(H, { sources: ['consul/dc1'] })],
      workloads: [aWorkload(H, 'a', { source: 'consul/dc1', address: '10.0.0.1' })],
    }));
    agg.apply('nomad/global', message({
      source: 'nomad/global',
      services: [aService(H, { sources: ['nomad/global'], ports: [{ name: 'http', number: 8080, protocol: 'HTTP' }] })],
      workloads: [aWorkload(H, 'b', { source: 'nomad/global', address: '10.0.0.2' })],
    }));
    const svc = agg.servicesView().get(H)!.service;
    expect(svc.sources).toEqual(['consul/dc1', 'nomad/global']);
    expect(svc.ports.map((p) => p.number)).toEqual([8080, 50051]);
    expect(agg.endpointsView().get(H)!.workloads.map((w) => w.address)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('recomputes only hosts whose contribution changed, and reports them', () => {
    const agg = new RegistryAggregator();
    const shard = (addr: string) => ({
      source: 's/1',
      services: [aService('a.x'), aService('b.x')],
      workloads: [aWorkload('a.x', 'a1', { address: addr }), aWorkload('b.x', 'b1')],
    });
    expect(agg.apply('s/1', message(shard('10.0.0.1')))).toBe(2);
    agg.takeChanges();
    // Same content in new objects: nothing touched.
    expect(agg.apply('s/1', message(shard('10.0.0.1')))).toBe(0);
    expect(agg.apply('s/1', message(shard('10.0.0.9')))).toBe(1);
    const changes = agg.takeChanges();
    expect([...changes.endpoints]).toEqual(['a.x']);
    expect(changes.services.size).toBe(0);
  });

  it('gives identical versions whatever order a source lists things in', () => {
    const ws = [aWorkload(H, 'a', { address: '10.0.0.1' }), aWorkload(H, 'b', { address: '10.0.0.2' })];
    const one = new RegistryAggregator();
    one.apply('s/1', message({ source: 's/1', services: [aService(H)], workloads: ws }));
    const two = new RegistryAggregator();
    two.apply('s/1', message({ source: 's/1', services: [aService(H)], workloads: [...ws].reverse() }));
    expect(two.endpointsView().get(H)!.version).toBe(one.endpointsView().get(H)!.version);
    expect(two.servicesView().get(H)!.version).toBe(one.servicesView().get(H)!.version);
  });

  it('removes a source completely and keeps the others', () => {
    const agg = new RegistryAggregator();
    agg.apply('s/1', message({ source: 's/1', services: [aService(H)], workloads: [aWorkload(H, 'a')] }));
    agg.apply('s/2', message({ source: 's/2', services: [aService('other.x')], workloads: [] }));
    agg.apply('s/1', undefined);
    expect(agg.servicesView().has(H)).toBe(false);
    expect(agg.endpointsView().has(H)).toBe(false);
    expect(agg.servicesView().has('other.x')).toBe(true);
    expect(agg.sourceStatuses().map((s) => s.source)).toEqual(['s/2']);
  });

  it('tracks sync and staleness per source', () => {
    const agg = new RegistryAggregator();
    agg.apply('s/1', message({ source: 's/1', services: [], workloads: [] }, { synced: false }));
    expect(agg.isSynced('s/1')).toBe(false);
    agg.apply('s/1', message({ source: 's/1', services: [], workloads: [] }, { stale: true, error: 'connection refused' }));
    expect(agg.isSynced('s/1')).toBe(true);
    expect(agg.sourceStatuses()[0]).toMatchObject({ stale: true, lastError: 'connection refused' });
  });
});

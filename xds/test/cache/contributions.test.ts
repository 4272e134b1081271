import type { XdsContributor } from '@isthmus/core';
import { describe, expect, it } from 'vitest';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { defaultGenerators } from '../../src/generators/index.js';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../src/resources/type-urls.js';
import { aProxy, canarySnapshot, GREETER } from '../helpers/builders.js';
import { recordingLogger } from '../helpers/logger.js';

const V2 = `outbound|50051|v2|${GREETER}`;

function cacheWith(...contributors: XdsContributor[]) {
  const logger = recordingLogger();
  const cache = new SnapshotCache(defaultGenerators(), logger, contributors);
  cache.setSnapshot(canarySnapshot().build());
  return { cache, logger };
}

describe('XdsContributor stage', () => {
  it('applies edits per proxy, keeps untouched resources as generated, runs once per cache key', () => {
    let runs = 0;
    const limits: XdsContributor = {
      name: 'limits',
      typeUrl: CLUSTER_TYPE_URL,
      cacheKey: (proxy) => proxy.labels.tier ?? '',
      contribute(proxy, _snapshot, resources) {
        runs++;
        const c = resources.get(V2);
        if (c && proxy.labels.tier === 'gold') c.circuit_breakers = { thresholds: [{ max_requests: { value: 5 } }] };
      },
    };
    const { cache } = cacheWith(limits);
    const plain = cache.resources(aProxy(), CLUSTER_TYPE_URL, undefined)!;
    const gold = cache.resources(aProxy({ id: 'g1', labels: { tier: 'gold' } }), CLUSTER_TYPE_URL, undefined)!;
    cache.resources(aProxy({ id: 'g2', labels: { tier: 'gold' } }), CLUSTER_TYPE_URL, undefined);
    expect(runs).toBe(2);
    const byName = (list: typeof plain) => new Map(list.map((r) => [r.name, r]));
    expect(byName(gold).get(V2)?.resource.circuit_breakers).toEqual({ thresholds: [{ max_requests: { value: 5 } }] });
    expect(byName(gold).get(V2)?.version).not.toBe(byName(plain).get(V2)?.version);
    // Untouched clusters are the very same shared objects.
    expect(byName(gold).get(`outbound|50051|v1|${GREETER}`)).toBe(byName(plain).get(`outbound|50051|v1|${GREETER}`));
  });

  it('refuses an invalid contribution by name (generated resource served) and survives a throwing contributor', () => {
    const bad: XdsContributor = {
      name: 'bad',
      typeUrl: CLUSTER_TYPE_URL,
      contribute(_p, _s, resources) {
        const c = resources.get(V2);
        if (c) c.lb_policy = 'LEAST_REQUEST';
      },
    };
    const thrower: XdsContributor = {
      name: 'thrower',
      typeUrl: CLUSTER_TYPE_URL,
      contribute(_p, _s, resources) {
        resources.delete(V2);
        throw new Error('boom');
      },
    };
    const { cache, logger } = cacheWith(bad, thrower);
    const out = cache.resources(aProxy(), CLUSTER_TYPE_URL, undefined)!;
    expect(out.find((r) => r.name === V2)?.resource.lb_policy).toBe('ROUND_ROBIN');
    expect(logger.at('error').map((l) => l.msg)).toEqual([
      'xDS contributor failed: its changes are left out',
      'refused an invalid xDS resource; not sent',
    ]);
  });

  it('may add resources; only subscribed names are sent for a named subscription', () => {
    const adder: XdsContributor = {
      name: 'adder',
      typeUrl: LISTENER_TYPE_URL,
      contribute(_p, _s, resources) {
        const base = resources.get(`${GREETER}:50051`);
        if (base) resources.set('extra:1', { ...structuredClone(base), name: 'extra:1' });
      },
    };
    const { cache } = cacheWith(adder);
    expect(cache.resources(aProxy(), LISTENER_TYPE_URL, undefined)!.map((r) => r.name)).toEqual(['extra:1', `${GREETER}:50051`]);
    expect(cache.resources(aProxy(), LISTENER_TYPE_URL, new Set([`${GREETER}:50051`]))!.map((r) => r.name)).toEqual([`${GREETER}:50051`]);
  });

  it('marks its type as possibly changed on any new snapshot, and ignores types Isthmus does not serve', () => {
    const { cache, logger } = cacheWith(
      { name: 'noop', typeUrl: CLUSTER_TYPE_URL, contribute() {} },
      { name: 'sds', typeUrl: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', contribute() {} },
    );
    const epoch = cache.epoch;
    cache.setSnapshot(canarySnapshot({ v1Port: 1 }).build());
    expect(cache.changedSince(aProxy(), CLUSTER_TYPE_URL, epoch)).toBe(true);
    expect(cache.changedSince(aProxy(), LISTENER_TYPE_URL, epoch)).toBe(false);
    expect(logger.at('warn')[0]?.obj).toMatchObject({ contributor: 'sds' });
  });
});

import { describe, expect, it } from 'vitest';
import { changedInputs, SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { ResourceCache } from '../../src/cache/resource-cache.js';
import { defaultGenerators } from '../../src/generators/index.js';
import { grpcEndpointGenerator } from '../../src/generators/grpc/eds.js';
import { grpcRouteGenerator } from '../../src/generators/grpc/rds.js';
import { grpcListenerGenerator } from '../../src/generators/grpc/lds.js';
import { GeneratorRegistry } from '../../src/generators/generator.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../src/resources/type-urls.js';
import { aProxy, aRouteTable, aService, aSnapshot, aWorkload, canarySnapshot, GREETER } from '../helpers/builders.js';
import { recordingLogger } from '../helpers/logger.js';

const LISTENER = `${GREETER}:50051`;

describe('changedInputs', () => {
  it('everything on the first snapshot, nothing for equal content, only what differs otherwise', () => {
    const a = canarySnapshot().build();
    expect(changedInputs(undefined, a)).toEqual(['services', 'endpoints', 'routes', 'destinations', 'sidecars', 'routeFaults']);
    expect(changedInputs(a, canarySnapshot().build())).toEqual([]);
    expect(changedInputs(a, canarySnapshot({ v1Port: 1 }).build())).toEqual(['endpoints']);
    expect(changedInputs(a, canarySnapshot({ split: [50, 50] }).build())).toEqual(['routes']);
  });
});

describe('SnapshotCache', () => {
  it('encodes each distinct resource once for any number of proxies', () => {
    const cache = new SnapshotCache(defaultGenerators(), recordingLogger());
    cache.setSnapshot(canarySnapshot().build());
    for (let i = 0; i < 50; i++) {
      const proxy = aProxy({ id: `p${i}` });
      for (const t of [LISTENER_TYPE_URL, ROUTE_TYPE_URL, CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL]) cache.resources(proxy, t, undefined);
    }
    const stats = (g: Parameters<SnapshotCache['cacheFor']>[0]) => cache.cacheFor(g).stats;
    expect(stats(grpcListenerGenerator)).toMatchObject({ builds: 1, hits: 49 });
    expect(stats(grpcRouteGenerator)).toMatchObject({ builds: 1, hits: 49 });
    expect(stats(grpcEndpointGenerator)).toMatchObject({ builds: 3, hits: 147 });
  });

  it('after an endpoint change only the changed assignments are rebuilt, and unused ones are swept', () => {
    const cache = new SnapshotCache(defaultGenerators(), recordingLogger());
    const proxy = aProxy();
    cache.setSnapshot(canarySnapshot().build());
    cache.resources(proxy, ENDPOINT_TYPE_URL, undefined);
    const eds = cache.cacheFor(grpcEndpointGenerator);
    expect(eds.size).toBe(3);
    const before = cache.epoch;
    cache.setSnapshot(canarySnapshot({ v2Port: 7 }).build());
    expect(cache.changedSince(proxy, ENDPOINT_TYPE_URL, before)).toBe(true);
    expect(cache.changedSince(proxy, LISTENER_TYPE_URL, before)).toBe(false);
    expect(cache.changedSince(proxy, CLUSTER_TYPE_URL, before)).toBe(false);
    cache.resources(proxy, ENDPOINT_TYPE_URL, undefined);
    // The endpoint set's version is part of every key: all three rebuild; old ones go at the sweep.
    expect(eds.stats.builds).toBe(6);
    expect(eds.size).toBe(6);
    cache.endRound();
    expect(eds.size).toBe(3);
  });

  it('waits for the first snapshot and has nothing for types without a generator', () => {
    const cache = new SnapshotCache(defaultGenerators(), recordingLogger());
    expect(cache.ready()).toBe(false);
    expect(cache.resources(aProxy(), LISTENER_TYPE_URL, undefined)).toBeUndefined();
    cache.setSnapshot(canarySnapshot().build());
    expect(cache.resources(aProxy(), 'type.googleapis.com/x.Y', undefined)).toBeUndefined();
  });

  it('serves Envoy nodes (no GENERATOR) from the sidecar generators, the fallback', () => {
    const cache = new SnapshotCache(defaultGenerators(), recordingLogger());
    cache.setSnapshot(canarySnapshot().build());
    const names = cache.resources(aProxy({ generator: '' }), LISTENER_TYPE_URL, undefined)?.map((r) => r.name);
    expect(names).toEqual(['0.0.0.0_50051', 'virtualOutbound']);
  });

  it('looks generators up by <GENERATOR>/<typeUrl>, falling back to <typeUrl>', () => {
    const registry = new GeneratorRegistry().register(grpcListenerGenerator, 'grpc').register(grpcEndpointGenerator);
    expect(registry.lookup('grpc', LISTENER_TYPE_URL)).toBe(grpcListenerGenerator);
    expect(registry.lookup('sidecar', LISTENER_TYPE_URL)).toBeUndefined();
    expect(registry.lookup('sidecar', ENDPOINT_TYPE_URL)).toBe(grpcEndpointGenerator);
    expect(registry.lookup('grpc', ENDPOINT_TYPE_URL)).toBe(grpcEndpointGenerator);
    expect(registry.keys()).toEqual([`grpc/${LISTENER_TYPE_URL}`, ENDPOINT_TYPE_URL]);
  });
});

describe('SnapshotCache: per-name change tracking', () => {
  const OTHER = 'other.default.svc.cluster.local';
  const G = `outbound|50051||${GREETER}`;
  const O = `outbound|50051||${OTHER}`;
  const mesh = (v2Port: number, otherAt = '10.0.9.1') =>
    canarySnapshot({ v2Port }).withService(aService(OTHER).build()).withWorkloads(aWorkload(OTHER, 'o1').at(otherAt).build()).build();
  const subscribed = (...names: string[]) => ({ byName: new Map(names.map((n) => [n, new Set()])), revision: 1 });

  it('names the subscribed resources a change reaches, per kind of proxy', () => {
    const cache = new SnapshotCache(defaultGenerators(), recordingLogger());
    cache.setSnapshot(mesh(1));
    const before = cache.epoch;
    cache.setSnapshot(mesh(2));
    const subs = subscribed(G, O, `outbound|50051|v1|${GREETER}`, `outbound|50051|v2|${GREETER}`);
    // Dependencies are per host: every cluster of greeter is reached (v1's is regenerated, unchanged, not pushed).
    expect([...cache.changedNames('grpc', ENDPOINT_TYPE_URL, subs)!].sort()).toEqual([G, `outbound|50051|v1|${GREETER}`, `outbound|50051|v2|${GREETER}`].sort());
    expect([...cache.changedNames('grpc', CLUSTER_TYPE_URL, subs)!]).toEqual([]);
    // Envoy's generators declare no dependencies: every subscriber must be checked.
    expect(cache.changedNames('sidecar', ENDPOINT_TYPE_URL, subs)).toBeUndefined();
    expect(cache.changedSince(aProxy(), ENDPOINT_TYPE_URL, before, new Set([O]))).toBe(false);
    expect(cache.changedSince(aProxy(), ENDPOINT_TYPE_URL, before, new Set([O, G]))).toBe(true);
  });

  it('knows which names changed since an epoch the change log no longer holds', () => {
    const cache = new SnapshotCache(defaultGenerators(), recordingLogger());
    const subs = subscribed(G, O);
    cache.setSnapshot(mesh(1));
    cache.changedNames('grpc', ENDPOINT_TYPE_URL, subs);
    cache.endRound();
    const before = cache.epoch;
    // 150 endpoint changes of other only (the log holds 64 epochs).
    for (let i = 1; i <= 150; i++) {
      cache.setSnapshot(mesh(1, `10.0.9.${(i % 200) + 2}`));
      cache.changedNames('grpc', ENDPOINT_TYPE_URL, subs);
      cache.endRound();
    }
    expect(cache.namesChangedSince(aProxy(), ENDPOINT_TYPE_URL, before, new Set([G]))).toEqual(new Set());
    expect(cache.namesChangedSince(aProxy(), ENDPOINT_TYPE_URL, before, new Set([G, O]))).toEqual(new Set([O]));
    expect(cache.changedSince(aProxy(), ENDPOINT_TYPE_URL, before, new Set([G]))).toBe(false);
    // A name the rounds never looked at: no history, so it may have changed.
    expect(cache.namesChangedSince(aProxy(), ENDPOINT_TYPE_URL, before, new Set([G, `outbound|50051|v1|${GREETER}`]))).toBeUndefined();
  });

  it("answers from the rounds' findings only for the names they looked at", () => {
    const cache = new SnapshotCache(defaultGenerators(), recordingLogger());
    cache.setSnapshot(mesh(1));
    const before = cache.epoch;
    cache.setSnapshot(mesh(2));
    // The round looked at other's subscribers only: greeter (reached, never indexed) is checked in full.
    expect([...cache.changedNames('grpc', ENDPOINT_TYPE_URL, subscribed(O))!]).toEqual([]);
    expect(cache.changedSince(aProxy(), ENDPOINT_TYPE_URL, before, new Set([O]))).toBe(false);
    expect(cache.changedSince(aProxy(), ENDPOINT_TYPE_URL, before, new Set([G]))).toBe(true);
    expect([...cache.namesChangedSince(aProxy(), ENDPOINT_TYPE_URL, before, new Set([O, G]))!]).toEqual([G]);
    // Next round other moves: a stream that looked two epochs back gets both changes, not this round's.
    cache.endRound();
    cache.setSnapshot(mesh(2, '10.0.9.2'));
    expect([...cache.changedNames('grpc', ENDPOINT_TYPE_URL, subscribed(G, O))!]).toEqual([O]);
    expect([...cache.namesChangedSince(aProxy(), ENDPOINT_TYPE_URL, before, new Set([O, G]))!].sort()).toEqual([G, O].sort());
    expect([...cache.namesChangedSince(aProxy(), ENDPOINT_TYPE_URL, before + 1, new Set([O, G]))!]).toEqual([O]);
  });

  it('after a config change, the dependency indexes know the new dependencies of the names it reached', () => {
    const [A, B, C] = ['a.default.svc.cluster.local', 'b.default.svc.cluster.local', 'c.default.svc.cluster.local'];
    const build = (routes: { host: string; weight: number }[], cAt: string) => {
      const b = aSnapshot();
      for (const h of [A, B, C]) b.withService(aService(h).build()).withWorkloads(aWorkload(h, `${h}-1`).at(h === C ? cAt : '10.0.0.1').build());
      return b.withRoutes(aRouteTable(A, [{ destinations: routes }])).build();
    };
    const cache = new SnapshotCache(defaultGenerators(), recordingLogger());
    const subs = subscribed(`${A}:50051`, `${B}:50051`);
    cache.setSnapshot(build([{ host: B, weight: 100 }], '10.0.2.1'));
    cache.changedNames('grpc', ROUTE_TYPE_URL, subs);
    cache.endRound();
    // a's routes now split between b and c: its route config reads c's endpoints (a split skips an empty side).
    cache.setSnapshot(build([{ host: B, weight: 50 }, { host: C, weight: 50 }], '10.0.2.1'));
    expect([...cache.changedNames('grpc', ROUTE_TYPE_URL, subs)!]).toEqual([`${A}:50051`]);
    cache.endRound();
    cache.setSnapshot(build([{ host: B, weight: 50 }, { host: C, weight: 50 }], '10.0.2.9'));
    expect([...cache.changedNames('grpc', ROUTE_TYPE_URL, subs)!]).toEqual([`${A}:50051`]);
  });

  it('keeps what proxies the change did not reach still hold; drops what the ones it reached no longer use', () => {
    const cache = new SnapshotCache(defaultGenerators(), recordingLogger());
    const eds = cache.cacheFor(grpcEndpointGenerator);
    const watcher = aProxy({ id: 'w' });
    const bystander = aProxy({ id: 'b' });
    cache.setSnapshot(mesh(1));
    cache.resources(watcher, ENDPOINT_TYPE_URL, new Set([G]));
    cache.resources(bystander, ENDPOINT_TYPE_URL, new Set([O]));
    expect(eds.size).toBe(2);
    // A push round after greeter moved: only the watcher is regenerated.
    cache.setSnapshot(mesh(2));
    cache.changedNames('grpc', ENDPOINT_TYPE_URL, subscribed(G, O));
    cache.resources(watcher, ENDPOINT_TYPE_URL, new Set([G]));
    cache.endRound();
    // Greeter's old assignment is gone; other's stays although nobody regenerated it.
    expect(eds.size).toBe(2);
    const builds = eds.stats.builds;
    cache.resources(bystander, ENDPOINT_TYPE_URL, new Set([O]));
    expect(eds.stats.builds).toBe(builds);
  });

  /**
   * Proxy `gone` held greeter's assignment and left; `b` holds other's. Greeter keeps
   * moving, other never does; rounds run up to epoch `last`.
   */
  function abandonedGreeter(last: number) {
    const cache = new SnapshotCache(defaultGenerators(), recordingLogger());
    const eds = cache.cacheFor(grpcEndpointGenerator);
    cache.setSnapshot(mesh(1));
    cache.resources(aProxy({ id: 'gone' }), ENDPOINT_TYPE_URL, new Set([G]));
    cache.resources(aProxy({ id: 'b' }), ENDPOINT_TYPE_URL, new Set([O]));
    for (let i = 2; i <= last; i++) {
      cache.setSnapshot(mesh(i));
      cache.changedNames('grpc', ENDPOINT_TYPE_URL, subscribed(O));
      cache.endRound();
    }
    return { cache, eds };
  }

  it('the periodic full sweep drops what nobody subscribes to any more, and nothing else', () => {
    // Two full-sweep periods: the first only proves what was unused before it started.
    const { cache, eds } = abandonedGreeter(69);
    expect(eds.size).toBe(1);
    const builds = eds.stats.builds;
    cache.resources(aProxy({ id: 'b' }), ENDPOINT_TYPE_URL, new Set([O]));
    expect(eds.stats.builds).toBe(builds);
  });

  it('leaves the full sweep out of the round: sweep() runs it when due, else the next snapshot does', () => {
    const { cache, eds } = abandonedGreeter(64);
    // The sweep due at epoch 32 ran when epoch 33's snapshot came; the one due now waits.
    expect(cache.sweepDue).toBe(true);
    expect(eds.size).toBe(2);
    cache.sweep();
    expect(cache.sweepDue).toBe(false);
    expect(eds.size).toBe(1);
  });
});

describe('ResourceCache', () => {
  it('refuses an invalid resource by name and keeps serving its last valid version', () => {
    const logger = recordingLogger();
    const cache = ResourceCache.forGenerator(grpcRouteGenerator, logger);
    const good = cache.get('r', 'k1', () => ({ name: 'r', virtual_hosts: [{ name: 'r', domains: ['r'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] }));
    expect(good?.version).toMatch(/^[0-9a-f]{16}$/);
    const bad = cache.get('r', 'k2', () => ({
      name: 'r',
      virtual_hosts: [{ name: 'r', domains: ['r'], routes: [{ match: { headers: [{ name: 'X', string_match: { exact: 'a' } }] }, route: { cluster: 'c' } }] }],
    }));
    expect(bad).toBe(good);
    const line = logger.at('error')[0];
    expect(line?.msg).toContain('serving its last valid version');
    expect((line?.obj.errors as string[]).join('\n')).toMatch(/no path specifier[\s\S]*lowercase[\s\S]*string_match/);
    expect(cache.stats.refused).toBe(1);
    // Never valid: nothing is sent for it.
    expect(cache.get('other', 'k', () => ({ name: 'other', virtual_hosts: [{ name: 'x', domains: [] }] }))).toBeUndefined();
  });

  it('refuses fields the proto does not have (protobufjs would drop them silently)', () => {
    const logger = recordingLogger();
    const cache = ResourceCache.forGenerator(grpcListenerGenerator, logger);
    expect(cache.get('l', 'k', () => ({ name: 'l', api_listner: {} }))).toBeUndefined();
    expect((logger.at('error')[0]?.obj.errors as string[])[0]).toContain('api_listner: unknown field');
  });

  it('gives equal content the same version whichever key built it', () => {
    const cache = ResourceCache.forGenerator(grpcRouteGenerator, recordingLogger());
    const build = () => ({ name: 'r', virtual_hosts: [{ name: 'r', domains: ['r'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] });
    expect(cache.get('r', 'a', build)?.version).toBe(cache.get('r', 'b', build)?.version);
  });

  it('rebuilds route configs when the table changes', () => {
    const cache = new SnapshotCache(defaultGenerators(), recordingLogger());
    cache.setSnapshot(canarySnapshot().build());
    const before = cache.resources(aProxy(), ROUTE_TYPE_URL, new Set([LISTENER]))?.[0]?.version;
    cache.setSnapshot(canarySnapshot().withRoutes(aRouteTable(GREETER, [{ destinations: [{ host: GREETER, subset: 'v2', weight: 100 }] }])).build());
    const after = cache.resources(aProxy(), ROUTE_TYPE_URL, new Set([LISTENER]))?.[0]?.version;
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
  });
});

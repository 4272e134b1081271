import { describe, expect, it } from 'vitest';
import { affects, ChangeLog, changedKeys, DependencyIndex } from '../../src/cache/change-log.js';
import type { ResourceDependencies, SnapshotInput } from '../../src/generators/generator.js';
import type { MeshSnapshot } from '@isthmus/core';
import { aService, canarySnapshot, GREETER, aRouteTable } from '../helpers/builders.js';

describe('changedKeys', () => {
  it('names the hosts whose entry changed, per input', () => {
    const a = canarySnapshot().build();
    expect(changedKeys(a, canarySnapshot().build()).size).toBe(0);
    expect([...changedKeys(a, canarySnapshot({ v1Port: 1 }).build())]).toEqual([['endpoints', new Set([GREETER])]]);
    const routed = canarySnapshot().withRoutes(aRouteTable('new.x', [{ destinations: [{ host: GREETER, weight: 100 }] }])).build();
    expect([...changedKeys(a, routed)]).toEqual([['routes', new Set(['new.x'])]]);
    expect([...changedKeys(routed, a)]).toEqual([['routes', new Set(['new.x'])]]);
    expect([...changedKeys(undefined, a).keys()]).toEqual(['services', 'endpoints', 'routes', 'destinations']);
  });

  it("consecutive snapshots: the engine's record of changed hosts is used, checked against the maps' sizes", () => {
    const a = canarySnapshot().build();
    const moved = canarySnapshot({ v1Port: 1 }).build();
    const consecutive = (next: MeshSnapshot, hint: Partial<MeshSnapshot['changes']>): MeshSnapshot => ({
      ...next,
      sequence: a.sequence + 1,
      changes: { ...next.changes, services: new Set(), endpoints: new Set(), ...hint },
    });
    // Only the hinted hosts are compared (a hint naming nothing: nothing changed there).
    expect([...changedKeys(a, consecutive(moved, { endpoints: new Set([GREETER]) }))]).toEqual([['endpoints', new Set([GREETER])]]);
    expect([...changedKeys(a, consecutive(moved, {}))]).toEqual([]);
    // A hint that misses a removed host (the sizes do not add up): every entry is compared.
    const extra = canarySnapshot().withService(aService('extra.x').build()).build();
    const withExtra = { ...extra, sequence: 100 };
    const without: MeshSnapshot = { ...a, sequence: 101, changes: { services: new Set(), endpoints: new Set(), rules: false } };
    expect(changedKeys(withExtra, without).get('services')).toEqual(new Set(['extra.x']));
    // Not consecutive: the hint is not used.
    expect([...changedKeys(a, { ...moved, sequence: a.sequence + 5, changes: { services: new Set(), endpoints: new Set(), rules: false } })]).toEqual([
      ['endpoints', new Set([GREETER])],
    ]);
  });
});

describe('affects', () => {
  const changes = new Map([['endpoints', new Set(['b.x'])] as const]);
  it.each([
    ['listed key changed', { endpoints: ['a.x', 'b.x'] }, ['endpoints'], true],
    ['other keys only', { endpoints: ['a.x'] }, ['endpoints'], false],
    ['input not read by the generator', { endpoints: ['b.x'] }, ['services'], false],
    ['input read, keys not listed: any', { services: ['b.x'] }, ['services', 'endpoints'], true],
    ['no dependencies at all: any', undefined, ['endpoints'], true],
  ] as const)('%s', (_what, deps, inputs, expected) => {
    expect(affects(changes, inputs, deps)).toBe(expected);
  });
});

describe('ChangeLog', () => {
  it('unions the changes after an epoch, and says "unknown" beyond what it holds', () => {
    const log = new ChangeLog(3);
    log.record(1, new Map([['endpoints', new Set(['a'])]]));
    log.record(2, new Map([['endpoints', new Set(['b'])]]));
    log.record(3, new Map([['routes', new Set(['c'])]]));
    expect(log.since(3)?.size).toBe(0);
    expect([...log.since(2)!]).toEqual([['routes', new Set(['c'])]]);
    expect([...log.since(1)!]).toEqual([['endpoints', new Set(['b'])], ['routes', new Set(['c'])]]);
    expect([...log.since(0)!.get('endpoints')!]).toEqual(['a', 'b']);
    log.record(4, new Map([['endpoints', new Set(['d'])]]));
    // Epoch 1 was dropped: what changed after epoch 0 is no longer known.
    expect(log.since(0)).toBeUndefined();
    expect([...log.since(1)!.get('endpoints')!]).toEqual(['b', 'd']);
    expect([...log.latest()]).toEqual([['endpoints', new Set(['d'])]]);
  });
});

describe('DependencyIndex', () => {
  it('reaches exactly the names affects() says, for every combination of changes', () => {
    const inputs: SnapshotInput[] = ['services', 'endpoints', 'routes'];
    const deps: Record<string, ResourceDependencies | undefined> = {
      'n-a': { services: ['a'], endpoints: ['a'], routes: ['a'] },
      'n-ab': { services: ['a', 'b'], endpoints: ['b'], routes: ['a'] },
      'n-any-routes': { services: ['c'], endpoints: ['c'] },
      'n-none': { services: [], endpoints: [], routes: [] },
      'n-unknown': undefined,
    };
    const index = new DependencyIndex(Object.keys(deps), inputs, (n) => deps[n]);
    const options: [SnapshotInput, string][] = [['services', 'a'], ['services', 'c'], ['endpoints', 'b'], ['endpoints', 'x'], ['routes', 'z'], ['sidecars', 'a']];
    for (let mask = 0; mask < 1 << options.length; mask++) {
      const changes = new Map<SnapshotInput, Set<string>>();
      options.forEach(([input, key], i) => {
        if (mask & (1 << i)) changes.set(input, new Set([...(changes.get(input) ?? []), key]));
      });
      const expected = Object.keys(deps).filter((n) => affects(changes, inputs, deps[n]));
      expect([...index.reached(changes)].sort(), JSON.stringify([...changes])).toEqual(expected.sort());
    }
  });
});

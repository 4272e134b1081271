import { describe, expect, it } from 'vitest';
import { SubscriptionIndex } from '../../src/protocol/subscription-index.js';

const T = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

function view(index: SubscriptionIndex<string>) {
  return [...index.all()].map((g) => ({
    key: `${g.generator}/${g.typeUrl.split('.').pop()}`,
    byName: Object.fromEntries([...g.byName].map(([n, s]) => [n, [...s].sort()])),
    wildcard: [...g.wildcard].sort(),
  }));
}

describe('SubscriptionIndex', () => {
  it('indexes streams by name per proxy kind and type, follows subscription changes, forgets closed streams', () => {
    const index = new SubscriptionIndex<string>();
    index.set('s1', 'grpc', T, new Set(['a', 'b']));
    index.set('s2', 'grpc', T, new Set(['b']));
    index.set('s3', 'sidecar', T, undefined);
    expect(view(index)).toEqual([
      { key: 'grpc/ClusterLoadAssignment', byName: { a: ['s1'], b: ['s1', 's2'] }, wildcard: [] },
      { key: 'sidecar/ClusterLoadAssignment', byName: {}, wildcard: ['s3'] },
    ]);
    index.set('s1', 'grpc', T, new Set(['c']));
    index.remove('s2');
    index.set('s3', 'sidecar', T, new Set(['a']));
    expect(view(index)).toEqual([
      { key: 'grpc/ClusterLoadAssignment', byName: { c: ['s1'] }, wildcard: [] },
      { key: 'sidecar/ClusterLoadAssignment', byName: { a: ['s3'] }, wildcard: [] },
    ]);
  });

  it('keeps its own copy of the names', () => {
    const index = new SubscriptionIndex<string>();
    const names = new Set(['a']);
    index.set('s1', 'grpc', T, names);
    names.add('b');
    index.set('s1', 'grpc', T, names);
    expect(view(index)[0]!.byName).toEqual({ a: ['s1'], b: ['s1'] });
  });
});

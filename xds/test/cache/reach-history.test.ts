import { describe, expect, it } from 'vitest';
import { ReachHistory } from '../../src/cache/reach-history.js';

describe('ReachHistory', () => {
  it('answers for any epoch since a name was watched, and not before', () => {
    const h = new ReachHistory();
    const group = new Map([['a', 1], ['b', 1]]);
    h.watch(group, 5, true); // watched from epoch 5's change on
    h.recordReached(['a'], 5);
    h.watch(group, 9, false);
    h.recordReached(['b'], 9);
    expect(h.since(['a', 'b'], 4, false)).toEqual(new Set(['a', 'b']));
    expect(h.since(['a', 'b'], 5, false)).toEqual(new Set(['b']));
    expect(h.since(['a', 'b'], 9, false)).toBe('none');
    expect(h.since(['a', 'b'], 3, false)).toBeUndefined(); // before a and b were watched
    expect(h.since(['a', 'c'], 6, false)).toBeUndefined(); // c was never watched
    // With `first`, one reached name is enough.
    expect(h.since(['b', 'a'], 4, true)!).toEqual(new Set(['b']));
  });

  it('watches new names of a group from the epoch it sees them, and forgets names no group holds', () => {
    const h = new ReachHistory();
    const group = new Map([['a', 1]]);
    h.watch(group, 2, true);
    group.set('b', 1);
    h.watch(group, 7, false); // the group's names did not change as far as the caller knows
    expect(h.since(['b'], 6, false)).toBeUndefined();
    h.watch(group, 7, true);
    expect(h.since(['b'], 6, false)).toBe('none');
    expect(h.holds('b')).toBe(true);
    group.delete('a');
    h.prune();
    expect(h.holds('a')).toBe(false);
    expect(h.since(['a'], 6, false)).toBeUndefined();
  });
});

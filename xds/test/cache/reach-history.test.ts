import { describe, expect, it } from 'vitest';
import { ReachHistory } from '../../src/cache/reach-history.js';

describe('ReachHistory', () => {
  it('answers for any epoch since a name was watched, and not before', () => {
    const h = new ReachHistory();
    const group = { byName: new Map([['a', 1], ['b', 1]]), revision: 1 };
    h.watch(group, 5); // watched from epoch 5's change on
    h.recordReached(['a'], 5);
    h.watch(group, 9);
    h.recordReached(['b'], 9);
    expect(h.since(['a', 'b'], 4, false)).toEqual(new Set(['a', 'b']));
    expect(h.since(['a', 'b'], 5, false)).toEqual(new Set(['b']));
    expect(h.since(['a', 'b'], 9, false)).toBe('none');
    expect(h.since(['a', 'b'], 3, false)).toBeUndefined(); // before a and b were watched
    expect(h.since(['a', 'c'], 6, false)).toBeUndefined(); // c was never watched
    // With `first`, one reached name is enough.
    expect(h.since(['b', 'a'], 4, true)!).toEqual(new Set(['b']));
  });

  it('watches new names of a group from the epoch its revision changes, and forgets names no group holds', () => {
    const h = new ReachHistory();
    const byName = new Map([['a', 1]]);
    h.watch({ byName, revision: 1 }, 2);
    byName.set('b', 1);
    h.watch({ byName, revision: 1 }, 7); // the same revision: its names are not looked at again
    expect(h.since(['b'], 6, false)).toBeUndefined();
    h.watch({ byName, revision: 2 }, 7);
    expect(h.since(['b'], 6, false)).toBe('none');
    expect(h.holds('b')).toBe(true);
    byName.delete('a');
    h.prune();
    expect(h.holds('a')).toBe(false);
    expect(h.since(['a'], 6, false)).toBeUndefined();
  });
});

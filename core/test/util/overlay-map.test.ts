import { describe, expect, it } from 'vitest';
import { OverlayMap } from '../../src/util/overlay-map.js';
import { stableStringify } from '../../src/util/hash.js';

describe('OverlayMap', () => {
  it('reads like the source at the time of each version; earlier versions never change', () => {
    const source = new Map([['a', 1], ['b', 2], ['c', 3]]);
    const v1 = OverlayMap.of(source);
    source.set('b', 20);
    source.delete('c');
    source.set('d', 4);
    const v2 = v1.with(source, ['b', 'c', 'd', 'zz']);
    expect(new Map(v2)).toEqual(new Map([['a', 1], ['b', 20], ['d', 4]]));
    expect(v2.size).toBe(3);
    expect(v2.get('c')).toBeUndefined();
    expect(v2.has('c')).toBe(false);
    expect(v2.has('d')).toBe(true);
    expect([...v2.keys()].sort()).toEqual(['a', 'b', 'd']);
    expect(new Map(v1)).toEqual(new Map([['a', 1], ['b', 2], ['c', 3]]));
    // A key added in the overlay and removed again; one removed and added back.
    source.delete('d');
    source.set('c', 30);
    const v3 = v2.with(source, ['d', 'c']);
    expect(new Map(v3)).toEqual(new Map([['a', 1], ['b', 20], ['c', 30]]));
    expect(v3.size).toBe(3);
    let seen = 0;
    v3.forEach((v, k, m) => {
      expect(m.get(k)).toBe(v);
      seen++;
    });
    expect(seen).toBe(3);
  });

  it('folds the overlay into a flat map once it outgrows its bound, with the same content', () => {
    const source = new Map(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
    let m = OverlayMap.of(source);
    for (let i = 0; i < 100; i++) {
      source.set(`k${i}`, i * 10);
      if (i % 7 === 0) source.delete(`k${(i + 50) % 100}`);
      m = m.with(source, [`k${i}`, `k${(i + 50) % 100}`], 8);
      expect(m.size).toBe(source.size);
    }
    expect(new Map(m)).toEqual(source);
    expect(stableStringify(m)).toBe(stableStringify(source));
  });
});

import { describe, expect, it } from 'vitest';
import { SetDigest } from '../../src/snapshot/set-digest.js';

const v = (version: string) => ({ version });
const map = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([k, x]) => [k, v(x)]));
const fresh = (m: Map<string, { version: string }>) => new SetDigest().of(m);

describe('SetDigest (the snapshot version of one part)', () => {
  it('depends on the entries, not on their order', () => {
    expect(fresh(map({ a: '1', b: '2', c: '3' }))).toBe(fresh(map({ c: '3', a: '1', b: '2' })));
    expect(fresh(map({ a: '1', b: '2' }))).not.toBe(fresh(map({ a: '2', b: '1' })));
    expect(fresh(map({}))).toBe('0'.repeat(32));
  });

  it('kept up to date across changes, it equals a digest computed afresh', () => {
    const d = new SetDigest();
    const states = [map({ a: '1', b: '2' }), map({ a: '1', b: '3' }), map({ a: '1', b: '3', c: '9' }), map({ c: '9' }), map({ a: '1', b: '2' })];
    const seen: string[] = [];
    for (const s of states) {
      const got = d.of(s);
      expect(got).toBe(fresh(s));
      seen.push(got);
    }
    expect(new Set(seen).size).toBe(4); // the last state is the first again
    expect(seen[4]).toBe(seen[0]);
  });

  it('update with keys re-hashes only those keys (a missed key stays as it was)', () => {
    const d = new SetDigest();
    d.update(map({ a: '1', b: '2' }));
    const next = map({ a: '5', b: '7' });
    d.update(next, ['a']);
    expect(d.hex()).toBe(fresh(map({ a: '5', b: '2' })));
    d.update(next, ['b', 'gone']);
    expect(d.hex()).toBe(fresh(next));
  });

  it('looks at a map object once; a new map is compared entry by entry', () => {
    const d = new SetDigest();
    const m = map({ a: '1' });
    const first = d.of(m);
    m.set('a', v('2')); // snapshot parts are never mutated; this shows the identity shortcut
    expect(d.of(m)).toBe(first);
    expect(d.of(new Map(m))).toBe(fresh(map({ a: '2' })));
  });
});

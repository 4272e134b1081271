import { describe, expect, it } from 'vitest';
import { jsonEqual, stableStringify } from '@isthmus/core';

describe('jsonEqual', () => {
  it.each([
    [{ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, true],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    [{ a: 1, b: 2 }, { a: 1 }, false],
    [{ a: [1, 2] }, { a: [2, 1] }, false],
    [{ a: {} }, { a: [] }, false],
    [{ a: null }, { a: undefined }, false],
    [{ a: '1' }, { a: 1 }, false],
    [new Map([['k', { v: 1 }]]), new Map([['k', { v: 1 }]]), true],
    [new Map([['k', 1]]), {}, false],
    [undefined, undefined, true],
    [undefined, {}, false],
  ])('%j vs %j → %s, like comparing stableStringify', (a, b, same) => {
    expect(jsonEqual(a, b)).toBe(same);
    // The same notion of equal content as the content hashes (Maps and undefined aside).
    if (!(a instanceof Map) && !(b instanceof Map) && a !== undefined && b !== undefined) {
      expect(stableStringify(a) === stableStringify(b)).toBe(same);
    }
  });
});

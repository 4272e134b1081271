import { describe, expect, it } from 'vitest';
import { NamespaceFilter, parseLabelSelector } from '../src/selectors.js';

describe('parseLabelSelector', () => {
  it.each([
    ['istio-discovery=enabled', { 'istio-discovery': 'enabled' }, true],
    ['istio-discovery==enabled', { 'istio-discovery': 'disabled' }, false],
    ['env!=dev', { env: 'prod' }, true],
    ['env!=dev', {}, true],
    ['env!=dev', { env: 'dev' }, false],
    ['team', { team: '' }, true],
    ['!legacy', { legacy: 'true' }, false],
    ['env in (prod, staging),team', { env: 'staging', team: 'a' }, true],
    ['env in (prod,staging)', { env: 'dev' }, false],
    ['env notin (dev)', {}, true],
    ['a=1,b=2', { a: '1' }, false],
  ] as const)('%s on %j → %s', (text, labels, expected) => {
    expect(parseLabelSelector(text).matches(labels)).toBe(expected);
  });

  it('refuses what it cannot parse', () => {
    expect(() => parseLabelSelector('a=1,,b=2')).toThrow(/invalid label selector "a=1,,b=2": empty requirement/);
    expect(() => parseLabelSelector('env in (a,)')).toThrow(/empty value/);
    expect(() => parseLabelSelector('a b')).toThrow(/cannot parse "a b"/);
  });
});

describe('NamespaceFilter', () => {
  it('reads everything without names or selectors', () => {
    const f = new NamespaceFilter(undefined, []);
    expect(f.all).toBe(true);
    expect(f.needsLabels).toBe(false);
    expect(f.includes('x', undefined)).toBe(true);
  });

  it('selects named namespaces, and those a selector matches', () => {
    const f = new NamespaceFilter(['shop'], ['istio-discovery=enabled']);
    expect(f.needsLabels).toBe(true);
    expect(f.includes('shop', undefined)).toBe(true);
    expect(f.includes('lab', { 'istio-discovery': 'enabled' })).toBe(true);
    expect(f.includes('lab', {})).toBe(false);
    expect(f.includes('lab', undefined)).toBe(false);
    expect(f.describe()).toBe('namespace shop, namespaces matching "istio-discovery=enabled"');
  });
});

import type { Locality, Workload } from '@isthmus/core';
import { describe, expect, it } from 'vitest';
import { localityCallerKey, localityLbEndpoints, localityMatches, type EndpointEntry } from '../../src/configurers/locality.js';

const entry = (id: string, locality: Locality, labels: Record<string, string> = {}, weight = 1): EndpointEntry => ({
  workload: { id, hostname: 'h', namespace: 'default', address: id, ports: {}, labels, health: 'HEALTHY', locality, weight, source: 't' } as Workload,
  weight,
  lbEndpoint: { id },
});

const ENTRIES = [
  entry('a1', { region: 'us-west', zone: 'a', subzone: 's1' }),
  entry('a2', { region: 'us-west', zone: 'a', subzone: 's2' }),
  entry('b1', { region: 'us-west', zone: 'b' }),
  entry('e1', { region: 'us-east', zone: 'a' }),
  entry('x1', { region: 'eu', zone: 'a' }),
];
const CALLER = { locality: { region: 'us-west', zone: 'a', sub_zone: 's1' }, labels: {} };

const summary = (groups: any[]) => groups.map((g) => `${g.priority ?? 0}:${g.load_balancing_weight.value}:${g.lb_endpoints.map((e: any) => e.id).join('+')}`);

describe('locality-aware EDS', () => {
  it.each([
    ['us-west/a/s1', 'us-west', true],
    ['us-west/a/s1', 'us-west/*', true],
    ['us-west/a/s1', 'us-west/a', true],
    ['us-west/a/s1', 'us-west/b', false],
    ['us-west/a/s1', '*', true],
    ['us-west/a/s1', 'us-east/*', false],
  ])('%s matches %s: %s', (l, pattern, expected) => {
    const [region, zone, subzone] = l.split('/');
    expect(localityMatches({ region, zone, subzone }, pattern)).toBe(expected);
  });

  it('without a setting (or a caller locality) every locality is priority 0 with its summed weight', () => {
    expect(summary(localityLbEndpoints(ENTRIES, { outlierDetection: true, caller: CALLER }))).toEqual(['0:1:x1', '0:1:e1', '0:1:a1', '0:1:a2', '0:1:b1']);
    const setting = { failover: [{ from: 'us-west', to: 'us-east' }] };
    expect(summary(localityLbEndpoints(ENTRIES, { setting, outlierDetection: true, caller: { locality: {}, labels: {} } }))).toHaveLength(5);
  });

  it('failover: same subzone, zone, region, the failover region, the rest — compacted; only with outlier detection', () => {
    const setting = { failover: [{ from: 'us-west', to: 'us-east' }] };
    expect(summary(localityLbEndpoints(ENTRIES, { setting, outlierDetection: true, caller: CALLER }))).toEqual(['0:1:a1', '1:1:a2', '2:1:b1', '3:1:e1', '4:1:x1']);
    expect(summary(localityLbEndpoints(ENTRIES.slice(2), { setting, outlierDetection: true, caller: CALLER }))).toEqual(['0:1:b1', '1:1:e1', '2:1:x1']);
    expect(summary(localityLbEndpoints(ENTRIES, { setting: {}, outlierDetection: true, caller: CALLER }))).toEqual(['0:1:a1', '1:1:a2', '2:1:b1', '3:1:x1', '3:1:e1']);
    expect(summary(localityLbEndpoints(ENTRIES, { setting, outlierDetection: false, caller: CALLER })).every((s) => s.startsWith('0:'))).toBe(true);
  });

  it('failoverPriority: by the number of leading labels shared with the caller', () => {
    const entries = [entry('n1', {}, { net: 'n1', tier: 'gold' }), entry('n2', {}, { net: 'n1', tier: 'silver' }), entry('n3', {}, { net: 'n2', tier: 'gold' })];
    const caller = { locality: { region: 'r' }, labels: { net: 'n1', tier: 'gold' } };
    expect(summary(localityLbEndpoints(entries, { setting: { failoverPriority: ['net', 'tier'] }, outlierDetection: true, caller }))).toEqual(['0:1:n1', '1:1:n2', '2:1:n3']);
  });

  it('distribute: shares per locality pattern from the caller’s locality; unnamed localities get nothing', () => {
    const setting = { distribute: [{ from: 'us-west/*', to: { 'us-west/a': 70, 'us-east/*': 30 } }] };
    expect(summary(localityLbEndpoints(ENTRIES, { setting, outlierDetection: false, caller: CALLER }))).toEqual(['0:30:e1', '0:35:a1', '0:35:a2']);
    // A 0 % share leaves the locality out (a weight of 0 would break PGV's load_balancing_weight ≥ 1).
    const zero = { distribute: [{ from: 'us-west/*', to: { 'us-west/a': 100, 'us-east/*': 0 } }] };
    expect(summary(localityLbEndpoints(ENTRIES, { setting: zero, outlierDetection: false, caller: CALLER }))).toEqual(['0:50:a1', '0:50:a2']);
    const other = { locality: { region: 'eu', zone: 'a' }, labels: {} };
    expect(summary(localityLbEndpoints(ENTRIES, { setting, outlierDetection: false, caller: other }))).toHaveLength(5);
  });

  it('the cache key names the caller only when a setting applies to it', () => {
    expect(localityCallerKey({ outlierDetection: true, caller: CALLER })).toBe('-');
    expect(localityCallerKey({ setting: { failover: [] }, outlierDetection: false, caller: CALLER })).toBe('-');
    expect(localityCallerKey({ setting: { failover: [] }, outlierDetection: true, caller: CALLER })).toBe('us-west/a/s1|');
    expect(localityCallerKey({ setting: { failoverPriority: ['net'] }, outlierDetection: true, caller: { ...CALLER, labels: { net: 'x' } } })).toBe('us-west/a/s1|net=x');
  });
});

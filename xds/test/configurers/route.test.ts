import { describe, expect, it } from 'vitest';
import { durationFromMs, fractionalPercent } from '../../src/configurers/common.js';
import {
  clusterSpecifier,
  DEFAULT_RETRY_ON,
  faultConfig,
  headerMatcher,
  maxStreamDuration,
  normalizeWeights,
  pathMatch,
  retryPolicy,
  withContentName,
  withFault,
} from '../../src/configurers/route.js';
import { FAULT_TYPE_URL } from '../../src/resources/type-urls.js';

describe('route configurers', () => {
  it.each([
    [[95, 5], [95, 5]],
    [[1, 1, 1], [34, 33, 33]],
    [[33.4, 66.6], [33, 67]],
    [[950, 50], [95, 5]],
    [[0, 100], [0, 100]],
    [[0, 0], [0, 0]],
  ])('normalizeWeights(%j) = %j, adding up to 100', (input, expected) => {
    expect(normalizeWeights(input)).toEqual(expected);
  });

  it('clusterSpecifier: a single cluster plainly, several as weighted_clusters with total_weight 100', () => {
    expect(clusterSpecifier([{ name: 'a', weight: 100 }])).toEqual({ cluster: 'a' });
    expect(clusterSpecifier([{ name: 'a', weight: 2 }, { name: 'b', weight: 1 }])).toEqual({
      weighted_clusters: { clusters: [{ name: 'a', weight: { value: 67 } }, { name: 'b', weight: { value: 33 } }], total_weight: { value: 100 } },
    });
  });

  it('pathMatch: prefix "/" by default; exact, prefix, regex; case', () => {
    expect(pathMatch(undefined)).toEqual({ prefix: '/' });
    expect(pathMatch({ exact: '/a' })).toEqual({ path: '/a' });
    expect(pathMatch({ prefix: '/p' }, true)).toEqual({ prefix: '/p', case_sensitive: { value: false } });
    expect(pathMatch({ regex: '/r.*' })).toEqual({ safe_regex: { regex: '/r.*' } });
  });

  it('headerMatcher: old-style fields, lowercase name, invert', () => {
    expect(headerMatcher('X-Device', { exact: 'iphone' })).toEqual({ name: 'x-device', exact_match: 'iphone' });
    expect(headerMatcher('a', { prefix: 'p' }, true)).toEqual({ name: 'a', prefix_match: 'p', invert_match: true });
    expect(headerMatcher('a', { regex: '.+' })).toEqual({ name: 'a', safe_regex_match: { regex: '.+' } });
  });

  it('durations, percentages, max_stream_duration', () => {
    expect(durationFromMs(1500)).toEqual({ seconds: 1, nanos: 500_000_000 });
    expect(durationFromMs(0)).toEqual({ seconds: 0, nanos: 0 });
    expect(fractionalPercent(5)).toEqual({ numerator: 50_000, denominator: 'MILLION' });
    expect(fractionalPercent(150)).toEqual({ numerator: 1_000_000, denominator: 'MILLION' });
    expect(maxStreamDuration(3000)).toEqual({ max_stream_duration: { seconds: 3, nanos: 0 }, grpc_timeout_header_max: { seconds: 3, nanos: 0 } });
  });

  it('retryPolicy: none for 0 attempts (grpc-js NACKs num_retries 0), defaults retry_on', () => {
    expect(retryPolicy(undefined)).toBeUndefined();
    expect(retryPolicy({ attempts: 0 })).toBeUndefined();
    expect(retryPolicy({ attempts: 2 })).toEqual({ retry_on: DEFAULT_RETRY_ON, num_retries: { value: 2 } });
  });

  it('faultConfig: abort by gRPC or HTTP status, delay', () => {
    expect(faultConfig({ abort: { httpStatus: 503, percentage: { value: 1 } } })).toEqual({
      '@type': FAULT_TYPE_URL,
      abort: { http_status: 503, percentage: { numerator: 10_000, denominator: 'MILLION' } },
    });
    expect(withFault({ match: {} }, { delay: { fixedDelayMs: 5, percentage: { value: 100 } } })).toEqual({
      match: {},
      typed_per_filter_config: {
        'envoy.filters.http.fault': {
          '@type': FAULT_TYPE_URL,
          delay: { fixed_delay: { seconds: 0, nanos: 5_000_000 }, percentage: { numerator: 1_000_000, denominator: 'MILLION' } },
        },
      },
    });
    expect(withFault({ match: {} }, {})).toEqual({ match: {} });
  });

  it('withContentName: the name changes with any content change, not with the old name', () => {
    const a = withContentName({ name: 'old', match: { prefix: '/' } }, 'r');
    expect(a.name).toMatch(/^r#[0-9a-f]{8}$/);
    expect(withContentName({ match: { prefix: '/' } }, 'r').name).toBe(a.name);
    expect(withContentName({ match: { prefix: '/x' } }, 'r').name).not.toBe(a.name);
  });
});

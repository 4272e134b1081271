import { describe, expect, it } from 'vitest';
import { messageType } from '../../src/protos/root.js';
import { checkPgv, formatViolation } from '../../src/validation/pgv.js';

const check = (type: string, value: unknown): string[] => checkPgv(messageType(type), value).map(formatViolation);

// The checker reads the `validate.rules` options of Envoy's protos; these pin its reading
// of each rule kind to a real annotated field.
describe('PGV checker', () => {
  it('string.min_len on an absent proto3 string (Cluster.name) and on an empty one', () => {
    expect(check('envoy.config.cluster.v3.Cluster', {})).toContain('name: must not be empty (validate.rules string.min_len)');
    expect(check('envoy.config.cluster.v3.Cluster', { name: '' })).toContain('name: must not be empty (validate.rules string.min_len)');
    expect(check('envoy.config.cluster.v3.Cluster', { name: 'c' })).toEqual([]);
  });

  it('duration.gt: a zero connect_timeout; an absent one is fine (not required)', () => {
    expect(check('envoy.config.cluster.v3.Cluster', { name: 'c', connect_timeout: { seconds: 0, nanos: 0 } })).toEqual([
      'connect_timeout: must be greater than 0s, got 0s (validate.rules duration.gt)',
    ]);
    expect(check('envoy.config.cluster.v3.Cluster', { name: 'c', connect_timeout: { seconds: 0, nanos: 1_000_000 } })).toEqual([]);
  });

  it('duration required + gte (KeepaliveSettings.timeout)', () => {
    expect(check('envoy.config.core.v3.KeepaliveSettings', {})).toEqual(['timeout: is required (validate.rules duration.required)']);
    expect(check('envoy.config.core.v3.KeepaliveSettings', { timeout: { seconds: 0, nanos: 1000 } })).toEqual([
      'timeout: must be at least 1ms, got 1000ns (validate.rules duration.gte)',
    ]);
  });

  it('uint32 ranges on plain fields and on wrappers (only when the wrapper is set)', () => {
    expect(check('envoy.config.core.v3.SocketAddress', { address: '10.0.0.1', port_value: 70000 })).toEqual([
      'port_value: must be at most 65535, got 70000 (validate.rules uint32.lte)',
    ]);
    expect(check('envoy.config.endpoint.v3.LocalityLbEndpoints', { load_balancing_weight: { value: 0 } })).toEqual([
      'load_balancing_weight: must be at least 1, got 0 (validate.rules uint32.gte)',
    ]);
    expect(check('envoy.config.endpoint.v3.LocalityLbEndpoints', {})).toEqual([]);
    expect(check('envoy.config.endpoint.v3.LocalityLbEndpoints', { priority: 129 })).toEqual(['priority: must be at most 128, got 129 (validate.rules uint32.lte)']);
  });

  it('uint32 two-sided range (DirectResponseAction.status: 200 ≤ status < 600)', () => {
    expect(check('envoy.config.route.v3.DirectResponseAction', { status: 150 })).toEqual([
      'status: must be at least 200 and less than 600, got 150 (validate.rules uint32.gte)',
    ]);
    expect(check('envoy.config.route.v3.DirectResponseAction', { status: 600 })).toEqual([
      'status: must be less than 600 and at least 200, got 600 (validate.rules uint32.lt)',
    ]);
    expect(check('envoy.config.route.v3.DirectResponseAction', { status: 503 })).toEqual([]);
  });

  it('uint64 and double ranges (ring size, Percent)', () => {
    expect(check('envoy.config.cluster.v3.Cluster.RingHashLbConfig', { minimum_ring_size: { value: 9_000_000 } })).toEqual([
      'minimum_ring_size: must be at most 8388608, got 9000000 (validate.rules uint64.lte)',
    ]);
    expect(check('envoy.type.v3.Percent', { value: 101 })).toEqual(['value: must be at most 100 and at least 0, got 101 (validate.rules double.lte)']);
  });

  it('enum.defined_only: names and numbers', () => {
    expect(check('envoy.type.v3.FractionalPercent', { numerator: 1, denominator: 'MILLION' })).toEqual([]);
    expect(check('envoy.type.v3.FractionalPercent', { numerator: 1, denominator: 7 })).toEqual(['denominator: 7 is not a value of DenominatorType (validate.rules enum.defined_only)']);
  });

  it('repeated.min_items and items rules (VirtualHost.domains)', () => {
    expect(check('envoy.config.route.v3.VirtualHost', { name: 'v', domains: [] })).toEqual(['domains: must not be empty (validate.rules repeated.min_items)']);
    expect(check('envoy.config.route.v3.VirtualHost', { name: 'v', domains: ['a\nb'] })).toEqual([
      'domains[0]: must be a header value (no NUL, CR or LF; HTTP_HEADER_VALUE), got "a\\nb" (validate.rules string.well_known_regex)',
    ]);
  });

  it('message.required and oneof required (Route.match, Route.action)', () => {
    expect(check('envoy.config.route.v3.Route', {})).toEqual([
      'action: one of route, redirect, direct_response, filter_action, non_forwarding_action must be set (validate.rules oneof.required)',
      'match: is required (validate.rules message.required)',
    ]);
  });

  it('skips members of an unset oneof, checks the set one', () => {
    // HeaderMatcher.prefix_match has min_len 1; exact_match (set) has no rule.
    expect(check('envoy.config.route.v3.HeaderMatcher', { name: 'x', exact_match: '' })).toEqual([]);
    expect(check('envoy.config.route.v3.HeaderMatcher', { name: 'x', prefix_match: '' })).toEqual(['prefix_match: must not be empty (validate.rules string.min_len)']);
  });

  it('names nested paths through lists and messages', () => {
    const routes = [
      { match: { prefix: '/' }, route: { cluster: 'c' } },
      { match: { prefix: '/' }, route: { cluster: '' } },
    ];
    expect(check('envoy.config.route.v3.RouteConfiguration', { name: 'r', virtual_hosts: [{ name: 'a', domains: ['a'], routes }] })).toEqual([
      'virtual_hosts[0].routes[1].route.cluster: must not be empty (validate.rules string.min_len)',
    ]);
  });

  it('header names: HTTP_HEADER_NAME (not strict) plus min_len', () => {
    expect(check('envoy.config.core.v3.HeaderValue', { key: '', value: 'v' })).toEqual(['key: must not be empty (validate.rules string.min_len)']);
    expect(check('envoy.config.core.v3.HeaderValue', { key: 'x-a', value: 'line\r\nbreak' })).toEqual([
      'value: must be a header value (no NUL, CR or LF; HTTP_HEADER_VALUE), got "line\\r\\nbreak" (validate.rules string.well_known_regex)',
    ]);
  });

  it('looks into Any by its @type, and into maps', () => {
    const route = {
      name: 'r',
      match: { prefix: '/' },
      route: { cluster: 'c' },
      typed_per_filter_config: {
        'envoy.filters.http.fault': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault', delay: { fixed_delay: { seconds: 0, nanos: 0 } } },
      },
    };
    expect(check('envoy.config.route.v3.Route', route)).toEqual([
      'typed_per_filter_config["envoy.filters.http.fault"].delay.fixed_delay: must be greater than 0s, got 0s (validate.rules duration.gt)',
    ]);
  });

  it('int32.gt inside an extension config (PreviousPrioritiesConfig.update_frequency)', () => {
    expect(check('envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', {})).toEqual([
      'update_frequency: must be greater than 0, got 0 (validate.rules int32.gt)',
    ]);
  });
});

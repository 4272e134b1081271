import { describe, expect, it } from 'vitest';
import { apiListener, rdsConnectionManager, withFaultFilter, withRouterFilter } from '../../src/configurers/listener.js';
import { FAULT_TYPE_URL, HCM_TYPE_URL, ROUTER_TYPE_URL } from '../../src/resources/type-urls.js';

const types = (hcm: Record<string, unknown>) => (hcm.http_filters as any[]).map((f) => f.typed_config['@type']);

describe('listener configurers', () => {
  it('rdsConnectionManager: RDS over ADS, no filters yet', () => {
    expect(rdsConnectionManager('h:1')).toEqual({
      '@type': HCM_TYPE_URL,
      rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: 'h:1' },
      http_filters: [],
    });
  });

  it('withRouterFilter puts the router last with typed_config, once', () => {
    const hcm = withRouterFilter(withRouterFilter(rdsConnectionManager('h:1')));
    expect(hcm.http_filters).toEqual([{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE_URL } }]);
  });

  it('withFaultFilter goes before the router in either order of application', () => {
    expect(types(withRouterFilter(withFaultFilter(rdsConnectionManager('h:1'))))).toEqual([FAULT_TYPE_URL, ROUTER_TYPE_URL]);
    expect(types(withFaultFilter(withRouterFilter(rdsConnectionManager('h:1'))))).toEqual([FAULT_TYPE_URL, ROUTER_TYPE_URL]);
    expect(types(withFaultFilter(withFaultFilter(withRouterFilter(rdsConnectionManager('h:1')))))).toHaveLength(2);
  });

  it('apiListener wraps the HCM as a client listener', () => {
    expect(apiListener('h:1', { '@type': HCM_TYPE_URL })).toEqual({ name: 'h:1', api_listener: { api_listener: { '@type': HCM_TYPE_URL } } });
  });
});

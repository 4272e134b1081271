import { describe, expect, it } from 'vitest';
import { grpcListenerGenerator } from '../../../src/generators/grpc/lds.js';
import { FAULT_TYPE_URL, HCM_TYPE_URL, ROUTER_TYPE_URL } from '../../../src/resources/type-urls.js';
import { aRouteTable, aService, aSnapshot, canarySnapshot, GREETER } from '../../helpers/builders.js';
import { generate } from '../../helpers/generate.js';

describe('grpc LDS', () => {
  it('emits an API listener per service port with RDS over ADS and the router last', () => {
    const snapshot = aSnapshot()
      .withService(aService(GREETER).withPort('grpc', 50051).withPort('admin', 9000, 'HTTP').build())
      .build();
    const { byName } = generate(grpcListenerGenerator, snapshot);
    expect([...byName.keys()]).toEqual([`${GREETER}:50051`, `${GREETER}:9000`]);
    expect(byName.get(`${GREETER}:50051`)).toEqual({
      name: `${GREETER}:50051`,
      api_listener: {
        api_listener: {
          '@type': HCM_TYPE_URL,
          rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: `${GREETER}:50051` },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE_URL } }],
          stat_prefix: `${GREETER}:50051`,
        },
      },
    });
  });

  it('answers only the subscribed names that exist', () => {
    const { byName } = generate(grpcListenerGenerator, canarySnapshot().build(), {
      names: [`${GREETER}:50051`, `${GREETER}:1`, 'nope.svc:80', 'garbage'],
    });
    expect([...byName.keys()]).toEqual([`${GREETER}:50051`]);
  });

  it('adds the fault filter before the router when a route on the port injects faults', () => {
    const snapshot = canarySnapshot()
      .withRoutes(
        aRouteTable(GREETER, [
          { destinations: [{ host: GREETER, weight: 100 }], fault: { abort: { grpcStatus: 8, percentage: { value: 50 } } } },
        ]),
      )
      .build();
    const hcm = (generate(grpcListenerGenerator, snapshot).byName.get(`${GREETER}:50051`) as any).api_listener.api_listener;
    expect(hcm.http_filters.map((f: any) => f.typed_config['@type'])).toEqual([FAULT_TYPE_URL, ROUTER_TYPE_URL]);
  });

  it('leaves the fault filter out when the fault applies on another port only', () => {
    const snapshot = aSnapshot()
      .withService(aService(GREETER).withPort('grpc', 50051).withPort('other', 50052).build())
      .withRoutes(
        aRouteTable(GREETER, [
          {
            matches: [{ headers: {}, withoutHeaders: {}, queryParams: {}, port: 50052 }],
            destinations: [{ host: GREETER, weight: 100 }],
            fault: { delay: { fixedDelayMs: 100, percentage: { value: 100 } } },
          },
        ]),
      )
      .build();
    const { byName } = generate(grpcListenerGenerator, snapshot);
    const filters = (name: string) => (byName.get(name) as any).api_listener.api_listener.http_filters.length;
    expect(filters(`${GREETER}:50051`)).toBe(1);
    expect(filters(`${GREETER}:50052`)).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import { grpcEndpointGenerator } from '../../../src/generators/grpc/eds.js';
import { ResourceCache } from '../../../src/cache/resource-cache.js';
import { aDestinationPolicy, aProxy, aService, aSnapshot, aWorkload, canarySnapshot, GREETER, versionSubsets } from '../../helpers/builders.js';
import { recordingLogger } from '../../helpers/logger.js';
import { generate } from '../../helpers/generate.js';

const base = `outbound|50051||${GREETER}`;
const v1 = `outbound|50051|v1|${GREETER}`;
const v2 = `outbound|50051|v2|${GREETER}`;

describe('grpc EDS', () => {
  it('a ClusterLoadAssignment per cluster; subsets filter by labels; port from the workload', () => {
    const { byName } = generate(grpcEndpointGenerator, canarySnapshot().build());
    expect([...byName.keys()]).toEqual([v1, v2, base]);
    expect(byName.get(v2)).toEqual({
      cluster_name: v2,
      endpoints: [
        {
          locality: {},
          lb_endpoints: [
            // HEALTHY and weight 1 are gRPC clients' defaults: left out (compactLbEndpoint).
            { endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 50062 } } } },
          ],
          load_balancing_weight: { value: 1 },
        },
      ],
    });
    expect((byName.get(base) as any).endpoints[0].lb_endpoints).toHaveLength(2);
  });

  it('sends an empty assignment for a cluster without endpoints', () => {
    const snapshot = aSnapshot().withService(aService(GREETER).build()).withDestinations(versionSubsets(GREETER)).build();
    const { byName } = generate(grpcEndpointGenerator, snapshot);
    expect(byName.get(base)).toEqual({ cluster_name: base, endpoints: [] });
    expect(byName.get(v1)).toEqual({ cluster_name: v1, endpoints: [] });
  });

  it('groups by locality (always present, weight > 0), keeps health and weight unless default, uses the service port when unmapped', () => {
    const snapshot = aSnapshot()
      .withService(aService(GREETER).build())
      .withWorkloads(
        aWorkload(GREETER, 'a').at('10.0.0.2').inLocality({ region: 'r1', zone: 'z1' }).withWeight(3).build(),
        aWorkload(GREETER, 'b').at('10.0.0.1').inLocality({ region: 'r1', zone: 'z1' }).withHealth('UNHEALTHY').build(),
        aWorkload(GREETER, 'c').at('fd00::1').inLocality({ region: 'r2', subzone: 's' }).withHealth('DRAINING').build(),
      )
      .build();
    const cla = generate(grpcEndpointGenerator, snapshot).byName.get(base) as any;
    expect(cla.endpoints.map((e: any) => e.locality)).toEqual([{ region: 'r1', zone: 'z1' }, { region: 'r2', sub_zone: 's' }]);
    expect(cla.endpoints.map((e: any) => e.load_balancing_weight.value)).toEqual([4, 1]);
    const eps = cla.endpoints[0].lb_endpoints;
    expect(eps.map((e: any) => [e.endpoint.address.socket_address.address, e.endpoint.address.socket_address.port_value, e.health_status, e.load_balancing_weight])).toEqual([
      ['10.0.0.1', 50051, 'UNHEALTHY', undefined],
      ['10.0.0.2', 50051, undefined, { value: 3 }],
    ]);
    expect(cla.endpoints[1].lb_endpoints[0].health_status).toBe('DRAINING');
  });

  it('drops host-name addresses and duplicate addresses with a warning instead of refusing the cluster', () => {
    const snapshot = aSnapshot()
      .withService(aService(GREETER).build())
      .withWorkloads(
        aWorkload(GREETER, 'ok').at('10.0.0.1').build(),
        aWorkload(GREETER, 'name').at('localhost').build(),
        aWorkload(GREETER, 'dup').at('10.0.0.1').build(),
      )
      .build();
    const { byName, resources } = generate(grpcEndpointGenerator, snapshot);
    expect((byName.get(base) as any).endpoints[0].lb_endpoints).toHaveLength(1);
    expect(resources[0]?.warnings).toEqual([
      'workload name: address localhost is not an IP literal; left out',
      'workload ok: 10.0.0.1:50051 already listed; left out',
    ]);
  });

  it('is independent of workload order', () => {
    const ws = [aWorkload(GREETER, 'a').at('10.0.0.2').build(), aWorkload(GREETER, 'b').at('10.0.0.1').inLocality({ zone: 'z' }).build()];
    const one = generate(grpcEndpointGenerator, aSnapshot().withService(aService(GREETER).build()).withWorkloads(...ws).build());
    const two = generate(grpcEndpointGenerator, aSnapshot().withService(aService(GREETER).build()).withWorkloads(...[...ws].reverse()).build());
    expect(one.resources[0]?.version).toBe(two.resources[0]?.version);
  });

  it('locality failover: priorities as each caller sees them (only with outlier detection); callers in one locality share the assignment', () => {
    const snapshot = aSnapshot()
      .withService(aService(GREETER).withPort('grpc', 50051).build())
      .withWorkloads(
        aWorkload(GREETER, 'w').at('10.0.0.1').inLocality({ region: 'west', zone: 'a' }).build(),
        aWorkload(GREETER, 'e').at('10.0.0.2').inLocality({ region: 'east', zone: 'a' }).build(),
      )
      .withDestinations(aDestinationPolicy(GREETER, [], { outlierDetection: {}, loadBalancer: { localityLbSetting: { failover: [{ from: 'west', to: 'east' }] } } }))
      .build();
    const cache = ResourceCache.forGenerator(grpcEndpointGenerator, recordingLogger());
    const order = (region: string, id = region) => {
      const { byName } = generate(grpcEndpointGenerator, snapshot, { cache, proxy: aProxy({ id, locality: { region, zone: 'a' } }) });
      return (byName.get(base) as any).endpoints.map((e: any) => `${e.priority ?? 0}:${e.locality.region}`);
    };
    expect(order('west')).toEqual(['0:west', '1:east']);
    expect(order('east')).toEqual(['0:east', '1:west']);
    expect(order('west', 'west-2')).toEqual(['0:west', '1:east']);
    expect(cache.stats).toMatchObject({ builds: 2, hits: 1 });
  });
});

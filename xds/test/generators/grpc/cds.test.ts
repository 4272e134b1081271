import { describe, expect, it } from 'vitest';
import { grpcClusterGenerator } from '../../../src/generators/grpc/cds.js';
import { aDestinationPolicy, aService, aSnapshot, canarySnapshot, GREETER } from '../../helpers/builders.js';
import { generate } from '../../helpers/generate.js';

const base = `outbound|50051||${GREETER}`;

describe('grpc CDS', () => {
  it('one EDS cluster per service port and per subset, fed over ADS, round robin', () => {
    const { byName } = generate(grpcClusterGenerator, canarySnapshot().build());
    expect([...byName.keys()]).toEqual([`outbound|50051|v1|${GREETER}`, `outbound|50051|v2|${GREETER}`, base]);
    expect(byName.get(base)).toEqual({
      name: base,
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: base },
      lb_policy: 'ROUND_ROBIN',
    });
  });

  it('answers named subscriptions with the clusters that exist', () => {
    const { byName } = generate(grpcClusterGenerator, canarySnapshot().build(), {
      names: [`outbound|50051|v2|${GREETER}`, `outbound|50051|v9|${GREETER}`, `outbound|1||${GREETER}`, 'inbound|1||'],
    });
    expect([...byName.keys()]).toEqual([`outbound|50051|v2|${GREETER}`]);
  });

  it('always round robin for gRPC, whatever the DestinationRule asks (LEAST_REQUEST is NACKed)', () => {
    const snapshot = aSnapshot()
      .withService(aService(GREETER).build())
      .withDestinations(aDestinationPolicy(GREETER, [], { loadBalancer: { simple: 'LEAST_REQUEST' } }))
      .build();
    expect((generate(grpcClusterGenerator, snapshot).byName.get(base) as any).lb_policy).toBe('ROUND_ROBIN');
  });

  it('maps connectionPool.maxRequests to a circuit breaker; the subset value wins', () => {
    const snapshot = aSnapshot()
      .withService(aService(GREETER).build())
      .withDestinations(
        aDestinationPolicy(
          GREETER,
          [
            { name: 'v1', labels: { version: 'v1' } },
            { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { connectionPool: { maxRequests: 7 } } },
          ],
          { connectionPool: { maxRequests: 100 } },
        ),
      )
      .build();
    const { byName } = generate(grpcClusterGenerator, snapshot);
    const limit = (name: string) => (byName.get(name) as any).circuit_breakers.thresholds[0].max_requests.value;
    expect(limit(base)).toBe(100);
    expect(limit(`outbound|50051|v1|${GREETER}`)).toBe(100);
    expect(limit(`outbound|50051|v2|${GREETER}`)).toBe(7);
    expect((byName.get(base) as any).circuit_breakers.thresholds[0].priority).toBe('DEFAULT');
  });
});

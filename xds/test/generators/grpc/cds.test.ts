import { describe, expect, it } from 'vitest';
import { ResourceCache } from '../../../src/cache/resource-cache.js';
import { recordingLogger } from '../../helpers/logger.js';
import { grpcClusterGenerator } from '../../../src/generators/grpc/cds.js';
import { aDestinationPolicy, aProxy, aService, aSnapshot, C_CORE_151_AGENT, canarySnapshot, GREETER, GRPC_JS_AGENT, versionSubsets } from '../../helpers/builders.js';
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

  it('per client kind: RING_HASH for grpc-js, ROUND_ROBIN (and a warning) for C-core 1.51; cached per profile', () => {
    const snapshot = canarySnapshot()
      .withDestinations(versionSubsets(GREETER, { loadBalancer: { consistentHash: { key: { header: 'x-user' }, algorithm: 'RING_HASH' } } }))
      .build();
    const logger = recordingLogger();
    const cache = ResourceCache.forGenerator(grpcClusterGenerator, logger);
    const js = generate(grpcClusterGenerator, snapshot, { cache, proxy: aProxy({ userAgent: GRPC_JS_AGENT }) });
    const cCore = generate(grpcClusterGenerator, snapshot, { cache, proxy: aProxy({ id: 'py', userAgent: C_CORE_151_AGENT }) });
    expect((js.byName.get(base) as any).lb_policy).toBe('RING_HASH');
    expect((cCore.byName.get(base) as any).lb_policy).toBe('ROUND_ROBIN');
    expect(cache.size).toBe(6);
    expect(JSON.stringify(logger.at('warn'))).toContain(
      'DestinationRule/default/test spec.trafficPolicy.loadBalancer.consistentHash: not enforced on proxyless gRPC (C-core ≤ 1.51): this client crashes on RING_HASH clusters',
    );
  });
});

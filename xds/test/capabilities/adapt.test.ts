import type { EffectiveTrafficPolicy, HttpRoute } from '@isthmus/core';
import { describe, expect, it } from 'vitest';
import { adaptRoute, clusterPolicy, failurePercentageVolume, type Unenforced } from '../../src/capabilities/adapt.js';
import { ENVOY_PROFILE, GRPC_C_CORE_151_PROFILE, GRPC_JS_PROFILE } from '../../src/capabilities/profiles.js';

const collect = () => {
  const list: Unenforced[] = [];
  return { list, report: (u: Unenforced) => list.push(u) };
};

const base: HttpRoute = {
  name: 'r',
  matches: [],
  destinations: [{ host: 'a', subset: 'v1', weight: 100, headers: { request: { set: { 'x-a': '1' } } } }],
  origin: 'VirtualService/default/a',
  path: 'spec.http[3]',
};

const plain: HttpRoute = { ...base, destinations: [{ host: 'a', subset: 'v1', weight: 100 }] };

describe('adaptRoute', () => {
  it('leaves the whole rule out for gRPC when it redirects or answers directly, and reports it', () => {
    for (const extra of [{ redirect: { uri: '/x', redirectCode: 301 } }, { directResponse: { status: 503 } }] as const) {
      const c = collect();
      expect(adaptRoute({ ...base, destinations: [], ...extra }, GRPC_JS_PROFILE, c.report)).toBeUndefined();
      expect(c.list).toEqual([expect.objectContaining({ origin: 'VirtualService/default/a', path: `spec.http[3].${Object.keys(extra)[0]}`, level: 'left-out' })]);
    }
    const c = collect();
    expect(adaptRoute({ ...base, destinations: [], redirect: { uri: '/x', redirectCode: 301 } }, ENVOY_PROFILE, c.report)).toBeDefined();
    expect(c.list).toEqual([]);
  });

  it('strips decorations gRPC ignores (rewrite, headers, mirrors, CORS), each reported once with its field', () => {
    const c = collect();
    const route = adaptRoute(
      {
        ...base,
        rewrite: { uri: '/v2' },
        headers: { response: { remove: ['server'] } },
        mirrors: [{ host: 'a', subset: 'v2', percentage: { value: 10 } }],
        corsPolicy: { allowOrigins: [], allowMethods: ['GET'], allowHeaders: [], exposeHeaders: [] },
      },
      GRPC_JS_PROFILE,
      c.report,
    )!;
    expect(route.rewrite ?? route.headers ?? route.mirrors ?? route.corsPolicy).toBeUndefined();
    expect(route.destinations).toEqual([{ host: 'a', subset: 'v1', weight: 100 }]);
    expect(c.list.map((u) => `${u.path} ${u.kind}`)).toEqual([
      'spec.http[3].rewrite rewrite',
      'spec.http[3].headers headers',
      'spec.http[3].route[0].headers headers',
      'spec.http[3].mirror mirror',
      'spec.http[3].corsPolicy corsPolicy',
    ]);
  });

  it('keeps only gRPC retry conditions; no gRPC condition at all: no retries; drops per-try timeouts', () => {
    const c = collect();
    expect(adaptRoute({ ...plain, retries: { attempts: 2, retryOn: '5xx,unavailable,503', perTryTimeoutMs: 100 } }, GRPC_JS_PROFILE, c.report)!.retries).toEqual({
      attempts: 2,
      retryOn: 'unavailable',
    });
    expect(c.list.map((u) => u.message)).toEqual([
      'conditions 5xx, 503 are not gRPC statuses; calls are retried on unavailable only',
      'gRPC clients have no per-attempt timeout; the route timeout bounds all attempts together',
    ]);
    expect(adaptRoute({ ...base, retries: { attempts: 2, retryOn: 'connect-failure' } }, GRPC_JS_PROFILE, () => undefined)!.retries).toBeUndefined();
    expect(adaptRoute({ ...base, retries: { attempts: 2, retryOn: '5xx' } }, ENVOY_PROFILE, () => undefined)!.retries).toEqual({ attempts: 2, retryOn: '5xx' });
  });

  it('drops timeouts below 2 s for C-core 1.51 only', () => {
    const c = collect();
    expect(adaptRoute({ ...plain, timeoutMs: 1000 }, GRPC_C_CORE_151_PROFILE, c.report)!.timeoutMs).toBeUndefined();
    expect(c.list[0]).toMatchObject({ path: 'spec.http[3].timeout', kind: 'timeout' });
    expect(adaptRoute({ ...base, timeoutMs: 2000 }, GRPC_C_CORE_151_PROFILE, () => undefined)!.timeoutMs).toBe(2000);
    expect(adaptRoute({ ...base, timeoutMs: 200 }, GRPC_JS_PROFILE, () => undefined)!.timeoutMs).toBe(200);
  });
});

const src = (section: string) => ({ origin: 'DestinationRule/default/a', path: `spec.trafficPolicy.${section}` });
const policy = (p: Omit<EffectiveTrafficPolicy, 'sources'>): EffectiveTrafficPolicy => ({
  ...p,
  sources: { loadBalancer: src('loadBalancer'), connectionPool: src('connectionPool'), outlierDetection: src('outlierDetection') },
});

describe('clusterPolicy', () => {
  it('consistent hash: RING_HASH with its key where supported, ROUND_ROBIN (reported) where not', () => {
    const header = policy({ loadBalancer: { consistentHash: { key: { header: 'x-user' }, algorithm: 'RING_HASH', minimumRingSize: 64 } } });
    expect(clusterPolicy(header, GRPC_JS_PROFILE, () => undefined)).toEqual({ lbPolicy: 'RING_HASH', hash: { header: 'x-user' }, minimumRingSize: 64 });
    const c = collect();
    expect(clusterPolicy(header, GRPC_C_CORE_151_PROFILE, c.report)).toEqual({ lbPolicy: 'ROUND_ROBIN' });
    expect(c.list).toEqual([expect.objectContaining({ path: 'spec.trafficPolicy.loadBalancer.consistentHash', kind: 'loadBalancer.consistentHash', level: 'left-out' })]);
    const cookie = policy({ loadBalancer: { consistentHash: { key: { cookie: { name: 's' } }, algorithm: 'RING_HASH' } } });
    expect(clusterPolicy(cookie, GRPC_JS_PROFILE, () => undefined).lbPolicy).toBe('ROUND_ROBIN');
    expect(clusterPolicy(cookie, ENVOY_PROFILE, () => undefined)).toEqual({ lbPolicy: 'RING_HASH', hash: { cookie: { name: 's' } } });
  });

  it('source-IP affinity is the channel for grpc-js; Maglev is a ring for gRPC (both approximated)', () => {
    const c = collect();
    expect(clusterPolicy(policy({ loadBalancer: { consistentHash: { key: { sourceIp: true }, algorithm: 'MAGLEV', maglevTableSize: 65537 } } }), GRPC_JS_PROFILE, c.report)).toEqual({
      lbPolicy: 'RING_HASH',
      hash: { channelId: true },
    });
    expect(c.list.map((u) => u.level)).toEqual(['approximated', 'approximated']);
    expect(clusterPolicy(policy({ loadBalancer: { consistentHash: { key: { sourceIp: true }, algorithm: 'MAGLEV', maglevTableSize: 65537 } } }), ENVOY_PROFILE, () => undefined)).toEqual({
      lbPolicy: 'MAGLEV',
      hash: { sourceIp: true },
      maglevTableSize: 65537,
    });
  });

  it('LEAST_REQUEST and RANDOM for Envoy; ROUND_ROBIN (reported) for gRPC; warm-up only where it applies', () => {
    const lr = policy({ loadBalancer: { simple: 'LEAST_REQUEST', warmupMs: 30_000 } });
    expect(clusterPolicy(lr, ENVOY_PROFILE, () => undefined)).toEqual({ lbPolicy: 'LEAST_REQUEST', warmupMs: 30_000 });
    const c = collect();
    expect(clusterPolicy(lr, GRPC_JS_PROFILE, c.report)).toEqual({ lbPolicy: 'ROUND_ROBIN' });
    expect(c.list.map((u) => u.kind)).toEqual(['loadBalancer.simple', 'loadBalancer.warmup']);
    const e = collect();
    expect(clusterPolicy(policy({ loadBalancer: { simple: 'RANDOM', warmupMs: 1000 } }), ENVOY_PROFILE, e.report)).toEqual({ lbPolicy: 'RANDOM' });
    expect(e.list[0]?.message).toBe('slow start applies to ROUND_ROBIN and LEAST_REQUEST only, not RANDOM');
  });

  it('connection pool: everything for Envoy, max_requests only for gRPC, each other field reported with its Istio path', () => {
    const pool = policy({ connectionPool: { maxConnections: 10, maxRequests: 5, idleTimeoutMs: 1000 } });
    expect(clusterPolicy(pool, ENVOY_PROFILE, () => undefined).connectionPool).toEqual({ maxConnections: 10, maxRequests: 5, idleTimeoutMs: 1000 });
    const c = collect();
    expect(clusterPolicy(pool, GRPC_JS_PROFILE, c.report).connectionPool).toEqual({ maxRequests: 5 });
    expect(c.list.map((u) => u.path)).toEqual(['spec.trafficPolicy.connectionPool.tcp.maxConnections', 'spec.trafficPolicy.connectionPool.http.idleTimeout']);
  });

  it('outlier detection: approximated for gRPC, local-origin and panic threshold left out; locality kept unless disabled', () => {
    const c = collect();
    const out = clusterPolicy(
      policy({
        outlierDetection: { consecutive5xxErrors: 7, minHealthPercent: 50, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2 },
        loadBalancer: { localityLbSetting: { failover: [{ from: 'a', to: 'b' }] } },
      }),
      GRPC_JS_PROFILE,
      c.report,
    );
    expect(out).toEqual({ lbPolicy: 'ROUND_ROBIN', locality: { failover: [{ from: 'a', to: 'b' }] }, outlierDetection: { consecutive5xxErrors: 7 } });
    expect(c.list.map((u) => `${u.kind} ${u.level}`)).toEqual(['outlierDetection.localOrigin left-out', 'outlierDetection.minHealthPercent left-out', 'outlierDetection approximated']);
    expect(clusterPolicy(policy({ loadBalancer: { localityLbSetting: { enabled: false, failover: [] } } }), ENVOY_PROFILE, () => undefined).locality).toBeUndefined();
  });

  it.each([
    [{}, 5],
    [{ consecutive5xxErrors: 3 }, 3],
    [{ consecutiveGatewayErrors: 2 }, 2],
    [{ consecutiveGatewayErrors: 9 }, 5],
    [{ consecutive5xxErrors: 0, consecutiveGatewayErrors: 4 }, 4],
    [{ consecutive5xxErrors: 0 }, undefined],
    [{ consecutive5xxErrors: 0, consecutiveGatewayErrors: 0 }, undefined],
  ])('failure-percentage request volume of %j is %s', (od, n) => {
    expect(failurePercentageVolume(od)).toBe(n);
  });
});

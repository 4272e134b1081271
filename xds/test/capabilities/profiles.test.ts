import { describe, expect, it } from 'vitest';
import { grpcProfileFor, profileFor, supports, ENVOY_PROFILE } from '../../src/capabilities/profiles.js';

describe('client capability profiles', () => {
  it.each([
    ['gRPC Node Pure JS 1.14.1', 'grpc-js'],
    ['gRPC Node Pure JS 1.15.0', 'grpc-js'],
    ['gRPC Node Pure JS 1.9.2', 'grpc'],
    ['gRPC C-core linux Python C-core 29.0.0 Python 1.51.1', 'grpc-c-core-1.51'],
    ['gRPC C-core linux Python C-core 24.0.0 Python 1.46.3', 'grpc-c-core-1.51'],
    ['gRPC C-core linux Python C-core 33.0.0 Python 1.55.0', 'grpc-c-core'],
    ['gRPC C-core linux C++ 1.60.0', 'grpc-c-core'],
    ['gRPC C-core linux Ruby 1.50.0', 'grpc-c-core-1.51'],
    ['gRPC Go 1.60.0', 'grpc'],
    ['', 'grpc'],
  ])('%j → %s', (agent, id) => {
    expect(grpcProfileFor(agent).id).toBe(id);
  });

  it('a node without GENERATOR=grpc is an Envoy sidecar, whatever its user agent', () => {
    expect(profileFor({ generator: 'sidecar', userAgent: 'envoy 1.31.0' })).toBe(ENVOY_PROFILE);
    expect(profileFor({ generator: 'grpc', userAgent: 'gRPC Node Pure JS 1.14.1' }).id).toBe('grpc-js');
    expect(profileFor({ generator: 'grpc', userAgent: 'gRPC Node Pure JS 1.14.1' }, 'envoy')).toBe(ENVOY_PROFILE);
  });

  it('encodes the interop findings: no RING_HASH and no short timeouts for C-core 1.51; no redirect for gRPC', () => {
    const cCore = grpcProfileFor('gRPC C-core linux Python C-core 29.0.0 Python 1.51.1');
    const js = grpcProfileFor('gRPC Node Pure JS 1.14.1');
    expect([supports(cCore, 'ringHash'), supports(js, 'ringHash'), supports(ENVOY_PROFILE, 'ringHash')]).toEqual([false, true, true]);
    expect([cCore.minTimeoutMs, js.minTimeoutMs]).toEqual([2000, 0]);
    for (const f of ['redirect', 'directResponse', 'mirror', 'leastRequest', 'random'] as const) {
      expect([supports(js, f), supports(cCore, f), supports(ENVOY_PROFILE, f)]).toEqual([false, false, true]);
    }
    expect([supports(js, 'maxRequests'), supports(js, 'maxConnections')]).toEqual([true, false]);
  });
});

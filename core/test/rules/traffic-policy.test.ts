import { describe, expect, it } from 'vitest';
import { effectiveTrafficPolicy, hashOf, type DestinationPolicy } from '@isthmus/core';

const O = 'DestinationRule/default/r';
const policy: DestinationPolicy = (() => {
  const p = {
    host: 'r',
    origin: O,
    trafficPolicy: {
      loadBalancer: { simple: 'LEAST_REQUEST' as const },
      connectionPool: { maxRequests: 10 },
      portLevelSettings: [{ port: 80, connectionPool: { maxRequests: 80 }, path: 'spec.trafficPolicy.portLevelSettings[0]' }],
      origin: O,
      path: 'spec.trafficPolicy',
    },
    subsets: [
      { name: 'plain', labels: {} },
      {
        name: 'v2',
        labels: {},
        trafficPolicy: {
          outlierDetection: { consecutive5xxErrors: 1 },
          portLevelSettings: [{ port: 80, loadBalancer: { simple: 'RANDOM' as const }, path: 'spec.subsets[1].trafficPolicy.portLevelSettings[0]' }],
          origin: O,
          path: 'spec.subsets[1].trafficPolicy',
        },
      },
    ],
  };
  return { ...p, version: hashOf(p) };
})();

describe('effectiveTrafficPolicy (Istio merge: section by section, port-level last)', () => {
  it('top level, then its port-level settings for the port', () => {
    expect(effectiveTrafficPolicy(policy, 80)).toEqual({
      loadBalancer: { simple: 'LEAST_REQUEST' },
      connectionPool: { maxRequests: 80 },
      sources: {
        loadBalancer: { origin: O, path: 'spec.trafficPolicy.loadBalancer' },
        connectionPool: { origin: O, path: 'spec.trafficPolicy.portLevelSettings[0].connectionPool' },
      },
    });
    expect(effectiveTrafficPolicy(policy, 81).connectionPool).toEqual({ maxRequests: 10 });
  });

  it('a subset replaces the sections it sets, and its own port-level settings come last', () => {
    expect(effectiveTrafficPolicy(policy, 80, 'v2')).toEqual({
      loadBalancer: { simple: 'RANDOM' },
      connectionPool: { maxRequests: 80 },
      outlierDetection: { consecutive5xxErrors: 1 },
      sources: {
        loadBalancer: { origin: O, path: 'spec.subsets[1].trafficPolicy.portLevelSettings[0].loadBalancer' },
        connectionPool: { origin: O, path: 'spec.trafficPolicy.portLevelSettings[0].connectionPool' },
        outlierDetection: { origin: O, path: 'spec.subsets[1].trafficPolicy.outlierDetection' },
      },
    });
    expect(effectiveTrafficPolicy(policy, 81, 'plain')).toMatchObject({ loadBalancer: { simple: 'LEAST_REQUEST' }, connectionPool: { maxRequests: 10 } });
    expect(effectiveTrafficPolicy(undefined, 80)).toEqual({ sources: {} });
  });
});

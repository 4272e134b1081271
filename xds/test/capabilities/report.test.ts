import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { describeUnenforced, unenforcedRules, unenforcedRulesGauge, type UnenforcedRule } from '../../src/capabilities/report.js';
import { ENVOY_PROFILE, GRPC_C_CORE_151_PROFILE, GRPC_JS_PROFILE } from '../../src/capabilities/profiles.js';
import { aDestinationPolicy, aRouteTable, GREETER } from '../helpers/builders.js';

const rule = (client: UnenforcedRule['client'], clientName: string, level: UnenforcedRule['level'] = 'left-out'): UnenforcedRule => ({
  client,
  clientName,
  origin: 'VirtualService/default/a',
  path: 'spec.http[0].mirror',
  kind: 'mirror',
  level,
  message: 'why',
});

describe('capability reports', () => {
  it('one line per rule part: "proxyless gRPC" when every verified client misses it, else the clients by name', () => {
    expect(describeUnenforced([rule('grpc-js', 'proxyless gRPC (grpc-js)'), rule('grpc-c-core-1.51', 'proxyless gRPC (C-core ≤ 1.51)')])).toBe('not enforced on proxyless gRPC: why');
    expect(describeUnenforced([rule('grpc-c-core-1.51', 'proxyless gRPC (C-core ≤ 1.51)')])).toBe('not enforced on proxyless gRPC (C-core ≤ 1.51): why');
    expect(describeUnenforced([rule('grpc-js', 'proxyless gRPC (grpc-js)', 'approximated')])).toBe('approximated on proxyless gRPC (grpc-js): why');
  });

  it('the same rule bound to several hosts, and a policy over several ports and subsets, is reported once per client', () => {
    const table = aRouteTable(GREETER, [{ destinations: [], redirect: { uri: '/x', redirectCode: 301 } }]);
    const policy = aDestinationPolicy(GREETER, [{ name: 'v1', labels: {} }, { name: 'v2', labels: {} }], { loadBalancer: { simple: 'RANDOM' } });
    const rules = {
      routes: new Map([[GREETER, table], ['other.host', { ...table, host: 'other.host' }]]),
      destinations: new Map([[GREETER, policy]]),
      services: new Map([[GREETER, { service: { ports: [{ number: 80 }, { number: 81 }] } }]]),
    };
    const list = unenforcedRules(rules, [ENVOY_PROFILE, GRPC_JS_PROFILE, GRPC_C_CORE_151_PROFILE]);
    expect(list.map((u) => `${u.client} ${u.origin} ${u.path}`)).toEqual([
      'grpc-c-core-1.51 DestinationRule/default/test spec.trafficPolicy.loadBalancer.simple',
      'grpc-js DestinationRule/default/test spec.trafficPolicy.loadBalancer.simple',
      'grpc-c-core-1.51 VirtualService/default/test spec.http[0].redirect',
      'grpc-js VirtualService/default/test spec.http[0].redirect',
    ]);
  });

  it('isthmus_xds_unenforced_rules counts what is left out, per kind and client, at scrape time', async () => {
    const registry = new Registry();
    let current: UnenforcedRule[] = [];
    unenforcedRulesGauge(registry, () => current);
    current = [rule('grpc-js', 'x'), { ...rule('grpc-js', 'x'), path: 'spec.http[1].mirror' }, rule('grpc-js', 'x', 'approximated')];
    expect(await registry.metrics()).toContain('isthmus_xds_unenforced_rules{kind="mirror",client="grpc-js"} 2');
    current = [];
    expect(await registry.metrics()).not.toContain('kind="mirror"');
  });
});

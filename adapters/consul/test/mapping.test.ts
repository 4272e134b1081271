import { describe, expect, it } from 'vitest';
import type { ConsulCheck, HealthEntry } from '../src/consul-types.js';
import { canUsePassingFilter, instanceHealth, instanceLabels, mapService, resolveMapping } from '../src/mapping.js';
import { namingPolicy } from '../src/naming.js';
import type { ConsulAdapterOptions } from '../src/options.js';

const m = (o: Partial<ConsulAdapterOptions> = {}) => resolveMapping({ address: 'http://x', datacenter: 'dc1', ...o }, 'consul/dc1');

/** A health entry builder: the shape of /v1/health/service/:name, only what a test sets. */
function entry(id: string, o: {
  service?: string; node?: string; nodeAddress?: string; address?: string; port?: number; tags?: string[];
  meta?: Record<string, string>; nodeMeta?: Record<string, string>; checks?: Partial<ConsulCheck>[]; kind?: string;
  proxy?: { DestinationServiceName?: string; DestinationServiceID?: string }; weights?: { Passing: number; Warning: number };
  zone?: string; dc?: string;
} = {}): HealthEntry {
  return {
    Node: { Node: o.node ?? 'node1', Address: o.nodeAddress ?? '10.0.0.1', Datacenter: o.dc ?? 'dc1', Meta: o.nodeMeta ?? {} },
    Service: {
      ID: id,
      Service: o.service ?? 'web',
      ...(o.kind ? { Kind: o.kind } : {}),
      Tags: o.tags ?? [],
      Address: o.address ?? '',
      Port: o.port ?? 8080,
      Meta: o.meta ?? {},
      ...(o.weights ? { Weights: o.weights } : {}),
      ...(o.proxy ? { Proxy: o.proxy } : {}),
      ...(o.zone ? { Locality: { Zone: o.zone } } : {}),
    },
    Checks: (o.checks ?? [{ CheckID: 'serfHealth', Status: 'passing' }]).map((c) => ({ CheckID: 'c', Status: 'passing', ServiceID: '', ...c }) as ConsulCheck),
  };
}

describe('naming policy', () => {
  it('defaults to <service>.service.consul, lower-cased', () => {
    expect(namingPolicy()({ service: 'Web', namespace: 'default', partition: 'default', datacenter: 'dc1' })).toBe('web.service.consul');
  });

  it('maps into a shared domain or a template', () => {
    const ref = { service: 'web', namespace: 'team-a', partition: 'p1', datacenter: 'dc2' };
    expect(namingPolicy('mesh.internal')(ref)).toBe('web.mesh.internal');
    expect(namingPolicy('{service}.{namespace}.svc.cluster.local')(ref)).toBe('web.team-a.svc.cluster.local');
    expect(namingPolicy('{service}.{dc}.{partition}.consul')(ref)).toBe('web.dc2.p1.consul');
  });

  it('refuses a template without {service} or with an unknown placeholder, and names that are not DNS labels', () => {
    expect(() => namingPolicy('{svc}.consul')).toThrow(/unknown placeholder \{svc\}/);
    expect(() => namingPolicy('{dc}.consul')).toThrow(/must contain \{service\}/);
    expect(namingPolicy()({ service: 'web_app', namespace: 'default', partition: 'default', datacenter: 'dc1' })).toBeUndefined();
  });
});

describe('instance health', () => {
  const c = (CheckID: string, Status: ConsulCheck['Status']): ConsulCheck => ({ CheckID, Status, ServiceID: '' });
  it('is HEALTHY when every check passes, UNHEALTHY on any critical one (node checks too)', () => {
    expect(instanceHealth([c('serfHealth', 'passing'), c('service:a', 'passing')], 'UNHEALTHY')).toBe('HEALTHY');
    expect(instanceHealth([c('serfHealth', 'critical'), c('service:a', 'passing')], 'UNHEALTHY')).toBe('UNHEALTHY');
    expect(instanceHealth([], 'UNHEALTHY')).toBe('HEALTHY');
  });
  it('treats warning as configured', () => {
    expect(instanceHealth([c('service:a', 'warning')], 'UNHEALTHY')).toBe('UNHEALTHY');
    expect(instanceHealth([c('service:a', 'warning')], 'HEALTHY')).toBe('HEALTHY');
  });
  it('reports maintenance mode as DRAINING', () => {
    expect(instanceHealth([c('_node_maintenance', 'critical')], 'UNHEALTHY')).toBe('DRAINING');
    expect(instanceHealth([c('_service_maintenance:web-1', 'critical')], 'UNHEALTHY')).toBe('DRAINING');
  });
  it('uses Consul\'s ?passing filter only when it keeps exactly the instances the mapping would', () => {
    expect(canUsePassingFilter(m())).toBe(true);
    expect(canUsePassingFilter(m({ warning: 'HEALTHY' }))).toBe(false);
    expect(canUsePassingFilter(m({ includeUnhealthy: true }))).toBe(false);
  });
});

describe('instance labels', () => {
  it('takes key=value tags, then meta (meta wins), and the version from Meta.version first', () => {
    expect(instanceLabels(['team=a', 'version=v3', 'v2'], { version: 'v1', tier: 'gold', team: 'b' }, m())).toEqual({
      team: 'b',
      version: 'v1',
      tier: 'gold',
    });
  });
  it('falls back to a version= tag, then to a bare version-looking tag', () => {
    expect(instanceLabels(['version=v3', 'v2'], {}, m()).version).toBe('v3');
    expect(instanceLabels(['canary', 'v2'], {}, m()).version).toBe('v2');
    expect(instanceLabels(['canary', 'primary'], {}, m()).version).toBeUndefined();
  });
  it('honours a configured meta key and tag pattern', () => {
    const custom = m({ versionMetaKey: 'release', versionTagPattern: '^release-' });
    expect(instanceLabels([], { release: 'r7' }, custom).version).toBe('r7');
    expect(instanceLabels(['release-8'], {}, custom).version).toBe('release-8');
  });
});

describe('mapService', () => {
  it('maps an instance: host, address (falling back to the node), port, labels, locality, identity', () => {
    const r = mapService(
      'web',
      [
        entry('web-1', { meta: { version: 'v1' }, nodeMeta: { zone: 'z1' } }),
        entry('web-2', { address: '10.0.0.9', meta: { version: 'v2' }, zone: 'z9', node: 'node2', nodeMeta: { zone: 'z2' } }),
      ],
      undefined,
      m(),
    );
    expect(r.service).toEqual({
      hostname: 'web.service.consul',
      namespace: 'default',
      ports: [{ name: 'tcp', number: 8080, protocol: 'TCP' }],
      labels: {},
      sources: ['consul/dc1'],
      exportTo: ['*'],
    });
    expect(r.workloads).toEqual([
      {
        id: 'consul/dc1/node1/web-1',
        hostname: 'web.service.consul',
        namespace: 'default',
        address: '10.0.0.1',
        ports: { tcp: 8080 },
        labels: { version: 'v1' },
        health: 'HEALTHY',
        locality: { region: 'dc1', zone: 'z1' },
        weight: 1,
        identity: 'spiffe://cluster.local/ns/default/sa/web',
        source: 'consul/dc1',
      },
      expect.objectContaining({ address: '10.0.0.9', locality: { region: 'dc1', zone: 'z9' }, labels: { version: 'v2' } }),
    ]);
  });

  it('takes the protocol from the protocol meta key and names the port after it', () => {
    const r = mapService('greeter', [entry('g', { meta: { protocol: 'grpc' }, port: 50061 })], undefined, m());
    expect(r.service!.ports).toEqual([{ name: 'grpc', number: 50061, protocol: 'GRPC' }]);
    expect(r.workloads[0]!.ports).toEqual({ grpc: 50061 });
  });

  it('uses a declared mesh_port while each workload keeps its own port', () => {
    const r = mapService(
      'greeter',
      [entry('g1', { port: 50061, meta: { mesh_port: '50051' } }), entry('g2', { port: 50062, meta: { mesh_port: '50051' } })],
      undefined,
      m({ defaultProtocol: 'GRPC' }),
    );
    expect(r.service!.ports).toEqual([{ name: 'grpc', number: 50051, protocol: 'GRPC' }]);
    expect(r.workloads.map((w) => w.ports.grpc)).toEqual([50061, 50062]);
    expect(r.notes).toEqual([]);
  });

  it('publishes no port, and says why, when instances disagree and nothing declares one', () => {
    const r = mapService('web', [entry('a', { port: 1000 }), entry('b', { port: 2000 })], undefined, m());
    expect(r.service!.ports).toEqual([]);
    expect(r.workloads).toHaveLength(2);
    expect(r.notes.join()).toMatch(/different ports \(1000, 2000\).*mesh_port.*ServiceEntry for web\.service\.consul/);
  });

  it('keeps the previous port while no instance is left', () => {
    const previous = [{ name: 'http', number: 80, protocol: 'HTTP' as const }];
    expect(mapService('web', [], undefined, m(), previous).service!.ports).toEqual(previous);
  });

  it('leaves out unhealthy instances unless asked, and skips addresses that are not IPs', () => {
    const entries = [
      entry('ok'),
      entry('bad', { checks: [{ CheckID: 'service:bad', Status: 'critical', ServiceID: 'bad' }] }),
      entry('dns', { address: 'web.example.com' }),
    ];
    const r = mapService('web', entries, undefined, m());
    expect(r.workloads.map((w) => w.id)).toEqual(['consul/dc1/node1/ok']);
    expect(r.notes.join()).toMatch(/"web.example.com" is not an IP address/);
    const all = mapService('web', entries, undefined, m({ includeUnhealthy: true }));
    expect(all.workloads.map((w) => [w.id.split('/').at(-1), w.health])).toEqual([
      ['bad', 'UNHEALTHY'],
      ['ok', 'HEALTHY'],
    ]);
  });

  it('weights instances by Weights.Passing, or Weights.Warning when a warning is accepted', () => {
    const weights = { Passing: 10, Warning: 3 };
    const r = mapService(
      'web',
      [entry('a', { weights }), entry('b', { weights, checks: [{ CheckID: 's', Status: 'warning' }] })],
      undefined,
      m({ warning: 'HEALTHY' }),
    );
    expect(r.workloads.map((w) => w.weight)).toEqual([10, 3]);
  });

  it('ignores sidecars and gateways by default, and routes through sidecars in sidecar mode', () => {
    const entries = [entry('web-1', { port: 8080, meta: { version: 'v1' } }), entry('gw', { kind: 'mesh-gateway', port: 443 })];
    const connect = [
      entry('web-1-sidecar-proxy', {
        kind: 'connect-proxy',
        port: 21000,
        address: '10.0.0.50',
        proxy: { DestinationServiceName: 'web', DestinationServiceID: 'web-1' },
        checks: [{ CheckID: 'sidecar', Status: 'passing' }],
      }),
    ];
    const ignore = mapService('web', entries, connect, m());
    expect(ignore.workloads.map((w) => [w.address, w.ports.tcp])).toEqual([['10.0.0.1', 8080]]);
    const sidecar = mapService('web', entries, connect, m({ connect: 'sidecar' }));
    expect(sidecar.workloads.map((w) => [w.address, w.ports.tcp, w.labels.version])).toEqual([['10.0.0.50', 21000, 'v1']]);
    const sick = mapService('web', entries, [{ ...connect[0]!, Checks: [{ CheckID: 'sidecar', Status: 'critical', ServiceID: '' }] }], m({ connect: 'sidecar' }));
    expect(sick.workloads).toEqual([]);
  });

  it('uses the mesh namespace and a shared domain', () => {
    const r = mapService('web', [entry('a')], undefined, m({ namespace: 'team-a', domain: 'mesh.internal' }));
    expect(r.service!.hostname).toBe('web.mesh.internal');
    expect(r.service!.namespace).toBe('team-a');
    expect(r.workloads[0]!.identity).toBe('spiffe://cluster.local/ns/team-a/sa/web');
  });
});

import { describe, expect, it } from 'vitest';
import { mapService, ownerOf, registrationHealth, resolveMapping, tagLabels } from '../src/mapping.js';
import { namingPolicy } from '../src/naming.js';
import type { ServiceRegistration } from '../src/nomad-types.js';

const ALLOC = '8d3f2a1c-0000-4000-8000-00000000000a';
const m = resolveMapping({ address: 'http://n:4646', region: 'global' }, 'nomad/global');

/** A registration as Nomad's docs show it (api-docs/services), with overrides. */
function reg(over: Partial<ServiceRegistration> = {}): ServiceRegistration {
  const alloc = over.AllocID ?? ALLOC;
  const name = over.ServiceName ?? 'web';
  return {
    ID: `_nomad-task-${alloc}-group-frontend-${name}-http`,
    ServiceName: name,
    Namespace: 'default',
    NodeID: 'node-1',
    Datacenter: 'dc1',
    JobID: 'shop',
    AllocID: alloc,
    Tags: [],
    Address: '10.0.0.1',
    Port: 23456,
    CreateIndex: 10,
    ModifyIndex: 10,
    ...over,
  };
}
const healthy = () => 'HEALTHY' as const;

describe('naming', () => {
  it('names <service>.service.nomad by default, or <service>.<domain>, or a template', () => {
    const ref = { service: 'Web', namespace: 'Team-A', region: 'global' };
    expect(namingPolicy()(ref)).toBe('web.service.nomad');
    expect(namingPolicy('mesh.internal')(ref)).toBe('web.mesh.internal');
    expect(namingPolicy('.mesh.internal.')(ref)).toBe('web.mesh.internal');
    expect(namingPolicy('{service}.{namespace}.{region}.nomad')(ref)).toBe('web.team-a.global.nomad');
  });

  it('refuses templates without {service} or with unknown placeholders, and names that are not DNS labels', () => {
    expect(() => namingPolicy('{namespace}.nomad')).toThrow(/must contain \{service\}/);
    expect(() => namingPolicy('{service}.{dc}.nomad')).toThrow(/unknown placeholder \{dc\}/);
    expect(namingPolicy()({ service: 'web_api', namespace: 'default', region: 'global' })).toBeUndefined();
  });
});

describe('tagLabels', () => {
  it('takes key=value tags, the version from version= or a bare version tag, and marks canaries', () => {
    expect(tagLabels(['v1', 'urlprefix-/web', 'team=shop'], m)).toEqual({ version: 'v1', team: 'shop' });
    expect(tagLabels(['version=v3', 'v1'], m)).toEqual({ version: 'v3' });
    // During a canary deployment Nomad registers canary_tags instead of tags.
    expect(tagLabels(['v2', 'canary'], m)).toEqual({ version: 'v2', canary: 'true' });
    expect(tagLabels(['latest'], m)).toEqual({});
  });

  it('follows a configured version pattern and canary tag', () => {
    const custom = resolveMapping({ address: 'x', versionTagPattern: '^release-', canaryTag: 'preview' }, 'nomad/local');
    expect(tagLabels(['release-42', 'preview'], custom)).toEqual({ version: 'release-42', canary: 'true' });
    expect(() => resolveMapping({ address: 'x', versionTagPattern: '(' }, 'nomad/local')).toThrow(/invalid version tag pattern/);
  });
});

describe('ownerOf', () => {
  it('reads the task group or task and the port label from the registration ID', () => {
    expect(ownerOf(reg())).toEqual({ group: 'frontend', portLabel: 'http' });
    expect(ownerOf(reg({ ID: `_nomad-task-${ALLOC}-server-web-web-grpc` }))).toEqual({ task: 'server-web', portLabel: 'grpc' });
    expect(ownerOf(reg({ ID: 'something-else' }))).toEqual({});
  });
});

describe('registrationHealth', () => {
  it('is placed = healthy without checks, and unhealthy on a failing or pending check of its own service', () => {
    const r = reg();
    expect(registrationHealth(r, undefined)).toBe('HEALTHY');
    expect(registrationHealth(r, [])).toBe('HEALTHY');
    expect(registrationHealth(r, [{ ID: '1', Check: 'alive', Service: 'web', Status: 'success' }])).toBe('HEALTHY');
    expect(registrationHealth(r, [{ ID: '1', Check: 'alive', Service: 'web', Status: 'failure' }])).toBe('UNHEALTHY');
    expect(registrationHealth(r, [{ ID: '1', Check: 'alive', Service: 'web', Status: 'pending' }])).toBe('UNHEALTHY');
    // Another service of the same allocation failing is not this one's problem.
    expect(registrationHealth(r, [{ ID: '1', Check: 'alive', Service: 'metrics', Status: 'failure' }])).toBe('HEALTHY');
  });
});

describe('mapService', () => {
  it('maps registrations to workloads with labels, locality, identity and stable ids', () => {
    const out = mapService('web', 'default', [reg({ Tags: ['v1', 'protocol=grpc', 'mesh_port=50051'] })], healthy, m);
    expect(out.service).toEqual({
      hostname: 'web.service.nomad',
      namespace: 'default',
      ports: [{ name: 'grpc', number: 50051, protocol: 'GRPC' }],
      labels: {},
      sources: ['nomad/global'],
      exportTo: ['*'],
    });
    expect(out.workloads).toEqual([
      {
        id: `nomad/global/default/_nomad-task-${ALLOC}-group-frontend-web-http`,
        hostname: 'web.service.nomad',
        namespace: 'default',
        address: '10.0.0.1',
        ports: { grpc: 23456 },
        labels: {
          version: 'v1',
          protocol: 'grpc',
          mesh_port: '50051',
          'nomad.hashicorp.com/namespace': 'default',
          'nomad.hashicorp.com/job': 'shop',
          'nomad.hashicorp.com/task-group': 'frontend',
          'nomad.hashicorp.com/alloc-id': ALLOC,
          'nomad.hashicorp.com/node-id': 'node-1',
          'nomad.hashicorp.com/datacenter': 'dc1',
          'nomad.hashicorp.com/region': 'global',
        },
        health: 'HEALTHY',
        locality: { region: 'dc1' },
        weight: 1,
        identity: 'spiffe://cluster.local/ns/default/sa/web',
        source: 'nomad/global',
      },
    ]);
  });

  it('uses the common port when no mesh_port tag says, and keeps the previous port when nothing is left', () => {
    const one = mapService('web', 'default', [reg({ Port: 8080 }), reg({ AllocID: 'b', Port: 8080 })], healthy, m);
    expect(one.service!.ports).toEqual([{ name: 'tcp', number: 8080, protocol: 'TCP' }]);
    const none = mapService('web', 'default', [], healthy, m, one.service!.ports);
    expect(none.service!.ports).toEqual([{ name: 'tcp', number: 8080, protocol: 'TCP' }]);
    expect(none.workloads).toEqual([]);
  });

  it('says what to do when dynamic ports differ and nothing declares the mesh port', () => {
    const out = mapService('web', 'default', [reg({ Port: 20001 }), reg({ AllocID: 'b', Port: 20002 })], healthy, m);
    expect(out.service!.ports).toEqual([]);
    expect(out.workloads.map((w) => w.ports.tcp)).toEqual([20001, 20002]);
    expect(out.notes.join()).toMatch(/different ports \(20001, 20002\).*mesh_port=<port> tag/);
  });

  it('skips registrations whose address is not an IP, and unhealthy ones unless asked', () => {
    const regs = [reg({ Address: 'web.internal' }), reg({ AllocID: 'b', Address: '10.0.0.2' }), reg({ AllocID: 'c', Address: '10.0.0.3' })];
    const health = (r: ServiceRegistration) => (r.AllocID === 'c' ? ('UNHEALTHY' as const) : ('HEALTHY' as const));
    const out = mapService('web', 'default', regs, health, m);
    expect(out.workloads.map((w) => w.address)).toEqual(['10.0.0.2']);
    expect(out.notes.join()).toMatch(/"web.internal" is not an IP address/);
    const all = mapService('web', 'default', regs, health, resolveMapping({ address: 'x', includeUnhealthy: true }, 'nomad/local'));
    expect(all.workloads.map((w) => [w.address, w.health])).toEqual([
      ['10.0.0.2', 'HEALTHY'],
      ['10.0.0.3', 'UNHEALTHY'],
    ]);
  });

  it('maps into a shared domain and a fixed mesh namespace when configured', () => {
    const shared = resolveMapping({ address: 'x', domain: 'mesh.internal', meshNamespace: 'shop' }, 'nomad/local');
    const out = mapService('web', 'team-a', [reg({ Namespace: 'team-a' })], healthy, shared);
    expect(out.hostname).toBe('web.mesh.internal');
    expect(out.service!.namespace).toBe('shop');
    expect(out.workloads[0]!.identity).toBe('spiffe://cluster.local/ns/shop/sa/web');
    expect(out.workloads[0]!.labels['nomad.hashicorp.com/namespace']).toBe('team-a');
  });

  it('does not map a service whose name is not a DNS label', () => {
    const out = mapService('web_api', 'default', [reg({ ServiceName: 'web_api' })], healthy, m);
    expect(out.service).toBeUndefined();
    expect(out.notes).toEqual(['service "web_api" is not a valid DNS label; not mapped']);
  });
});

import { describe, expect, it } from 'vitest';
import { endpointSlice, pod, service } from '../../../test/sim/kubernetes/src/index.js';
import type { KubeEndpointSlice, KubeLabelled, KubePod, KubeService } from '../src/kube-types.js';
import { endpointHealth, exportToOf, localityOf, mapEndpoints, mapService, namingPolicy, resolveMapping, type EndpointLookups } from '../src/mapping.js';
import { istioProtocolOf, portProtocol } from '../src/protocols.js';

const m = resolveMapping({ clusterId: 'east' }, 'kubernetes/east');

describe('protocols (Istio\'s rules)', () => {
  it.each([
    [{ name: 'http' }, 'HTTP'],
    [{ name: 'http-web' }, 'HTTP'],
    [{ name: 'HTTP2' }, 'HTTP2'],
    [{ name: 'grpc' }, 'GRPC'],
    [{ name: 'grpc-api' }, 'GRPC'],
    [{ name: 'grpc-web' }, 'HTTP2'],
    [{ name: 'grpc-web-ui' }, 'HTTP2'],
    [{ name: 'https' }, 'TLS'],
    [{ name: 'tls-db' }, 'TLS'],
    [{ name: 'tcp' }, 'TCP'],
    [{ name: 'mongo' }, 'TCP'],
    [{ name: 'redis-cache' }, 'TCP'],
    [{ name: 'http_proxy' }, 'HTTP'],
    [{ name: 'web' }, 'TCP'],
    [{ name: '' }, 'TCP'],
    [{}, 'TCP'],
    // appProtocol wins over the name, with Kubernetes' standard values.
    [{ name: 'tcp', appProtocol: 'http' }, 'HTTP'],
    [{ name: 'web', appProtocol: 'grpc' }, 'GRPC'],
    [{ name: 'http', appProtocol: 'kubernetes.io/h2c' }, 'HTTP2'],
    [{ appProtocol: 'kubernetes.io/ws' }, 'HTTP'],
    [{ appProtocol: 'kubernetes.io/wss' }, 'TLS'],
    [{ name: 'http', appProtocol: 'example.com/custom' }, 'TCP'],
  ] as const)('%j → %s', (port, protocol) => {
    expect(portProtocol(port)).toBe(protocol);
  });

  it('does not carry UDP or SCTP ports', () => {
    expect(portProtocol({ name: 'dns', protocol: 'UDP' })).toBeUndefined();
    expect(portProtocol({ name: 'http', protocol: 'SCTP' })).toBeUndefined();
    expect(istioProtocolOf({ name: 'mongo-db' })).toBe('MONGO');
    expect(istioProtocolOf({ name: 'web' })).toBeUndefined();
  });
});

describe('naming', () => {
  it('names <svc>.<ns>.svc.<domain>, or a template with {service} {namespace} {cluster}', () => {
    const ref = { service: 'Web', namespace: 'shop', cluster: 'East' };
    expect(namingPolicy()(ref)).toBe('web.shop.svc.cluster.local');
    expect(namingPolicy('corp.example')(ref)).toBe('web.shop.svc.corp.example');
    expect(namingPolicy('{service}.mesh.internal')(ref)).toBe('web.mesh.internal');
    expect(namingPolicy('{service}.{namespace}.{cluster}.mesh')(ref)).toBe('web.shop.east.mesh');
    expect(() => namingPolicy('{service}.{dc}.mesh')).toThrow(/kubernetes: unknown placeholder \{dc\}/);
  });
});

describe('endpointHealth', () => {
  it('follows the EndpointSlice conditions, nil ready meaning ready', () => {
    expect(endpointHealth(undefined)).toBe('HEALTHY');
    expect(endpointHealth({})).toBe('HEALTHY');
    expect(endpointHealth({ ready: true, serving: true, terminating: false })).toBe('HEALTHY');
    expect(endpointHealth({ ready: false })).toBe('UNHEALTHY');
    expect(endpointHealth({ ready: false, serving: true, terminating: true })).toBe('DRAINING');
    expect(endpointHealth({ ready: false, serving: false, terminating: true })).toBe('UNHEALTHY');
    // serving nil defers to ready.
    expect(endpointHealth({ ready: false, terminating: true })).toBe('UNHEALTHY');
    expect(endpointHealth({ ready: null, serving: null })).toBe('HEALTHY');
  });
});

describe('localityOf', () => {
  const nodeLabels = { 'topology.kubernetes.io/region': 'eu', 'topology.kubernetes.io/zone': 'eu-a', 'topology.istio.io/subzone': 'rack1' };
  it('takes the endpoint zone and the node\'s region and subzone', () => {
    expect(localityOf('eu-b', nodeLabels)).toEqual({ region: 'eu', zone: 'eu-b', subzone: 'rack1' });
    expect(localityOf(undefined, nodeLabels)).toEqual({ region: 'eu', zone: 'eu-a', subzone: 'rack1' });
    expect(localityOf(undefined, { 'failure-domain.beta.kubernetes.io/region': 'us', 'failure-domain.beta.kubernetes.io/zone': 'us-1' })).toEqual({ region: 'us', zone: 'us-1' });
    expect(localityOf('z', undefined)).toEqual({ zone: 'z' });
    expect(localityOf(undefined, undefined)).toEqual({});
  });
  it('lets a pod\'s istio-locality label override it', () => {
    expect(localityOf('eu-b', nodeLabels, { 'istio-locality': 'us.us-2.r9' })).toEqual({ region: 'us', zone: 'us-2', subzone: 'r9' });
  });
});

describe('exportToOf', () => {
  it('reads the networking.istio.io/exportTo annotation, default everyone', () => {
    expect(exportToOf(undefined)).toEqual(['*']);
    expect(exportToOf({ 'networking.istio.io/exportTo': '' })).toEqual(['*']);
    expect(exportToOf({ 'networking.istio.io/exportTo': '., istio-system,.' })).toEqual(['.', 'istio-system']);
    expect(exportToOf({ 'networking.istio.io/exportTo': '~' })).toEqual(['~']);
  });
});

describe('mapService', () => {
  it('maps name, namespace, ports, labels and exportTo', () => {
    const svc = service({ name: 'web', namespace: 'shop', labels: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { port: 9000, appProtocol: 'grpc' } as never] }) as KubeService;
    expect(mapService(svc, m)).toEqual({
      service: {
        hostname: 'web.shop.svc.cluster.local',
        namespace: 'shop',
        ports: [
          { name: 'http', number: 80, protocol: 'HTTP' },
          { name: 'port-9000', number: 9000, protocol: 'GRPC' },
        ],
        labels: { app: 'web' },
        sources: ['kubernetes/east'],
        exportTo: ['*'],
      },
    });
  });

  it('leaves out ExternalName Services', () => {
    const svc = service({ name: 'ext', namespace: 'shop', ports: [], type: 'ExternalName', externalName: 'example.com' }) as KubeService;
    expect(mapService(svc, m)).toEqual({ skipped: expect.stringMatching(/ExternalName/) });
  });
});

describe('mapEndpoints', () => {
  const svc = service({ name: 'web', namespace: 'shop', ports: [{ name: 'http', port: 80, targetPort: 'web' }, { port: 9090, name: 'metrics' }] }) as KubeService;
  const mapped = mapService(svc, m);
  const s = 'service' in mapped ? mapped.service : undefined!;
  const pods = new Map<string, KubePod>([['shop/web-1', pod({ name: 'web-1', namespace: 'shop', ip: '10.0.0.1', nodeName: 'n1', labels: { version: 'v1' }, serviceAccountName: 'web' }) as KubePod]]);
  const nodes = new Map<string, KubeLabelled>([['n1', { metadata: { name: 'n1', labels: { 'topology.kubernetes.io/region': 'eu' } } }]]);
  const lookups: EndpointLookups = { pod: (ns, name) => pods.get(`${ns}/${name}`), node: (name) => nodes.get(name) };

  it('joins pods and nodes, maps ports by name, one workload per address', () => {
    const slice = endpointSlice({
      name: 'web-1',
      namespace: 'shop',
      service: 'web',
      ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }, { name: 'other', port: 1 }],
      endpoints: [
        { address: '10.0.0.1', nodeName: 'n1', zone: 'eu-a', pod: { name: 'web-1' } },
        { address: '10.0.0.2', ready: false, pod: { name: 'web-gone' } },
      ],
    }) as KubeEndpointSlice;
    const r = mapEndpoints(svc, s, [slice], lookups, m);
    expect(r.workloads).toEqual([
      {
        id: 'shop/web/10.0.0.1:8080,9090',
        hostname: 'web.shop.svc.cluster.local',
        namespace: 'shop',
        address: '10.0.0.1',
        ports: { http: 8080, metrics: 9090 },
        labels: { version: 'v1', 'topology.istio.io/cluster': 'east' },
        health: 'HEALTHY',
        locality: { region: 'eu', zone: 'eu-a' },
        weight: 1,
        identity: 'spiffe://cluster.local/ns/shop/sa/web',
        source: 'kubernetes/east',
      },
      expect.objectContaining({ id: 'shop/web/10.0.0.2:8080,9090', health: 'UNHEALTHY', labels: { 'topology.istio.io/cluster': 'east' }, locality: {} }),
    ]);
    expect(r.workloads[1]).not.toHaveProperty('identity');
    expect(r.pods.sort()).toEqual(['shop/web-1', 'shop/web-gone']);
    expect(r.nodes).toEqual(['n1']);
  });

  it('skips FQDN slices and addresses that are not IPs, and takes endpoints: null', () => {
    const fqdn = { ...endpointSlice({ name: 'x', namespace: 'shop', service: 'web', ports: [{ name: 'http', port: 80 }], endpoints: [{ address: 'db.example.com' }] }), addressType: 'FQDN' } as KubeEndpointSlice;
    const empty = endpointSlice({ name: 'y', namespace: 'shop', service: 'web', ports: [{ name: 'http', port: 80 }], endpoints: null }) as KubeEndpointSlice;
    const bad = endpointSlice({ name: 'z', namespace: 'shop', service: 'web', ports: [{ name: 'http', port: 80 }], endpoints: [{ address: 'not-an-ip' }, { address: 'fd00::1' }] }) as KubeEndpointSlice;
    expect(mapEndpoints(svc, s, [fqdn, empty, bad], lookups, m).workloads.map((w) => w.address)).toEqual(['fd00::1']);
  });

  it('keeps host-network endpoints that share an address on their own ports apart', () => {
    const a = endpointSlice({ name: 'a', namespace: 'shop', service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ address: '10.0.0.5' }] }) as KubeEndpointSlice;
    const b = endpointSlice({ name: 'b', namespace: 'shop', service: 'web', ports: [{ name: 'http', port: 8081 }], endpoints: [{ address: '10.0.0.5' }] }) as KubeEndpointSlice;
    expect(mapEndpoints(svc, s, [a, b], lookups, m).workloads.map((w) => [w.id, w.ports])).toEqual([
      ['shop/web/10.0.0.5:8080', { http: 8080 }],
      ['shop/web/10.0.0.5:8081', { http: 8081 }],
    ]);
  });

  it('dedupes an address in several slices, the healthiest copy winning whatever the order', () => {
    const a = endpointSlice({ name: 'a', namespace: 'shop', service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ address: '10.0.0.5', ready: false }] }) as KubeEndpointSlice;
    const b = endpointSlice({ name: 'b', namespace: 'shop', service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ address: '10.0.0.5', ready: true }] }) as KubeEndpointSlice;
    for (const order of [[a, b], [b, a]]) {
      const ws = mapEndpoints(svc, s, order, lookups, m).workloads;
      expect(ws.map((w) => [w.id, w.health])).toEqual([['shop/web/10.0.0.5:8080', 'HEALTHY']]);
    }
  });
});

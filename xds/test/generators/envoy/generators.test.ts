import { compileSidecars, parseConfigText, type MeshSnapshot } from '@isthmus/core';
import { describe, expect, it } from 'vitest';
import { ResourceCache } from '../../../src/cache/resource-cache.js';
import { envoyClusterGenerator, envoyEndpointGenerator, envoyListenerGenerator, envoyRouteGenerator } from '../../../src/generators/envoy/index.js';
import { vhostDomains } from '../../../src/generators/envoy/rds.js';
import { aRouteTable, aService, aSnapshot, aWorkload, canarySnapshot, GREETER, type SnapshotBuilder } from '../../helpers/builders.js';
import { anEnvoyProxy } from '../../helpers/envoy.js';
import { generate } from '../../helpers/generate.js';
import { recordingLogger } from '../../helpers/logger.js';

const WEB = 'web.shop.svc.cluster.local';
const DB = 'db.shop.svc.cluster.local';
const CACHE = 'cache.data.svc.cluster.local';
const EXT = 'api.example.com';
const EXT2 = 'pay.example.com';

/** web (HTTP 8080, HTTP2 9000), db (TCP 5432) and cache (TCP 5432, other namespace), two TLS APIs on 443. */
function mesh(): SnapshotBuilder {
  return aSnapshot()
    .withService(
      aService(WEB).inNamespace('shop').withPort('http', 8080, 'HTTP').withPort('h2', 9000, 'HTTP2').build(),
      aService(DB).inNamespace('shop').withPort('pg', 5432, 'TCP').build(),
      aService(CACHE).inNamespace('data').withPort('redis', 5432, 'TCP').build(),
      aService(EXT).inNamespace('shop').withPort('https', 443, 'TLS').build(),
      aService(EXT2).inNamespace('shop').withPort('https', 443, 'TLS').build(),
    )
    .withWorkloads({ ...aWorkload(WEB, 'web-1').at('10.0.0.5').withLabels({ app: 'web' }).build(), namespace: 'shop' });
}

function sidecars(yaml: string) {
  const parsed = parseConfigText(yaml, 'sidecar.yaml');
  return compileSidecars(parsed.objects).sidecars;
}

const WEB_PROXY = anEnvoyProxy({ ip: '10.0.0.5', namespace: 'shop', labels: { app: 'web' } });
const byName = (s: MeshSnapshot, g = envoyListenerGenerator, proxy = WEB_PROXY, names?: string[]) =>
  generate(g, s, { proxy, ...(names ? { names } : {}) });

describe('Envoy LDS', () => {
  it('REDIRECT: virtual listeners, one outbound listener per port (not bound), inbound chains by original port', () => {
    const { byName: l, logger } = byName(mesh().build());
    expect([...l.keys()]).toEqual(['0.0.0.0_443', '0.0.0.0_5432', '0.0.0.0_8080', '0.0.0.0_9000', 'virtualInbound', 'virtualOutbound']);
    const http = l.get('0.0.0.0_8080') as any;
    expect(http).toMatchObject({ address: { socket_address: { address: '0.0.0.0', port_value: 8080 } }, bind_to_port: { value: false }, traffic_direction: 'OUTBOUND' });
    const hcm = http.filter_chains[0].filters[0];
    expect(hcm.name).toBe('envoy.filters.network.http_connection_manager');
    expect(hcm.typed_config).toMatchObject({ stat_prefix: 'outbound_0.0.0.0_8080', rds: { route_config_name: '8080', config_source: { ads: {} } } });
    expect(hcm.typed_config.http_filters.map((f: any) => f.name)).toEqual(['envoy.filters.http.cors', 'envoy.filters.http.fault', 'envoy.filters.http.router']);

    // Two TCP services on 5432: the first by name gets the port, the other is reported.
    const tcp = l.get('0.0.0.0_5432') as any;
    expect(tcp.filter_chains).toHaveLength(1);
    expect(tcp.filter_chains[0].filters[0].typed_config).toMatchObject({ cluster: `outbound|5432||${CACHE}`, stat_prefix: `outbound|5432||${CACHE}` });
    expect(logger.at('warn').flatMap((x) => x.obj.warnings as string[])).toContain(
      `${DB}:5432 (TCP) shares the port with TCP service ${CACHE}, which gets the port (first by name; Isthmus has no service VIPs)`,
    );

    // TLS: one chain per SNI name, the TLS inspector, and the rest passes through.
    const tls = l.get('0.0.0.0_443') as any;
    expect(tls.listener_filters.map((f: any) => f.name)).toEqual(['envoy.filters.listener.tls_inspector']);
    expect(tls.filter_chains.map((c: any) => [c.filter_chain_match?.server_names, c.filters[0].typed_config.cluster])).toEqual([
      [[EXT], `outbound|443||${EXT}`],
      [[EXT2], `outbound|443||${EXT2}`],
      [undefined, 'PassthroughCluster'],
    ]);

    expect(l.get('virtualOutbound')).toMatchObject({
      address: { socket_address: { port_value: 15001 } },
      use_original_dst: { value: true },
      filter_chains: [{ filters: [{ typed_config: { cluster: 'PassthroughCluster' } }] }],
    });
    const inbound = l.get('virtualInbound') as any;
    expect(inbound.address.socket_address.port_value).toBe(15006);
    expect(inbound.listener_filters[0].name).toBe('envoy.filters.listener.original_dst');
    expect(inbound.filter_chains.map((c: any) => [c.filter_chain_match.destination_port.value, c.filters[0].name])).toEqual([
      [8080, 'envoy.filters.network.http_connection_manager'],
      [9000, 'envoy.filters.network.http_connection_manager'],
    ]);
    expect(inbound.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.cluster).toBe('inbound|8080||');
    expect(logger.at('error')).toEqual([]);
  });

  it('a TCP service on a port with HTTP services is reported; the HTTP routes get the port', () => {
    const s = mesh().withService(aService('raw.shop.svc.cluster.local').inNamespace('shop').withPort('raw', 8080, 'TCP').build()).build();
    const { byName: l, logger } = byName(s);
    expect((l.get('0.0.0.0_8080') as any).filter_chains[0].filters[0].name).toBe('envoy.filters.network.http_connection_manager');
    expect(logger.at('warn').flatMap((x) => x.obj.warnings as string[]).some((w) => w.startsWith('raw.shop.svc.cluster.local:8080 (TCP) shares the port with HTTP services'))).toBe(true);
  });

  it('a service on the interception ports 15001/15006 gets no listener, with a warning', () => {
    const s = mesh().withService(aService('odd.shop.svc.cluster.local').withPort('x', 15001, 'HTTP').build()).build();
    const { byName: l, logger } = byName(s);
    expect(l.has('0.0.0.0_15001')).toBe(false);
    expect(logger.at('warn').flatMap((x) => x.obj.warnings as string[]).some((w) => w.includes("port 15001: it is the sidecar's own interception port"))).toBe(true);
  });

  it('NONE: outbound listeners bound on 127.0.0.1, inbound ones on the workload IP, no virtual listeners', () => {
    const proxy = anEnvoyProxy({ ip: '10.0.0.5', namespace: 'shop', labels: { app: 'web' }, interception: 'NONE' });
    const s = mesh().withService(aService('other.shop.svc.cluster.local').withPort('http', 8080, 'HTTP').build()).build();
    const { byName: l, logger } = byName(s, envoyListenerGenerator, proxy);
    // 8080 and 9000 are the app's own ports (it listens on 127.0.0.1 there): no outbound listener.
    expect([...l.keys()]).toEqual(['10.0.0.5_8080', '10.0.0.5_9000', '127.0.0.1_443', '127.0.0.1_5432']);
    expect(l.get('127.0.0.1_5432')).not.toHaveProperty('bind_to_port');
    expect(l.get('10.0.0.5_8080')).toMatchObject({ address: { socket_address: { address: '10.0.0.5', port_value: 8080 } }, traffic_direction: 'INBOUND' });
    // No passthrough without interception: TLS connections that match no SNI are closed.
    expect((l.get('127.0.0.1_443') as any).filter_chains).toHaveLength(2);
    expect(logger.at('warn').flatMap((x) => x.obj.warnings as string[])).toContain(
      'no outbound listener for port 8080: the application listens on 127.0.0.1:8080 (an inbound port) in NONE interception mode',
    );
  });

  it("a Sidecar's REGISTRY_ONLY sends unknown destinations to the BlackHoleCluster; its egress hosts limit the listeners", () => {
    const s = mesh()
      .withSidecars(
        sidecars(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec:
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
  egress: [{ hosts: ["./*"] }]`),
      )
      .build();
    const { byName: l } = byName(s);
    expect([...l.keys()]).toEqual(['0.0.0.0_443', '0.0.0.0_5432', '0.0.0.0_8080', '0.0.0.0_9000', 'virtualInbound', 'virtualOutbound']);
    expect((l.get('0.0.0.0_5432') as any).filter_chains[0].filters[0].typed_config.cluster).toBe(`outbound|5432||${DB}`);
    expect((l.get('virtualOutbound') as any).filter_chains[0].filters[0].typed_config.cluster).toBe('BlackHoleCluster');
    expect((l.get('0.0.0.0_443') as any).filter_chains.at(-1).filters[0].typed_config.cluster).toBe('BlackHoleCluster');
  });

  it('without own workloads: outbound only, no virtualInbound', () => {
    const { byName: l } = byName(mesh().build(), envoyListenerGenerator, anEnvoyProxy({ namespace: 'shop' }));
    expect(l.has('virtualInbound')).toBe(false);
    expect(l.has('virtualOutbound')).toBe(true);
  });
});

describe('Envoy RDS', () => {
  it('one virtual host per HTTP service on the port, Kubernetes short names in the same namespace only', () => {
    expect(vhostDomains(WEB, 8080, 'shop')).toEqual([WEB, `${WEB}:8080`, 'web.shop.svc', 'web.shop.svc:8080', 'web.shop', 'web.shop:8080', 'web', 'web:8080']);
    expect(vhostDomains(WEB, 8080, 'other')).toEqual([WEB, `${WEB}:8080`, 'web.shop.svc', 'web.shop.svc:8080', 'web.shop', 'web.shop:8080']);
    expect(vhostDomains('greeter.service.consul', 50051, 'default')).toEqual(['greeter.service.consul', 'greeter.service.consul:50051']);
    const { byName: r } = byName(mesh().build(), envoyRouteGenerator, WEB_PROXY, ['8080', '9000', '5432', 'nope']);
    expect([...r.keys()]).toEqual(['8080', '9000']);
    const rc = r.get('8080') as any;
    expect(rc.virtual_hosts.map((v: any) => v.name)).toEqual([`${WEB}:8080`, 'allow_any']);
    expect(rc.virtual_hosts[0].routes[0].route.cluster).toBe(`outbound|8080||${WEB}`);
    expect(rc.virtual_hosts[1]).toMatchObject({ domains: ['*'], routes: [{ route: { cluster: 'PassthroughCluster' } }] });
  });

  it('translates the canary through the shared route translation, Envoy flavour', () => {
    const proxy = anEnvoyProxy({ namespace: 'default' });
    const rc = byName(canarySnapshot().build(), envoyRouteGenerator, proxy, ['50051']).byName.get('50051') as any;
    const [iphone, split] = rc.virtual_hosts[0].routes;
    expect(iphone.match).toEqual({ prefix: '/', headers: [{ name: 'x-device', string_match: { exact: 'iphone' } }] });
    expect(iphone.route.cluster).toBe(`outbound|50051|v2|${GREETER}`);
    expect(split.route.weighted_clusters.clusters.map((c: any) => [c.name, c.weight.value])).toEqual([
      [`outbound|50051|v1|${GREETER}`, 95],
      [`outbound|50051|v2|${GREETER}`, 5],
    ]);
    expect(split.route.timeout).toEqual({ seconds: 0, nanos: 0 });
  });

  it('drops a domain two services would share (Envoy refuses duplicates), with a warning', () => {
    // `a.b` is a service name and also the short form of a.b.svc.cluster.local.
    const s = aSnapshot()
      .withService(aService('a.b.svc.cluster.local').inNamespace('b').withPort('http', 80, 'HTTP').build(), aService('a.b').inNamespace('b').withPort('http', 80, 'HTTP').build())
      .build();
    const { byName: r, logger } = byName(s, envoyRouteGenerator, anEnvoyProxy({ namespace: 'b' }), ['80']);
    const hosts = (r.get('80') as any).virtual_hosts;
    expect(hosts[0].domains).toEqual(['a.b', 'a.b:80']);
    expect(hosts[1].domains).toEqual(['a.b.svc.cluster.local', 'a.b.svc.cluster.local:80', 'a.b.svc', 'a.b.svc:80', 'a', 'a:80']);
    expect(logger.at('warn').flatMap((x) => x.obj.warnings as string[])).toContain('domain a.b of a.b.svc.cluster.local is already served by a.b; left out');
  });

  it('a route to a service the Sidecar hides is left out with a warning; REGISTRY_ONLY blocks the rest', () => {
    const s = canarySnapshot()
      .withService(aService('other.default.svc.cluster.local').withPort('grpc', 50051).build())
      .withRoutes(aRouteTable(GREETER, [{ name: 'to-other', destinations: [{ host: 'other.default.svc.cluster.local', weight: 100 }] }]))
      .withSidecars(
        sidecars(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: default }
spec:
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
  egress: [{ hosts: ["./${GREETER}"] }]`),
      )
      .build();
    const { byName: r, logger } = byName(s, envoyRouteGenerator, anEnvoyProxy({ namespace: 'default' }), ['50051']);
    const rc = r.get('50051') as any;
    expect(rc.virtual_hosts.map((v: any) => v.name)).toEqual([`${GREETER}:50051`, 'block_all']);
    // Nothing of the table applies: the default route to the host itself.
    expect(rc.virtual_hosts[0].routes.map((x: any) => x.route.cluster)).toEqual([`outbound|50051||${GREETER}`]);
    expect(rc.virtual_hosts[1].routes[0].route.cluster).toBe('BlackHoleCluster');
    const warnings = logger.at('warn').flatMap((x) => x.obj.warnings as string[]);
    expect(warnings.some((w) => w.includes('is not visible to this proxy (Sidecar egress / exportTo)'))).toBe(true);
  });
});

describe('Envoy CDS and EDS', () => {
  it('EDS clusters per port and subset, HTTP/2 upstream for HTTP2/GRPC, inbound STATIC clusters, Istio catch-alls', () => {
    const { byName: c, logger } = byName(canarySnapshot().build(), envoyClusterGenerator, anEnvoyProxy({ ip: '10.0.0.1' }));
    expect([...c.keys()].sort()).toEqual(
      ['BlackHoleCluster', 'PassthroughCluster', 'inbound|50061||', 'inbound|50062||', `outbound|50051|v1|${GREETER}`, `outbound|50051|v2|${GREETER}`, `outbound|50051||${GREETER}`].sort(),
    );
    const out = c.get(`outbound|50051||${GREETER}`) as any;
    expect(out).toMatchObject({ type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: `outbound|50051||${GREETER}` }, lb_policy: 'ROUND_ROBIN', connect_timeout: { seconds: 10 } });
    expect(out.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config).toEqual({ http2_protocol_options: {} });
    expect(c.get('inbound|50061||')).toMatchObject({
      type: 'STATIC',
      load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 50061 } } } }] }] },
    });
    expect(c.get('PassthroughCluster')).toMatchObject({ type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' });
    expect(logger.at('error')).toEqual([]);
  });

  it('HTTP and TCP ports speak what the caller speaks (no HTTP/2 options); no catch-alls in NONE mode', () => {
    const proxy = anEnvoyProxy({ namespace: 'shop', interception: 'NONE' });
    const { byName: c } = byName(mesh().build(), envoyClusterGenerator, proxy);
    expect(c.get(`outbound|8080||${WEB}`)).not.toHaveProperty('typed_extension_protocol_options');
    expect(c.get(`outbound|5432||${DB}`)).not.toHaveProperty('typed_extension_protocol_options');
    expect(c.get(`outbound|9000||${WEB}`)).toHaveProperty('typed_extension_protocol_options');
    expect(c.has('PassthroughCluster')).toBe(false);
  });

  it('the Sidecar and exportTo limit clusters and endpoints', () => {
    const hidden = { ...aService('private.data.svc.cluster.local').inNamespace('data').withPort('http', 80, 'HTTP').build(), exportTo: ['.'] };
    const s = mesh()
      .withService(hidden)
      .withSidecars(
        sidecars(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: web, namespace: shop }
spec:
  workloadSelector: { labels: { app: web } }
  egress:
    - port: { number: 5432, name: pg, protocol: TCP }
      hosts: ["data/*"]
    - hosts: ["./*"]`),
      )
      .build();
    const outbound = (proxy = WEB_PROXY) =>
      [...byName(s, envoyClusterGenerator, proxy).byName.keys()].filter((n) => n.startsWith('outbound|')).sort();
    expect(outbound()).toEqual([`outbound|443||${EXT2}`, `outbound|443||${EXT}`, `outbound|5432||${CACHE}`, `outbound|8080||${WEB}`, `outbound|9000||${WEB}`].sort());
    // Another workload of the namespace (no Sidecar applies): everything exported to shop.
    expect(outbound(anEnvoyProxy({ namespace: 'shop', labels: { app: 'other' } }))).toContain(`outbound|5432||${DB}`);
    expect(outbound(anEnvoyProxy({ namespace: 'shop', labels: { app: 'other' } }))).not.toContain('outbound|80||private.data.svc.cluster.local');
    expect(outbound(anEnvoyProxy({ namespace: 'data' }))).toContain('outbound|80||private.data.svc.cluster.local');
    const eds = byName(s, envoyEndpointGenerator, WEB_PROXY, [`outbound|5432||${DB}`, `outbound|5432||${CACHE}`]).byName;
    expect([...eds.keys()]).toEqual([`outbound|5432||${CACHE}`]);
  });

  it('shares encoded clusters between proxies that see the same thing', () => {
    const s = mesh().build();
    const cache = ResourceCache.forGenerator(envoyClusterGenerator, recordingLogger());
    const a = generate(envoyClusterGenerator, s, { proxy: anEnvoyProxy({ id: 'a', namespace: 'shop' }), cache }).resources;
    const b = generate(envoyClusterGenerator, s, { proxy: anEnvoyProxy({ id: 'b', namespace: 'shop' }), cache }).resources;
    expect(b.map((r) => r.framed)).toEqual(a.map((r) => r.framed));
    expect(b[0]).toBe(a[0]);
  });

  it('EDS: one assignment per named outbound cluster, as for proxyless gRPC', () => {
    const { byName: e } = byName(canarySnapshot().build(), envoyEndpointGenerator, anEnvoyProxy(), [`outbound|50051|v2|${GREETER}`, 'inbound|50061||']);
    expect([...e.keys()]).toEqual([`outbound|50051|v2|${GREETER}`]);
    const cla = e.get(`outbound|50051|v2|${GREETER}`) as any;
    expect(cla.endpoints[0].lb_endpoints.map((l: any) => l.endpoint.address.socket_address.port_value)).toEqual([50062]);
  });
});

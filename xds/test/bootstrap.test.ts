import { describe, expect, it } from 'vitest';
import { buildBootstrap, XDS_CLUSTER_NAME } from '../src/bootstrap.js';
import { createProtoRoot } from '../src/protos/root.js';
import { checkShape } from '../src/protos/shape.js';

describe('buildBootstrap', () => {
  it('writes what grpc-js and C-core need for proxyless gRPC', () => {
    const b = buildBootstrap({
      nodeId: 'n1',
      serverUri: '10.1.2.3:15010',
      generator: 'grpc',
      namespace: 'shop',
      labels: { app: 'web', version: 'v2' },
      clusterId: 'c1',
    }) as any;
    expect(b.node).toEqual({
      id: 'n1',
      locality: {},
      metadata: { GENERATOR: 'grpc', NAMESPACE: 'shop', LABELS: { app: 'web', version: 'v2' }, CLUSTER_ID: 'c1' },
    });
    expect(b.xds_servers).toEqual([
      { server_uri: '10.1.2.3:15010', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', 'ignore_resource_deletion'] },
    ]);
    expect(b.server_listener_resource_name_template).toBe('grpc/server?xds.resource.listening_address=%s');
  });

  it('always has node.locality, even with nothing optional given', () => {
    const b = buildBootstrap({ nodeId: 'n', serverUri: 'xds.isthmus:15010', generator: 'grpc' }) as any;
    expect(b.node).toEqual({ id: 'n', locality: {}, metadata: { GENERATOR: 'grpc' } });
  });

  it('writes an Envoy bootstrap that matches envoy.config.bootstrap.v3.Bootstrap exactly', () => {
    const b = buildBootstrap({ nodeId: 'sidecar~10.0.0.1~web.shop~shop.svc.cluster.local', serverUri: 'isthmus.istio-system:15010', namespace: 'shop' }) as any;
    expect(b.node.metadata).toEqual({ NAMESPACE: 'shop' });
    expect(b.xds_servers).toBeUndefined();
    expect(b.dynamic_resources.ads_config).toMatchObject({ api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER_NAME } }] });
    const cluster = b.static_resources.clusters[0];
    expect(cluster).toMatchObject({ name: XDS_CLUSTER_NAME, type: 'STRICT_DNS' });
    expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: 'isthmus.istio-system',
      port_value: 15010,
    });
    const root = createProtoRoot([
      'envoy/config/bootstrap/v3/bootstrap.proto',
      'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
    ]);
    expect(checkShape(root.lookupType('envoy.config.bootstrap.v3.Bootstrap'), b, { json: true })).toEqual([]);
  });

  it('writes a complete Envoy sidecar bootstrap: admin, node metadata, HTTP/2 ads cluster, delta ADS when asked', () => {
    const root = createProtoRoot([
      'envoy/config/bootstrap/v3/bootstrap.proto',
      'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
    ]);
    const bootstrapType = root.lookupType('envoy.config.bootstrap.v3.Bootstrap');
    for (const delta of [false, true]) {
      const b = buildBootstrap({
        nodeId: 'sidecar~10.0.0.7~reviews-v1.shop~shop.svc.cluster.local',
        serverUri: '10.0.0.2:15010',
        namespace: 'shop',
        labels: { app: 'reviews', version: 'v1' },
        workloadName: 'reviews-v1-abc',
        instanceIps: ['10.0.0.7', 'fd00::7'],
        interceptionMode: 'NONE',
        delta,
      }) as any;
      expect(checkShape(bootstrapType, b, { json: true })).toEqual([]);
      expect(b.admin).toEqual({ address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } });
      expect(b.node).toEqual({
        id: 'sidecar~10.0.0.7~reviews-v1.shop~shop.svc.cluster.local',
        locality: {},
        metadata: {
          NAMESPACE: 'shop',
          LABELS: { app: 'reviews', version: 'v1' },
          WORKLOAD_NAME: 'reviews-v1-abc',
          INSTANCE_IPS: '10.0.0.7,fd00::7',
          INTERCEPTION_MODE: 'NONE',
        },
      });
      expect(b.dynamic_resources).toEqual({
        ads_config: {
          api_type: delta ? 'DELTA_GRPC' : 'GRPC',
          transport_api_version: 'V3',
          grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER_NAME } }],
          set_node_on_first_message_only: true,
        },
        cds_config: { ads: {}, resource_api_version: 'V3' },
        lds_config: { ads: {}, resource_api_version: 'V3' },
      });
      const ads = b.static_resources.clusters[0];
      expect(ads.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config).toEqual({
        http2_protocol_options: {},
      });
      // The real protobuf encoding accepts it too (proto3 JSON → message → JSON round trip).
      const message = bootstrapType.fromObject(
        JSON.parse(JSON.stringify({ ...b, static_resources: undefined, node: { id: b.node.id } })),
      );
      expect(bootstrapType.toObject(message, { enums: String }).dynamic_resources.ads_config.api_type).toBe(delta ? 'DELTA_GRPC' : 'GRPC');
    }
  });

  it('keeps Envoy-only metadata out of a proxyless gRPC bootstrap', () => {
    const b = buildBootstrap({ nodeId: 'n', serverUri: '10.0.0.9:15010', generator: 'grpc', instanceIps: ['10.0.0.1'], interceptionMode: 'NONE' }) as any;
    expect(b.node.metadata).toEqual({ GENERATOR: 'grpc' });
    expect(b.admin).toBeUndefined();
  });

  it('uses a STATIC cluster for an IP address and rejects a URI without a port', () => {
    const b = buildBootstrap({ nodeId: 'n', serverUri: '10.0.0.9:15010' }) as any;
    expect(b.static_resources.clusters[0].type).toBe('STATIC');
    expect(() => buildBootstrap({ nodeId: 'n', serverUri: 'isthmus' })).toThrow(/host:port/);
  });
});

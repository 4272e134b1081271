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

  it('uses a STATIC cluster for an IP address and rejects a URI without a port', () => {
    const b = buildBootstrap({ nodeId: 'n', serverUri: '10.0.0.9:15010' }) as any;
    expect(b.static_resources.clusters[0].type).toBe('STATIC');
    expect(() => buildBootstrap({ nodeId: 'n', serverUri: 'isthmus' })).toThrow(/host:port/);
  });
});

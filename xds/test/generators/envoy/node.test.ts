import { compileSidecars, parseConfigText } from '@isthmus/core';
import { describe, expect, it } from 'vitest';
import { inboundPorts, interceptionMode, nodeIps, ownWorkloads } from '../../../src/generators/envoy/node.js';
import { aService, aSnapshot, aWorkload } from '../../helpers/builders.js';
import { anEnvoyProxy } from '../../helpers/envoy.js';
import { proxyFromNode } from '../../../src/proxy.js';
import { jsonToStruct } from '../../../src/protos/struct.js';

const WEB = 'web.shop.svc.cluster.local';
const API = 'api.shop.svc.cluster.local';

function inShop(w: ReturnType<ReturnType<typeof aWorkload>['build']>) {
  return { ...w, namespace: 'shop' };
}

const snapshot = () =>
  aSnapshot()
    .withService(
      aService(WEB).inNamespace('shop').withPort('http', 8080, 'HTTP').withPort('metrics', 9090, 'TCP').build(),
      aService(API).inNamespace('shop').withPort('grpc', 50051, 'GRPC').build(),
    )
    .withWorkloads(
      inShop(aWorkload(WEB, 'k8s/c1/shop/web-1').at('10.0.0.5').withPort('http', 18080).withLabels({ app: 'web', version: 'v1' }).build()),
      inShop(aWorkload(WEB, 'k8s/c1/shop/web-2').at('10.0.0.6').withLabels({ app: 'web', version: 'v2' }).build()),
      inShop(aWorkload(API, 'k8s/c1/shop/api-1').at('10.0.0.5').withLabels({ app: 'api' }).build()),
    );

const node = (metadata: Record<string, unknown>, id = 'n1') => proxyFromNode({ id, metadata: jsonToStruct(metadata) });

describe('the sidecar node: own workloads, interception, inbound ports', () => {
  it('finds its workloads by IP: INSTANCE_IPS and the Istio-style node id', () => {
    const s = snapshot().build();
    expect(nodeIps(node({ INSTANCE_IPS: '10.0.0.5, fd00::1,not-an-ip' }, 'sidecar~10.0.0.9~x.shop~shop.svc.cluster.local'))).toEqual(['10.0.0.5', '10.0.0.9', 'fd00::1']);
    const byIp = ownWorkloads(s, anEnvoyProxy({ ip: '10.0.0.5', namespace: 'shop' }));
    expect(byIp.map((w) => w.id)).toEqual(['k8s/c1/shop/api-1', 'k8s/c1/shop/web-1']);
    // Another namespace: nothing.
    expect(ownWorkloads(s, anEnvoyProxy({ ip: '10.0.0.5', namespace: 'other' }))).toEqual([]);
  });

  it('by WORKLOAD_NAME (the registry id, or its last segment), else by LABELS, else none', () => {
    const s = snapshot().build();
    expect(ownWorkloads(s, node({ NAMESPACE: 'shop', WORKLOAD_NAME: 'web-2' })).map((w) => w.id)).toEqual(['k8s/c1/shop/web-2']);
    expect(ownWorkloads(s, node({ NAMESPACE: 'shop', WORKLOAD_NAME: 'k8s/c1/shop/web-1' })).map((w) => w.id)).toEqual(['k8s/c1/shop/web-1']);
    expect(ownWorkloads(s, node({ NAMESPACE: 'shop', LABELS: { app: 'web' } })).map((w) => w.id)).toEqual(['k8s/c1/shop/web-1', 'k8s/c1/shop/web-2']);
    expect(ownWorkloads(s, node({ NAMESPACE: 'shop' }))).toEqual([]);
  });

  it('inbound ports: every port of every own service, at the instance port, app on 127.0.0.1', () => {
    const s = snapshot().build();
    const proxy = anEnvoyProxy({ ip: '10.0.0.5', namespace: 'shop' });
    expect(inboundPorts(s, proxy, ownWorkloads(s, proxy))).toEqual([
      { port: 9090, protocol: 'TCP', endpoint: { address: '127.0.0.1', port: 9090 }, bindAddress: '10.0.0.5' },
      { port: 18080, protocol: 'HTTP', endpoint: { address: '127.0.0.1', port: 18080 }, bindAddress: '10.0.0.5' },
      { port: 50051, protocol: 'GRPC', endpoint: { address: '127.0.0.1', port: 50051 }, bindAddress: '10.0.0.5' },
    ]);
  });

  it("a Sidecar's ingress listeners replace them", () => {
    const { sidecars } = compileSidecars(
      parseConfigText(
        `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: web, namespace: shop }
spec:
  workloadSelector: { labels: { app: web } }
  ingress:
    - port: { number: 8080, protocol: HTTP, name: http }
      defaultEndpoint: 127.0.0.1:3000
    - port: { number: 9999, protocol: TCP, name: admin }
      defaultEndpoint: 0.0.0.0:9998
    - port: { number: 7000, name: x }
  egress: [{ hosts: ["./*"] }]`,
        'sc.yaml',
      ).objects,
    );
    const s = snapshot().withSidecars(sidecars).build();
    const proxy = anEnvoyProxy({ ip: '10.0.0.6', namespace: 'shop', labels: { app: 'web' } });
    expect(inboundPorts(s, proxy, ownWorkloads(s, proxy))).toEqual([
      { port: 7000, protocol: 'TCP', endpoint: { address: '127.0.0.1', port: 7000 }, bindAddress: '10.0.0.6' },
      { port: 8080, protocol: 'HTTP', endpoint: { address: '127.0.0.1', port: 3000 }, bindAddress: '10.0.0.6' },
      { port: 9999, protocol: 'TCP', endpoint: { address: '10.0.0.6', port: 9998 }, bindAddress: '10.0.0.6' },
    ]);
  });

  it('interception mode from INTERCEPTION_MODE, REDIRECT by default', () => {
    expect(interceptionMode(node({}))).toBe('REDIRECT');
    expect(interceptionMode(node({ INTERCEPTION_MODE: 'none' }))).toBe('NONE');
    expect(interceptionMode(node({ INTERCEPTION_MODE: 'TPROXY' }))).toBe('REDIRECT');
  });
});

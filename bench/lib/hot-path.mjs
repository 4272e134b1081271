// W6 hot path, in this process: Isthmus's own encode path (shape + PGV + client checks,
// then protobufjs encode) for a 1,000-endpoint ClusterLoadAssignment and a 3,000-cluster
// CDS response, and assembling a response from pre-encoded resources.
import { performance } from 'node:perf_hooks';
import { RESOURCE_TYPES, CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '@isthmus/xds';
import { encodeResource } from '../../xds/dist/resources/encoded.js';
import { encodeDiscoveryResponse, responseVersion } from '../../xds/dist/protocol/response.js';
import { edsCluster } from '../../xds/dist/generators/grpc/cds.js';

function timeIt(fn, iterations) {
  fn(); // warm up
  const ms = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50Ms: ms[Math.floor(ms.length / 2)], p99Ms: ms[Math.min(ms.length - 1, Math.ceil(ms.length * 0.99) - 1)], maxMs: ms[ms.length - 1] };
}

export async function hotPath({ endpoints, clusters, sends }) {
  const rows = [];
  const edsType = RESOURCE_TYPES.get(ENDPOINT_TYPE_URL);
  const cdsType = RESOURCE_TYPES.get(CLUSTER_TYPE_URL);
  const lbEndpoints = [];
  for (let e = 0; e < endpoints; e++) {
    lbEndpoints.push({ endpoint: { address: { socket_address: { address: `10.${(e >> 16) & 255}.${(e >> 8) & 255}.${e & 255}`, port_value: 50051 } } },
      health_status: 'HEALTHY', load_balancing_weight: { value: 1 } });
  }
  const cla = { cluster_name: 'outbound|50051||big.default.svc.cluster.local', endpoints: [{ locality: {}, lb_endpoints: lbEndpoints, load_balancing_weight: { value: endpoints } }] };
  let claBytes = 0;
  const claT = timeIt(() => {
    const r = encodeResource(edsType, cla.cluster_name, cla, 'grpc');
    if (!r.valid) throw new Error(r.errors.join('; '));
    claBytes = r.value.framed.length;
  }, sends);
  rows.push({ scenario: 'W6', metric: `encode ClusterLoadAssignment (${endpoints} endpoints)`, endpointsPerService: endpoints, ...claT, bytes: claBytes });

  const names = Array.from({ length: clusters }, (_, i) => `outbound|50051||svc-${i}.default.svc.cluster.local`);
  let encoded = [];
  const cdsT = timeIt(() => {
    encoded = names.map((n) => {
      const r = encodeResource(cdsType, n, { ...edsCluster(n), name: n }, 'grpc');
      if (!r.valid) throw new Error(r.errors.join('; '));
      return r.value;
    });
  }, Math.max(3, Math.round(sends / 10)));
  rows.push({ scenario: 'W6', metric: `encode CDS response (${clusters} clusters, every resource)`, services: clusters, ...cdsT });
  let respBytes = 0;
  const asmT = timeIt(() => {
    respBytes = encodeDiscoveryResponse({ versionInfo: responseVersion(encoded), typeUrl: CLUSTER_TYPE_URL, nonce: '1', resources: encoded, controlPlaneId: 'bench' }).length;
  }, sends);
  rows.push({ scenario: 'W6', metric: `assemble CDS response (${clusters} pre-encoded clusters)`, services: clusters, ...asmT, bytes: respBytes });
  return rows;
}

// node bench/eds-bytes.mjs [endpoints=10] [--service K] [--json]
// What one endpoint change costs on the wire, byte by byte: the W2 change (one endpoint of
// a bench service moves) as Isthmus sends it to one watching proxyless-gRPC proxy, in delta
// (one DeltaDiscoveryResponse) and in state of the world (one DiscoveryResponse holding only
// the changed assignment). Built with the real generator, cache and response encoders (the
// build in xds/dist), then walked field by field: each field's tag and length bytes
// ("framing") and its content.
import protobuf from 'protobufjs';
import { InMemoryBus, MeshEngine, silentLogger } from '@isthmus/core';
import { xdsProtoRoot, ENDPOINT_TYPE_URL } from '@isthmus/xds';
import { grpcEndpointGenerator } from '../xds/dist/generators/grpc/eds.js';
import { ResourceCache } from '../xds/dist/cache/resource-cache.js';
import { encodeDeltaDiscoveryResponse, encodeDiscoveryResponse, responseVersion } from '../xds/dist/protocol/response.js';
import { proxyFromNode } from '../xds/dist/proxy.js';

const args = process.argv.slice(2);
const K = args.includes('--service') ? Number(args.splice(args.indexOf('--service'), 2)[1]) : 500;
const E = Number(args.find((a) => /^\d+$/.test(a)) ?? 10);
const asJson = args.includes('--json');
// A mid-range bench service: its addresses are as long as the W2 average (`10.1.244.7`).
const HOST = `svc-${K}.default.svc.cluster.local`;
const NAME = `outbound|50051||${HOST}`;

// The bench's service K, as bench/server.mjs publishes it (one endpoint moved).
const bus = new InMemoryBus();
const engine = new MeshEngine(bus, { logger: silentLogger() });
engine.start();
const workloads = Array.from({ length: E }, (_, e) => ({
  id: `svc-${K}-${e}`, hostname: HOST, namespace: 'default', address: `10.${(K >> 8) & 255}.${K & 255}.${e + 1}`, ports: { grpc: e === 1 ? 50052 : 50051 },
  labels: { app: `svc-${K}` }, health: 'HEALTHY', locality: {}, weight: 1, source: 'bench/1',
}));
await bus.registry.put('bench/1', { shard: { source: 'bench/1', workloads,
  services: [{ hostname: HOST, namespace: 'default', ports: [{ name: 'grpc', number: 50051, protocol: 'GRPC' }], labels: {}, sources: ['bench/1'], exportTo: ['*'] }] },
  synced: true, stale: false, updatedAt: '' });
engine.flush();
const snapshot = engine.current();
engine.stop();
const proxy = proxyFromNode({ id: 'p', metadata: { fields: { GENERATOR: { stringValue: 'grpc' } } } });
const memo = new ResourceCache(grpcEndpointGenerator.resourceType, 'grpc', { debug() {}, info() {}, warn() {}, error() {} });
const [cla] = grpcEndpointGenerator.generate({ snapshot, proxy, names: new Set([NAME]), memo });

// Typical values in the W2 run: a nonce after a dozen responses on the stream, the bench's server id.
const common = { typeUrl: ENDPOINT_TYPE_URL, nonce: 'a1b2c3-12', controlPlaneId: 'bench' };
const delta = encodeDeltaDiscoveryResponse({ ...common, systemVersionInfo: responseVersion([cla]), resources: [cla], removed: [] });
const sotw = encodeDiscoveryResponse({ ...common, versionInfo: responseVersion([cla]), resources: [cla] });

const root = xdsProtoRoot();
const sizes = new Map();
const add = (path, n) => sizes.set(path, (sizes.get(path) ?? 0) + n);

/** Attributes every byte of `buf` (a `type` message) to a field path: "+framing" or its content. */
function walk(type, buf, path) {
  const r = protobuf.Reader.create(buf);
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const field = type.fieldsById[tag >>> 3];
    const p = `${path}${path ? '.' : ''}${field?.name ?? `#${tag >>> 3}`}`;
    if ((tag & 7) === 2) {
      const len = r.uint32();
      const body = r.buf.subarray(r.pos, r.pos + len);
      r.pos += len;
      add(`${p} +framing`, body.byteOffset - buf.byteOffset - start);
      const resolved = field?.resolve().resolvedType;
      if (resolved instanceof protobuf.Type && resolved.fullName !== '.google.protobuf.Any') walk(resolved, body, p);
      else if (resolved?.fullName === '.google.protobuf.Any') walkAny(body, p);
      else add(p, len);
    } else {
      r.skipType(tag & 7);
      add(p, r.pos - start);
    }
  }
}
function walkAny(buf, path) {
  const any = root.lookupType('google.protobuf.Any').decode(buf);
  const inner = root.lookupType(any.type_url.slice(any.type_url.lastIndexOf('/') + 1));
  const value = Buffer.from(any.value);
  add(`${path}.type_url`, Buffer.byteLength(any.type_url));
  add(`${path}.type_url +framing`, 2);
  add(`${path}.value +framing`, buf.length - Buffer.byteLength(any.type_url) - 2 - value.length);
  walk(inner, value, `${path}.value`);
}

function report(title, type, buf) {
  sizes.clear();
  walk(root.lookupType(type), buf, '');
  const rows = [['gRPC message header', 5], ...[...sizes].sort((a, b) => b[1] - a[1])];
  const total = rows.reduce((a, [, n]) => a + n, 0);
  if (asJson) return { title, total, rows };
  console.log(`\n${title}: ${total} B on the wire (${E} endpoints; one watching proxy)`);
  for (const [k, n] of rows) console.log(`${String(n).padStart(6)}  ${k}`);
  return { title, total, rows };
}
const out = [
  report('delta: DeltaDiscoveryResponse with the changed ClusterLoadAssignment', 'envoy.service.discovery.v3.DeltaDiscoveryResponse', delta),
  report('SotW: DiscoveryResponse with the changed ClusterLoadAssignment only', 'envoy.service.discovery.v3.DiscoveryResponse', sotw),
];
if (asJson) console.log(JSON.stringify(out, null, 2));

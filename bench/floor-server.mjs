// Transport floor: a minimal ADS server with no model, rules, generation or validation.
// It pre-encodes one Listener, RouteConfiguration, Cluster and ClusterLoadAssignment per
// synthetic service, answers each subscription with them, ignores ACKs, and on a change
// re-encodes the one resource and pushes it to the streams subscribed to it. It speaks
// state-of-the-world and delta ADS (delta: each resource with a short counter version, no
// system_version_info). Same IPC commands as server.mjs, so the same load generator and
// scenarios run against it.
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { xdsProtoRoot } from '@isthmus/xds';

const S = Number(process.env.BENCH_SERVICES ?? 100);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const now = () => performance.timeOrigin + performance.now();
const host = (k) => `svc-${k}.default.svc.cluster.local`;
const cluster = (k) => `outbound|50051||${host(k)}`;
const T = {
  LDS: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RDS: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  CDS: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  EDS: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
};
const root = xdsProtoRoot();
const type = (n) => root.lookupType(n);
const Req = type('envoy.service.discovery.v3.DiscoveryRequest');
const DReq = type('envoy.service.discovery.v3.DeltaDiscoveryRequest');
const Any = type('google.protobuf.Any');
const any = (typeUrl, message, obj) => ({ type_url: typeUrl, value: type(message).encode(type(message).fromObject(obj)).finish() });
/** A `resources` entry of a DiscoveryResponse (field 2), ready to concatenate. */
const framed = (a) => protobuf.Writer.create().uint32((2 << 3) | 2).bytes(Any.encode(a).finish()).finish();
const ads = { ads: {}, resource_api_version: 'V3' };

const resources = { [T.LDS]: new Map(), [T.RDS]: new Map(), [T.CDS]: new Map(), [T.EDS]: new Map() };
const route = (k, timeout) => framed(any(T.RDS, 'envoy.config.route.v3.RouteConfiguration', { name: `${host(k)}:50051`,
  virtual_hosts: [{ name: host(k), domains: [`${host(k)}:50051`, host(k)], routes: [{ match: { prefix: '' }, route: { cluster: cluster(k), ...(timeout ? { timeout: { seconds: timeout } } : {}) } }] }] }));
const assignment = (k, gen) => framed(any(T.EDS, 'envoy.config.endpoint.v3.ClusterLoadAssignment', { cluster_name: cluster(k),
  endpoints: [{ locality: {}, load_balancing_weight: { value: E }, lb_endpoints: Array.from({ length: E }, (_, e) => ({
    endpoint: { address: { socket_address: { address: `10.${(k >> 8) & 255}.${k & 255}.${e + 1}`, port_value: e === gen % E ? 50051 + (gen % 1000) : 50051 } } },
    health_status: 'HEALTHY', load_balancing_weight: { value: 1 } })) }] }));
for (let k = 0; k < S; k++) {
  const name = `${host(k)}:50051`;
  const hcm = any('type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    { stat_prefix: name, rds: { route_config_name: name, config_source: ads },
      http_filters: [{ name: 'router', typed_config: { type_url: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', value: Buffer.alloc(0) } }] });
  resources[T.LDS].set(name, framed(any(T.LDS, 'envoy.config.listener.v3.Listener', { name, api_listener: { api_listener: hcm } })));
  resources[T.RDS].set(name, route(k, 0));
  resources[T.CDS].set(cluster(k), framed(any(T.CDS, 'envoy.config.cluster.v3.Cluster', { name: cluster(k), type: 'EDS', eds_cluster_config: { eds_config: ads, service_name: cluster(k) } })));
  resources[T.EDS].set(cluster(k), assignment(k, 0));
}

let version = 0;
function response(typeUrl, names) {
  const v = String(++version);
  const head = protobuf.Writer.create().uint32((1 << 3) | 2).string(v).finish();
  const tail = protobuf.Writer.create().uint32((4 << 3) | 2).string(typeUrl).uint32((5 << 3) | 2).string(v).finish();
  const parts = [head];
  for (const n of names) { const r = resources[typeUrl].get(n); if (r) parts.push(r); }
  parts.push(tail);
  return Buffer.concat(parts);
}

/** Per resource (type, name): a version that changes with it, for delta responses. */
const versions = new Map();
const versionOf = (typeUrl, name) => versions.get(`${typeUrl}|${name}`) ?? '0';
let nonce = 0;
/** DeltaDiscoveryResponse: Resource{version = 1, resource = 2 (the framed Any), name = 3} per name, type_url = 4, nonce = 5. */
function deltaResponse(typeUrl, names) {
  const parts = [];
  for (const n of names) {
    const r = resources[typeUrl].get(n);
    if (!r) continue;
    const v = protobuf.Writer.create().uint32((1 << 3) | 2).string(versionOf(typeUrl, n)).finish();
    const name = protobuf.Writer.create().uint32((3 << 3) | 2).string(n).finish();
    parts.push(protobuf.Writer.create().uint32((2 << 3) | 2).uint32(v.length + r.length + name.length).finish(), v, r, name);
  }
  parts.push(protobuf.Writer.create().uint32((4 << 3) | 2).string(typeUrl).uint32((5 << 3) | 2).string(String(++nonce)).finish());
  return Buffer.concat(parts);
}

const streams = new Set();
const deltaStreams = new Set();
function deltaHandler(call) {
  const s = { call, subs: new Map() };
  deltaStreams.add(s);
  call.on('data', (req) => {
    const subs = s.subs.get(req.type_url) ?? new Set();
    s.subs.set(req.type_url, subs);
    const added = (req.resource_names_subscribe ?? []).filter((n) => !subs.has(n));
    for (const n of added) subs.add(n);
    for (const n of req.resource_names_unsubscribe ?? []) subs.delete(n);
    // ACKs (a nonce, no subscription change) are ignored; new names get their resources.
    if (added.length > 0) call.write(deltaResponse(req.type_url, added));
  });
  const drop = () => deltaStreams.delete(s);
  call.on('end', () => { drop(); call.end(); });
  call.on('error', drop);
  call.on('cancelled', drop);
}

function handler(call) {
  const s = { call, subs: new Map() };
  streams.add(s);
  call.on('data', (req) => {
    const names = req.resource_names ?? [];
    const prev = s.subs.get(req.type_url);
    const same = prev && prev.size === names.length && names.every((n) => prev.has(n));
    if (same && req.response_nonce) return; // an ACK
    s.subs.set(req.type_url, new Set(names));
    call.write(response(req.type_url, names));
  });
  const drop = () => streams.delete(s);
  call.on('end', () => { drop(); call.end(); });
  call.on('error', drop);
  call.on('cancelled', drop);
}
function push(typeUrl, name) {
  versions.set(`${typeUrl}|${name}`, String(Number(versionOf(typeUrl, name)) + 1));
  for (const s of streams) if (s.subs.get(typeUrl)?.has(name)) s.call.write(response(typeUrl, [name]));
  for (const s of deltaStreams) if (s.subs.get(typeUrl)?.has(name)) s.call.write(deltaResponse(typeUrl, [name]));
}

const server = new grpc.Server();
server.addService({
  StreamAggregatedResources: { path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
    requestStream: true, responseStream: true, requestSerialize: (o) => Buffer.from(Req.encode(o).finish()), requestDeserialize: (b) => Req.decode(b),
    responseSerialize: (b) => b, responseDeserialize: (b) => b },
  DeltaAggregatedResources: { path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources',
    requestStream: true, responseStream: true, requestSerialize: (o) => Buffer.from(DReq.encode(o).finish()), requestDeserialize: (b) => DReq.decode(b),
    responseSerialize: (b) => b, responseDeserialize: (b) => b },
}, { StreamAggregatedResources: handler, DeltaAggregatedResources: deltaHandler });
const port = await new Promise((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));

const gens = new Map();
let vsGen = 0;
process.on('message', (m) => {
  if (m.cmd === 'endpoint') {
    const t = now();
    const g = (gens.get(m.k) ?? 0) + 1;
    gens.set(m.k, g);
    resources[T.EDS].set(cluster(m.k), assignment(m.k, g));
    push(T.EDS, cluster(m.k));
    process.send({ id: m.id, t });
  } else if (m.cmd === 'vs') {
    const t = now();
    resources[T.RDS].set(`${host(m.k)}:50051`, route(m.k, ++vsGen));
    push(T.RDS, `${host(m.k)}:50051`);
    process.send({ id: m.id, t });
  } else if (m.cmd === 'stats') {
    if (m.gc && globalThis.gc) { globalThis.gc(); globalThis.gc(); }
    const cpu = process.cpuUsage();
    process.send({ id: m.id, cpuSeconds: (cpu.user + cpu.system) / 1e6, rss: process.memoryUsage().rss, streams: streams.size + deltaStreams.size });
  } else if (m.cmd === 'blast') {
    // W6: one pre-encoded response (the EDS of service 1) written `times` to every stream;
    // done when grpc-js has handed every write to HTTP/2 (its write callbacks).
    const buf = response(T.EDS, [cluster(1)]);
    const targets = [...streams];
    const t = performance.now();
    let left = targets.length * m.times;
    for (let i = 0; i < m.times; i++) for (const s of targets) s.call.write(buf, () => {
      if (--left === 0) process.send({ id: m.id, ms: performance.now() - t, sends: targets.length * m.times, bytes: buf.length });
    });
  } else if (m.cmd === 'stop') {
    server.forceShutdown();
    process.exit(0);
  }
});
process.send({ ready: true, port });

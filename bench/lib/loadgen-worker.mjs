// One load-generator thread: many simulated proxyless-gRPC proxies, each a real ADS stream
// (grpc-js, the real Envoy protos), subscribing the way grpc-js does: LDS for its
// listeners, then RDS, CDS and EDS for the names it receives; every response is ACKed.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { xdsProtoRoot } from '@isthmus/xds';

const T = {
  LDS: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RDS: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  CDS: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  EDS: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
};
const TYPE_CHAR = { [T.LDS]: 'L', [T.RDS]: 'R', [T.CDS]: 'C', [T.EDS]: 'E' };
const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const root = xdsProtoRoot();
const Req = root.lookupType('envoy.service.discovery.v3.DiscoveryRequest');
const Res = root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
const Listener = root.lookupType('envoy.config.listener.v3.Listener');
const Hcm = root.lookupType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
const Route = root.lookupType('envoy.config.route.v3.RouteConfiguration');
const Cluster = root.lookupType('envoy.config.cluster.v3.Cluster');
const now = () => performance.timeOrigin + performance.now();

const { port, proxies, streamsPerChannel, mode = 'sotw' } = workerData;
const DELTA = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';
const DReq = root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
const DRes = root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
const clients = [];
let events = [];
let bytes = 0;
let responses = 0;
let nacks = 0;

/** cluster_name (field 1) of an encoded ClusterLoadAssignment, without decoding the rest. */
function firstStringField(buf) {
  if (buf[0] !== 0x0a) return '';
  let len = 0, shift = 0, i = 1, b;
  do { b = buf[i++]; len |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
  return Buffer.from(buf.buffer, buf.byteOffset + i, len).toString('utf8');
}

function namesFrom(typeUrl, resources) {
  const out = new Set();
  for (const any of resources) {
    if (typeUrl === T.LDS) {
      const l = Listener.decode(any.value);
      const hcm = Hcm.decode(l.api_listener.api_listener.value);
      if (hcm.rds) out.add(hcm.rds.route_config_name);
    } else if (typeUrl === T.RDS) {
      for (const vh of Route.decode(any.value).virtual_hosts) for (const r of vh.routes) {
        if (r.route?.cluster) out.add(r.route.cluster);
        for (const w of r.route?.weighted_clusters?.clusters ?? []) out.add(w.name);
      }
    } else if (typeUrl === T.CDS) {
      const c = Cluster.decode(any.value);
      out.add(c.eds_cluster_config?.service_name || c.name);
    }
  }
  return out;
}
const NEXT = { [T.LDS]: T.RDS, [T.RDS]: T.CDS, [T.CDS]: T.EDS };

function startProxy(p, client) {
  const state = new Map(); // typeUrl → { names:Set, version, nonce, held: Map name→Buffer }
  let sentNode = false;
  let readyAt = 0;
  const call = client.makeBidiStreamRequest(ADS, (o) => Buffer.from(Req.encode(o).finish()), (buf) => {
    bytes += buf.length + 5; // + gRPC message header
    return Res.decode(buf);
  });
  const send = (typeUrl) => {
    const s = state.get(typeUrl);
    const req = { type_url: typeUrl, resource_names: [...s.names], version_info: s.version, response_nonce: s.nonce };
    if (!sentNode) {
      // protobufjs's Struct is camelCase (stringValue): snake_case would encode empty (XDS-INTEROP).
      req.node = { id: `bench-proxy-${p.idx}`, metadata: { fields: { GENERATOR: { stringValue: 'grpc' } } } };
      sentNode = true;
    }
    call.write(req);
  };
  const subscribe = (typeUrl, names) => {
    const s = state.get(typeUrl) ?? { names: new Set(), version: '', nonce: '', held: new Map() };
    state.set(typeUrl, s);
    const same = s.names.size === names.size && [...names].every((n) => s.names.has(n));
    if (same && s.subscribed) return;
    s.names = names;
    s.subscribed = true;
    send(typeUrl);
  };
  call.on('data', (r) => {
    responses++;
    const s = state.get(r.type_url);
    if (!s) return;
    s.version = r.version_info;
    s.nonce = r.nonce;
    send(r.type_url); // ACK right away (the names are unchanged)
    const t = now();
    const c = TYPE_CHAR[r.type_url];
    // A SotW push of assignments or route configs may carry only some of them (gRPC
    // clients keep the others, gRFC A27): those are held by name (field 1 of both).
    const partial = c === 'E' || c === 'R';
    const held = new Map();
    for (const any of r.resources) {
      const name = partial ? firstStringField(any.value) : null;
      const key = name ?? `${c}${held.size}`;
      const prev = s.held.get(key);
      if (!prev || !prev.equals(any.value)) events.push([p.idx, c, c === 'E' ? name : '', t]);
      held.set(key, Buffer.from(any.value));
    }
    if (partial) for (const [k, v] of s.held) if (!held.has(k) && s.names.has(k)) held.set(k, v);
    s.held = held;
    const next = NEXT[r.type_url];
    // The next type's names come from everything held of this type, not only this response.
    if (next) subscribe(next, namesFrom(r.type_url, [...held.values()].map((value) => ({ value }))));
    if (!readyAt) {
      const eds = state.get(T.EDS);
      if (eds && eds.names.size > 0 && [...eds.names].every((n) => eds.held.has(n))) {
        readyAt = t;
        parentPort.postMessage({ ready: p.idx, t });
      }
    }
  });
  call.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) parentPort.postMessage({ streamError: p.idx, message: e.message }); });
  subscribe(T.LDS, new Set(p.listeners));
  return call;
}

/** The same proxy over incremental xDS: subscribes by difference, ACKs every response by nonce. */
function startDeltaProxy(p, client) {
  const state = new Map(); // typeUrl → { names:Set, held: Map name→version }
  let sentNode = false;
  let readyAt = 0;
  const call = client.makeBidiStreamRequest(DELTA, (o) => Buffer.from(DReq.encode(o).finish()), (buf) => {
    bytes += buf.length + 5;
    return DRes.decode(buf);
  });
  const write = (req) => {
    if (!sentNode) {
      req.node = { id: `bench-proxy-${p.idx}`, metadata: { fields: { GENERATOR: { stringValue: 'grpc' } } } };
      sentNode = true;
    }
    call.write(req);
  };
  const subscribe = (typeUrl, names) => {
    const s = state.get(typeUrl) ?? { names: new Set(), held: new Map(), started: false };
    state.set(typeUrl, s);
    const add = [...names].filter((n) => !s.names.has(n));
    const drop = [...s.names].filter((n) => !names.has(n));
    if (s.started && add.length === 0 && drop.length === 0) return;
    s.started = true;
    s.names = names;
    write({ type_url: typeUrl, resource_names_subscribe: add, resource_names_unsubscribe: drop });
  };
  call.on('data', (r) => {
    responses++;
    const s = state.get(r.type_url);
    if (!s) return;
    write({ type_url: r.type_url, response_nonce: r.nonce }); // ACK
    const t = now();
    const c = TYPE_CHAR[r.type_url];
    for (const res of r.resources) {
      if (s.held.get(res.name) !== res.version) events.push([p.idx, c, c === 'E' ? res.name : '', t]);
      s.held.set(res.name, res.version);
    }
    for (const n of r.removed_resources ?? []) s.held.delete(n);
    const next = NEXT[r.type_url];
    if (next) {
      // Names come from every resource held of this type, not only the ones in this response.
      const all = new Map(s.anys ?? []);
      for (const res of r.resources) if (res.resource) all.set(res.name, res.resource);
      for (const n of r.removed_resources ?? []) all.delete(n);
      s.anys = all;
      subscribe(next, namesFrom(r.type_url, [...all.values()]));
    }
    if (!readyAt) {
      const eds = state.get(T.EDS);
      if (eds && eds.names.size > 0 && [...eds.names].every((n) => eds.held.has(n))) {
        readyAt = t;
        parentPort.postMessage({ ready: p.idx, t });
      }
    }
  });
  call.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) parentPort.postMessage({ streamError: p.idx, message: e.message }); });
  subscribe(T.LDS, new Set(p.listeners));
  return call;
}

const calls = [];
parentPort.on('message', (m) => {
  if (m.cmd === 'connect') {
    for (let i = 0; i < proxies.length; i++) {
      if (i % streamsPerChannel === 0) {
        clients.push(new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': 64 << 20,
        }));
      }
      calls.push((mode === 'delta' ? startDeltaProxy : startProxy)(proxies[i], clients[clients.length - 1]));
    }
  } else if (m.cmd === 'collect') {
    parentPort.postMessage({ collected: true, events, bytes, responses, nacks });
    events = [];
    bytes = 0;
    responses = 0;
  } else if (m.cmd === 'close') {
    for (const c of calls) c.cancel();
    for (const c of clients) c.close();
    parentPort.postMessage({ closed: true });
  }
});
parentPort.postMessage({ loaded: true });

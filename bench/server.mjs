// Control plane under test, in its own process: XdsServer fed by a MeshEngine over the
// InMemoryBus, with one synthetic registry shard the parent drives over IPC.
import { performance } from 'node:perf_hooks';
import { InMemoryBus, MeshEngine, silentLogger } from '@isthmus/core';
import { XdsServer } from '@isthmus/xds';

const S = Number(process.env.BENCH_SERVICES ?? 100);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const DEBOUNCE = Number(process.env.BENCH_DEBOUNCE_MS ?? 100);
const MAX_DELAY = Number(process.env.BENCH_MAX_DELAY_MS ?? 1000);
const ENDPOINT_INTERVAL = Number(process.env.BENCH_ENDPOINT_INTERVAL_MS ?? 0);
const ENDPOINT_SHARE = Number(process.env.BENCH_ENDPOINT_BUILD_SHARE ?? 0.25);
const SOURCE = 'bench/1';
export const host = (k) => `svc-${k}.default.svc.cluster.local`;
const now = () => performance.timeOrigin + performance.now();

const services = [];
const workloads = [];
for (let k = 0; k < S; k++) {
  services.push({ hostname: host(k), namespace: 'default', ports: [{ name: 'grpc', number: 50051, protocol: 'GRPC' }], labels: { app: `svc-${k}` }, sources: [SOURCE], exportTo: ['*'] });
  for (let e = 0; e < E; e++) workloads.push(workload(k, e, 0));
}
function workload(k, e, gen) {
  return {
    id: `svc-${k}-${e}`, hostname: host(k), namespace: 'default',
    address: `10.${(k >> 8) & 255}.${k & 255}.${(e + gen * E) % 250 + 1}`,
    ports: { grpc: 50051 + (gen % 1000) }, labels: { app: `svc-${k}` }, health: 'HEALTHY', locality: {}, weight: 1, source: SOURCE,
  };
}
const gens = new Map();
// BENCH_FRESH_OBJECTS=1: republish every workload as a new object, as an adapter that maps
// each platform listing afresh does (the default keeps unchanged objects, as in-process
// adapters can); the registry then compares by structure instead of identity.
const FRESH = process.env.BENCH_FRESH_OBJECTS === '1';
const copy = (w) => ({ ...w, ports: { ...w.ports }, labels: { ...w.labels }, locality: { ...w.locality } });
const publish = () =>
  bus.registry.put(SOURCE, { shard: { source: SOURCE, services: FRESH ? services.map((s) => ({ ...s })) : services, workloads: FRESH ? workloads.map(copy) : [...workloads] },
    synced: true, stale: false, updatedAt: new Date().toISOString() });

const bus = new InMemoryBus();
const engine = new MeshEngine(bus, { logger: silentLogger(), debounceMs: DEBOUNCE, debounceLeadingEdge: process.env.BENCH_DEBOUNCE_LEADING_EDGE !== '0', maxDelayMs: MAX_DELAY, endpointIntervalMs: ENDPOINT_INTERVAL, endpointBuildShare: ENDPOINT_SHARE });
const xds = new XdsServer({ serverId: 'bench' });
let lastSnapshotAt = 0;
engine.requireRegistrySource(SOURCE);
engine.onSnapshot((s) => {
  xds.setSnapshot(s);
  lastSnapshotAt = now();
});
engine.start();
await publish();
while (!engine.isReady()) await new Promise((r) => setTimeout(r, 20));
const port = await xds.listen('127.0.0.1', 0);

let vsGen = 0;
process.on('message', async (m) => {
  if (m.cmd === 'endpoint') {
    // One endpoint of service k moves (new port): the adapter republishes its whole shard.
    const g = (gens.get(m.k) ?? 0) + 1;
    gens.set(m.k, g);
    const e = g % E;
    workloads[m.k * E + e] = workload(m.k, e, g);
    const t = now();
    await publish();
    process.send({ id: m.id, t });
  } else if (m.cmd === 'vs') {
    // A VirtualService on service m.k: its route timeout changes on every call.
    vsGen++;
    const vs = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: `vs-${m.k}`, namespace: 'default' },
      spec: { hosts: [host(m.k)], http: [{ timeout: `${vsGen}s`, route: [{ destination: { host: host(m.k) } }] }] } };
    const t = now();
    await bus.config.put('bench', { source: 'bench', objects: [{ object: vs, origin: 'bench' }], updatedAt: new Date().toISOString() });
    process.send({ id: m.id, t });
  } else if (m.cmd === 'stats') {
    if (m.gc && globalThis.gc) { globalThis.gc(); globalThis.gc(); }
    const cpu = process.cpuUsage();
    // (No xds.status() here: building 2,000 streams' status costs ~0.1 s of CPU, which would land in the measured window.)
    process.send({ id: m.id, cpuSeconds: (cpu.user + cpu.system) / 1e6, rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, lastSnapshotAt });
  } else if (m.cmd === 'stop') {
    engine.stop();
    await xds.close();
    process.exit(0);
  }
});
process.send({ ready: true, port });

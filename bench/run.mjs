// npm run bench [-- --quick | --smoke] [--out DIR] [--no-floor] [--no-delta | --modes sotw,delta] [--only W1,W2,W3,W6]
//   [--proxies N,N] [--threads N] [--w3-rounds N] [--w2-rate N] [--w2-seconds N] [--debounce-ms N] [--no-debounce-leading-edge] [--max-delay-ms N] [--endpoint-interval-ms N] [--endpoint-build-share S] [--fresh-objects]
// Scale benchmark (issue 8): the control plane under test in a child process, a load
// generator of real ADS streams in worker threads (this process), scenarios W1/W2/W3/W6.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ControlPlane, LoadGenerator, assignProxies, edsName } from './lib/cluster.mjs';
import { hotPath } from './lib/hot-path.mjs';

const args = process.argv.slice(2);
const flag = (f) => args.includes(f);
const opt = (f, d) => (args.includes(f) ? args[args.indexOf(f) + 1] : d);
const smoke = flag('--smoke');
const quick = smoke || flag('--quick');
const defaultOut = new URL('./results', import.meta.url).pathname;
const outDir = opt('--out', defaultOut);
const only = new Set(opt('--only', 'W1,W2,W3,W6').split(','));
const withFloor = !flag('--no-floor');
const withDelta = !flag('--no-delta');
const modesOpt = opt('--modes');
// The engine's build policy (MeshEngine defaults: config changes 100 ms quiet period and
// 1,000 ms longest wait; endpoint-only changes paced so their builds take ≤ 25 % of the time).
const debounceMs = Number(opt('--debounce-ms', 100));
// Config changes on a quiet mesh built at once (docs/decisions/007); off: every one waits for quiet.
const debounceLeadingEdge = !flag('--no-debounce-leading-edge');
const maxDelayMs = Number(opt('--max-delay-ms', 1000));
const endpointIntervalMs = Number(opt('--endpoint-interval-ms', 0));
const endpointBuildShare = Number(opt('--endpoint-build-share', 0.25));
// Republish every workload as a new object on each change (adapters that map listings afresh).
const freshObjects = flag('--fresh-objects');

const P = smoke
  ? { services: 5, endpoints: 3, proxies: [4], churnProxies: 4, watch: 2, rate: 5, seconds: 2, w3Rounds: 1, threads: 1, perChannel: 2, w6: { endpoints: 50, clusters: 50, streams: 10, sends: 2 } }
  : quick
    ? { services: 1000, endpoints: 10, proxies: [200], churnProxies: 200, watch: 3, rate: 30, seconds: 10, w3Rounds: 3, threads: 2, perChannel: 50, w6: { endpoints: 1000, clusters: 3000, streams: 200, sends: 20 } }
    : { services: 1000, endpoints: 10, proxies: [1000, 2000, 5000, 10000], churnProxies: 2000, watch: 3, rate: 30, seconds: 60, w3Rounds: 10, threads: 2, perChannel: 50, w6: { endpoints: 1000, clusters: 3000, streams: 1000, sends: 50 } };
// --proxies 1000,5000 runs W1 at those sizes only (W2/W3 still need churnProxies among them);
// --threads N sets the load generator's worker threads.
if (opt('--proxies')) P.proxies = opt('--proxies').split(',').map(Number);
if (opt('--threads')) P.threads = Number(opt('--threads'));
if (opt('--w3-rounds')) P.w3Rounds = Number(opt('--w3-rounds'));
// --w2-rate N --w2-seconds N: W2's churn (a rate sweep runs W2 at several rates).
if (opt('--w2-rate')) P.rate = Number(opt('--w2-rate'));
if (opt('--w2-seconds')) P.seconds = Number(opt('--w2-seconds'));

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpuNow = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; };
const pct = (xs, q) => { if (xs.length === 0) return null; const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]; };
const r1 = (x) => (x == null ? null : Math.round(x * 10) / 10);
const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

const rows = [];
const row = (r) => {
  const full = { ...r, scenario: r.scenario, mode: r.mode ?? 'sotw', server: r.server ?? null, proxies: r.proxies ?? null, services: r.services ?? null, endpointsPerService: r.endpointsPerService ?? null,
    p50Ms: r1(r.p50Ms), p99Ms: r1(r.p99Ms), maxMs: r1(r.maxMs), rssPerProxyBytes: r.rssPerProxyBytes ?? null, bytesPerChangePerProxy: r.bytesPerChangePerProxy ?? null,
    cpuSecondsPerChange: r.cpuSecondsPerChange ?? null, floorRatio: r.floorRatio ?? null };
  rows.push(full);
  return full;
};

/** One control plane (Isthmus or the floor) under N proxies: W1, then W2 and W3 on the same streams. */
async function session(server, n, scenarios, mode = 'sotw') {
  const env = { BENCH_SERVICES: String(P.services), BENCH_ENDPOINTS: String(P.endpoints), BENCH_DEBOUNCE_MS: String(debounceMs), BENCH_DEBOUNCE_LEADING_EDGE: debounceLeadingEdge ? '1' : '0', BENCH_MAX_DELAY_MS: String(maxDelayMs), BENCH_ENDPOINT_INTERVAL_MS: String(endpointIntervalMs), BENCH_ENDPOINT_BUILD_SHARE: String(endpointBuildShare), BENCH_FRESH_OBJECTS: freshObjects ? '1' : '0' };
  const cp = await ControlPlane.start(server === 'isthmus' ? '../server.mjs' : '../floor-server.mjs', env);
  const base = await cp.call({ cmd: 'stats', gc: true });
  const proxies = assignProxies(n, P.services, P.watch);
  const gen = new LoadGenerator(cp.port, proxies, P.threads, P.perChannel, mode);
  await gen.loaded;
  const common = { server, mode, proxies: n, services: P.services, endpointsPerService: P.endpoints };
  const out = {};
  try {
    // W1: connect storm.
    const genCpu0 = cpuNow();
    const t0 = now();
    gen.connect();
    const deadline = t0 + (smoke ? 20_000 : 120_000 + 10 * n);
    while (gen.readyAt.size < n && now() < deadline) await sleep(50);
    const ready = [...gen.readyAt.values()].map((t) => t - t0);
    const w1cpu = await cp.call({ cmd: 'stats' });
    await sleep(smoke ? 200 : 2000); // at rest
    const rest = await cp.call({ cmd: 'stats', gc: true });
    const w1gen = await gen.collect();
    if (scenarios.has('W1')) {
      out.W1 = row({ scenario: 'W1', ...common, p50Ms: pct(ready, 0.5), p99Ms: pct(ready, 0.99), maxMs: ready.length === n ? Math.max(...ready) : null,
        ackedProxies: ready.length, rssPerProxyBytes: Math.round((rest.rss - base.rss) / n), rssBaseBytes: base.rss, rssAtRestBytes: rest.rss,
        serverCpuSeconds: r1(w1cpu.cpuSeconds - base.cpuSeconds), generatorCpuSeconds: r1(cpuNow() - genCpu0), initialBytesPerProxy: Math.round(w1gen.bytes / n),
        streamErrors: gen.errors.length });
      log('W1', server, n, JSON.stringify(out.W1));
    }
    if (ready.length < n) throw new Error(`only ${ready.length}/${n} proxies ACKed their initial config`);

    // W2: endpoint churn at a set rate; latency = platform change → last watcher's ACK.
    if (scenarios.has('W2') && n === P.churnProxies) {
      const watchers = new Map();
      for (const p of proxies) for (const k of p.services) watchers.set(k, [...(watchers.get(k) ?? []), p.idx]);
      // Only services some proxy watches (not service 0, kept for W3).
      const watched = [...watchers.keys()].filter((k) => k !== 0).sort((a, b) => a - b);
      const cpu0 = (await cp.call({ cmd: 'stats' })).cpuSeconds;
      const gcpu0 = cpuNow();
      const changes = [];
      const total = Math.round(P.rate * P.seconds);
      // Walk every watched service: a stride coprime to their number. (Until 2026-11-26 the
      // stride was 37 and there were 999 services: gcd 37, so only 27 of them ever changed.)
      const gcd = (a, b) => (b === 0 ? a : gcd(b, a % b));
      let stride = 37;
      while (gcd(stride, watched.length) !== 1) stride++;
      const start = now();
      for (let i = 0; i < total; i++) {
        const due = start + (i * 1000) / P.rate;
        if (due > now()) await sleep(due - now());
        const k = watched[(i * stride) % watched.length];
        changes.push(cp.call({ cmd: 'endpoint', k }).then((m) => ({ k, t0: m.t })));
      }
      const done = await Promise.all(changes);
      await sleep(smoke ? 1500 : 3000);
      const cpu1 = (await cp.call({ cmd: 'stats' })).cpuSeconds;
      const genCpu = cpuNow() - gcpu0;
      const got = await gen.collect();
      const byKey = new Map();
      for (const [p, c, name, t] of got.events) if (c === 'E') { const key = `${p}|${name}`; (byKey.get(key) ?? byKey.set(key, []).get(key)).push(t); }
      const lat = [];
      let missed = 0;
      let watching = 0;
      for (const { k, t0 } of done) {
        let worst = 0;
        for (const p of watchers.get(k) ?? []) {
          watching++;
          const t = (byKey.get(`${p}|${edsName(k)}`) ?? []).find((x) => x >= t0);
          if (t === undefined) missed++;
          else worst = Math.max(worst, t - t0);
        }
        lat.push(worst);
      }
      out.W2 = row({ scenario: 'W2', ...common, changes: done.length, ratePerSecond: P.rate, seconds: P.seconds, servicesChanged: new Set(done.map((d) => d.k)).size, p50Ms: pct(lat, 0.5), p99Ms: pct(lat, 0.99), maxMs: Math.max(...lat),
        missedUpdates: missed, watchersPerChange: r1(watching / done.length), bytesPerChangePerProxy: Math.round(got.bytes / watching),
        bytesPerChangeAllProxies: Math.round(got.bytes / done.length), cpuSecondsPerChange: Number(((cpu1 - cpu0) / done.length).toFixed(5)),
        serverCpuSeconds: r1(cpu1 - cpu0), generatorCpuSeconds: r1(genCpu), responses: got.responses });
      log('W2', server, n, JSON.stringify(out.W2));
    }

    // W3: one VirtualService change seen by every proxy (all watch service 0), repeated
    // P.w3Rounds times (one change is one sample of a noisy machine); figures per change.
    if (scenarios.has('W3') && n === P.churnProxies) {
      await gen.collect();
      // A full GC first (both servers): the garbage W2 promoted is W2's, not W3's to collect.
      await cp.call({ cmd: 'stats', gc: true });
      const cpu0 = (await cp.call({ cmd: 'stats' })).cpuSeconds;
      const lat = [];
      let bytes = 0;
      let maxMs = 0;
      let acked = n;
      // Per round as well: the first change after W2's churn finds streams last looked at many epochs ago.
      const cpuPerRound = [];
      let cpuAt = cpu0;
      for (let round = 0; round < P.w3Rounds; round++) {
        const { t: t0 } = await cp.call({ cmd: 'vs', k: 0 });
        const first = new Map();
        const deadline = now() + (smoke ? 5000 : 30_000);
        while (first.size < n && now() < deadline) {
          await sleep(100);
          const got = await gen.collect();
          bytes += got.bytes;
          for (const [p, c, , t] of got.events) if (c === 'R' && t >= t0 && !first.has(p)) first.set(p, t - t0);
        }
        await sleep(500);
        bytes += (await gen.collect()).bytes;
        lat.push(...first.values());
        acked = Math.min(acked, first.size);
        maxMs = first.size === n ? Math.max(maxMs, ...first.values()) : null;
        const cpuThen = (await cp.call({ cmd: 'stats' })).cpuSeconds;
        cpuPerRound.push(Number((cpuThen - cpuAt).toFixed(4)));
        cpuAt = cpuThen;
      }
      const cpu1 = (await cp.call({ cmd: 'stats' })).cpuSeconds;
      out.W3 = row({ scenario: 'W3', ...common, p50Ms: pct(lat, 0.5), p99Ms: pct(lat, 0.99), maxMs, ackedProxies: acked, rounds: P.w3Rounds,
        totalBytes: Math.round(bytes / P.w3Rounds), bytesPerChangePerProxy: Math.round(bytes / P.w3Rounds / n), cpuSecondsPerChange: Number(((cpu1 - cpu0) / P.w3Rounds).toFixed(4)), cpuSecondsPerRound: cpuPerRound });
      log('W3', server, n, JSON.stringify(out.W3));
    }
    // W6 sends/s: the floor writes one pre-encoded response to every connected stream.
    if (server === 'floor' && mode === 'sotw' && only.has('W6') && n === P.proxies[0]) {
      await gen.collect();
      const b = await cp.call({ cmd: 'blast', times: P.w6.sends });
      await sleep(smoke ? 500 : 3000);
      await gen.collect();
      out.W6 = row({ scenario: 'W6', metric: `sends of one pre-encoded response (${b.bytes} B) to ${n} streams`, server, proxies: n,
        p50Ms: null, p99Ms: null, maxMs: b.ms, sends: b.sends, perSecond: Math.round(b.sends / (b.ms / 1000)), bytes: b.bytes });
      log('W6 sends', JSON.stringify(out.W6));
    }
  } finally {
    await gen.close().catch(() => undefined);
    await cp.stop();
  }
  return out;
}

const started = Date.now();
const scen = new Set([...only].filter((s) => s !== 'W6'));
// Each mode (state of the world, then delta) against Isthmus and the floor, size by size,
// so every Isthmus row has a floor row of the same run next to it.
const modes = modesOpt ? modesOpt.split(',') : withDelta ? ['sotw', 'delta'] : ['sotw'];
if (scen.size > 0) {
  for (const mode of modes) for (const n of P.proxies) {
    const mine = await session('isthmus', n, scen, mode);
    if (!withFloor) continue;
    let floor;
    try { floor = await session('floor', n, scen, mode); } catch (e) { log('floor failed:', e.message); }
    for (const s of Object.keys(mine).filter((x) => x !== 'W6')) {
      const f = floor?.[s];
      if (!f) continue;
      const a = mine[s], b = f;
      const metric = s === 'W1' ? 'maxMs' : 'p99Ms';
      a.floorRatio = a[metric] && b[metric] ? Number((a[metric] / b[metric]).toFixed(2)) : null;
      if (a.cpuSecondsPerChange && b.cpuSecondsPerChange) a.floorCpuRatio = Number((a.cpuSecondsPerChange / b.cpuSecondsPerChange).toFixed(2));
      if (a.serverCpuSeconds && b.serverCpuSeconds && s === 'W1') a.floorCpuRatio = Number((a.serverCpuSeconds / b.serverCpuSeconds).toFixed(2));
    }
  }
}
if (only.has('W6')) for (const r of await hotPath(P.w6)) row(r);

// Output: table, one file per scenario, latest.json.
const machine = { cores: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryBytes: os.totalmem(), node: process.version, platform: `${os.platform()} ${os.release()}` };
const cols = ['scenario', 'mode', 'server', 'proxies', 'services', 'endpointsPerService', 'p50Ms', 'p99Ms', 'maxMs', 'rssPerProxyBytes', 'bytesPerChangePerProxy', 'cpuSecondsPerChange', 'floorRatio', 'floorCpuRatio'];
const cell = (v) => (v === null || v === undefined ? '-' : String(v));
const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
console.log(cols.map((c, i) => c.padEnd(widths[i])).join('  '));
for (const r of rows) console.log(cols.map((c, i) => cell(r[c]).padEnd(widths[i])).join('  '));
for (const r of rows.filter((r) => r.metric)) console.log(`${r.scenario} ${r.metric}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms${r.bytes ? `, ${r.bytes} bytes` : ''}${r.perSecond ? `, ${r.perSecond}/s` : ''}`);

mkdirSync(outDir, { recursive: true });
const date = new Date(started).toISOString().replace(/[:.]/g, '-');
const run = { date: new Date(started).toISOString(), quick, smoke, params: { ...P, debounceMs, debounceLeadingEdge, maxDelayMs, endpointIntervalMs, endpointBuildShare, freshObjects }, machine, durationSeconds: Math.round((Date.now() - started) / 1000) };
for (const s of new Set(rows.map((r) => r.scenario))) {
  writeFileSync(`${outDir}/${date}-${s}.json`, JSON.stringify({ ...run, rows: rows.filter((r) => r.scenario === s) }, null, 2) + '\n');
}
// latest.json holds the newest full run; a quick run only replaces a quick one (or none),
// and a smoke run never touches the default results directory's latest.json.
const latest = `${outDir}/latest.json`;
const previousQuick = !existsSync(latest) || JSON.parse(readFileSync(latest, 'utf8')).quick === true;
if (!quick || (smoke ? outDir !== defaultOut : previousQuick)) {
  writeFileSync(latest, JSON.stringify({ ...run, rows }, null, 2) + '\n');
  log(`wrote ${latest}`);
}
log(`wrote ${outDir}/${date}-<scenario>.json`);
process.exit(0);

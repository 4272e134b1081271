// Runs the control plane under test (a child process) and the load generator (worker threads).
import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
export const host = (k) => `svc-${k}.default.svc.cluster.local`;
export const edsName = (k) => `outbound|50051||${host(k)}`;

export class ControlPlane {
  static async start(script, env) {
    const cp = new ControlPlane();
    cp.child = fork(here(script), [], { env: { ...process.env, ...env }, execArgv: ['--expose-gc', ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    cp.pending = new Map();
    cp.seq = 0;
    cp.port = await new Promise((resolve, reject) => {
      cp.child.once('exit', (c) => reject(new Error(`control plane exited (${c})`)));
      cp.child.on('message', (m) => {
        if (m.ready) resolve(m.port);
        else if (m.id !== undefined) { cp.pending.get(m.id)?.(m); cp.pending.delete(m.id); }
      });
    });
    return cp;
  }
  call(msg) {
    const id = ++this.seq;
    return new Promise((resolve) => { this.pending.set(id, resolve); this.child.send({ ...msg, id }); });
  }
  async stop() {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ cmd: 'stop' });
    await Promise.race([exited, new Promise((r) => setTimeout(r, process.env.BENCH_NODE_ARGS ? 30_000 : 3000))]);
    if (this.child.exitCode === null) this.child.kill();
  }
}

/** Proxy p watches listeners for service 0 (every proxy: the W3 target) and `watch - 1` others. */
export function assignProxies(n, services, watch) {
  const out = [];
  for (let p = 0; p < n; p++) {
    const ks = new Set([0]);
    for (let i = 1; ks.size < Math.min(watch, services); i++) ks.add(1 + ((p * 7 + i * 131) % Math.max(1, services - 1)));
    out.push({ idx: p, services: [...ks], listeners: [...ks].map((k) => `${host(k)}:50051`) });
  }
  return out;
}

export class LoadGenerator {
  constructor(port, proxies, threads, streamsPerChannel, mode = 'sotw') {
    this.readyAt = new Map();
    this.errors = [];
    this.workers = [];
    let loaded = 0;
    this.loaded = new Promise((resolve) => { this.onLoaded = () => { if (++loaded === threads) resolve(); }; });
    for (let w = 0; w < threads; w++) {
      const mine = proxies.filter((p) => p.idx % threads === w);
      const worker = new Worker(here('./loadgen-worker.mjs'), { workerData: { port, proxies: mine, streamsPerChannel, mode } });
      worker.on('message', (m) => {
        if (m.loaded) this.onLoaded();
        else if (m.ready !== undefined) this.readyAt.set(m.ready, m.t);
        else if (m.streamError !== undefined) this.errors.push(m);
        else this.waiter?.(m);
      });
      worker.on('error', (e) => this.errors.push({ message: String(e) }));
      this.workers.push(worker);
    }
  }
  connect() { for (const w of this.workers) w.postMessage({ cmd: 'connect' }); }
  async ask(cmd, key) {
    const out = [];
    for (const w of this.workers) {
      out.push(await new Promise((resolve) => { this.waiter = (m) => { if (m[key]) resolve(m); }; w.postMessage({ cmd }); }));
    }
    this.waiter = undefined;
    return out;
  }
  /** Events (proxy, type, name, time) and bytes received since the last collect, over all threads. */
  async collect() {
    const parts = await this.ask('collect', 'collected');
    return { events: parts.flatMap((p) => p.events), bytes: parts.reduce((a, p) => a + p.bytes, 0), responses: parts.reduce((a, p) => a + p.responses, 0) };
  }
  async close() {
    await this.ask('close', 'closed');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

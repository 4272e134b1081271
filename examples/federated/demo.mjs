#!/usr/bin/env node
// `npm run demo:federated`: one mesh over NATS spanning two runtimes, served by two xDS
// replicas.
//   - nats-server (JetStream) on a free port, its store in a temp directory;
//   - runtime A: a Consul datacenter (the Consul API simulator of test/sim/consul) with a
//     greeter instance, published by `isthmus adapter --consul`; when the simulator is
//     not built, runtime A is a static file instead (the demo says which);
//   - runtime B: a Nomad region (the Nomad API simulator of test/sim/nomad), published by
//     `isthmus adapter --nomad`; static VMs (examples/federated/runtime-b) when it is not built;
//   - two `isthmus xds` replicas, and one proxyless gRPC client per replica.
// It prints which runtime each request landed in: first round robin over both runtimes,
// then after `isthmus apply -f rules/canary.yaml --nats ...` a 95/5 split on both replicas.
// `--once` stops there (tests); otherwise it keeps printing the split until Ctrl-C.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startGreeter } from '../greeter/greeter.mjs';

const { values: args } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    'nats-server': { type: 'string', default: existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server' },
    'no-sim': { type: 'boolean', default: false },
  },
});
const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const isthmus = join(root, 'cli/bin/isthmus.js');
const consulSimulator = join(root, 'test/sim/consul/dist/index.js');
const nomadSimulator = join(root, 'test/sim/nomad/dist/index.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (line = '') => process.stdout.write(`${line}\n`);

const cleanups = [];
const children = new Set();
// However the demo ends (an error, a closed stdout), its processes end with it.
process.on('exit', () => {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});
process.stdout.on('error', () => process.exit(1));
async function cleanup() {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
}
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
  say('\nstopping...');
  cleanup().then(() => process.exit(0));
});

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a child process; its output is kept and shown only if the demo fails. */
function start(name, command, argv) {
  const p = spawn(command, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  p.output = () => out;
  p.label = name;
  cleanups.push(async () => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  });
  return p;
}

async function waitUntil(what, check, proc, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`${proc.label} exited (${proc.exitCode}):\n${proc.output()}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${proc ? `\n${proc.output()}` : ''}`);
    await sleep(100);
  }
}

const ready = (port) => () => fetch(`http://127.0.0.1:${port}/healthz/ready`).then((r) => r.ok);

function isthmusRole(name, role, argv) {
  return start(name, process.execPath, [isthmus, role, '--address', '127.0.0.1', '--log-level', 'warn', ...argv]);
}

/** One client process per replica; resolves to { lines, counts }. */
function runClient(xdsPort, name, calls, traced) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(here, 'client.mjs'), String(xdsPort), name, String(calls), String(traced)], { cwd: root });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => {
      const summary = out.split('\n').find((l) => l.startsWith('SUMMARY '));
      if (code !== 0 || !summary) reject(new Error(`client ${name} failed:\n${out}`));
      else resolve({ lines: out.split('\n').filter((l) => l.startsWith('   [')), counts: JSON.parse(summary.slice(8)) });
    });
  });
}

function splitLine(name, counts) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const parts = Object.keys(counts).sort().map((k) => `${k} ${((100 * counts[k]) / total).toFixed(1).padStart(5)}%`);
  return `   [${name}] ${total} calls: ${parts.join('  ')}`;
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'isthmus-federated-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));

  // NATS, the distributed engine of the mesh.
  const natsPort = await freePort();
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const nats = start('nats-server', args['nats-server'], ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', join(work, 'nats')]);
  await waitUntil('nats-server', () => new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true)); // port taken: the server is listening
    s.listen(natsPort, '127.0.0.1', () => s.close(() => resolve(false)));
  }), nats);
  say(`nats-server (JetStream) on ${natsUrl}`);

  // The greeter instances: each answers with the name of its runtime.
  const a = await startGreeter({ version: 'runtime-a' });
  const b = await startGreeter({ version: 'runtime-b' });
  cleanups.push(() => a.stop(), () => b.stop());

  // Runtime A: Consul (simulated) when available, else a static file.
  let adapterA;
  if (!args['no-sim'] && existsSync(consulSimulator)) {
    const { ConsulSimulator } = await import(pathToFileURL(consulSimulator).href);
    const consul = await ConsulSimulator.start({ port: 0, datacenter: 'dc1' });
    cleanups.push(() => consul.stop());
    consul.registerInstance({
      service: 'greeter',
      id: 'greeter-a1',
      port: a.port,
      meta: { protocol: 'grpc', mesh_port: '50051', version: 'v1', runtime: 'runtime-a' },
    });
    say(`runtime A: Consul datacenter dc1 (simulator at ${consul.url}), greeter instance ${a.address}`);
    adapterA = isthmusRole('adapter runtime-a', 'adapter', ['--nats', natsUrl, '--id', 'runtime-a', '--http-port', String(await freePort()),
      '--consul', consul.url, '--consul-domain', 'global']);
  } else {
    await writeFile(join(work, 'runtime-a.yaml'), (await readFile(join(here, 'runtime-a/greeter.yaml'), 'utf8')).replace('grpc: 50061', `grpc: ${a.port}`));
    const why = args['no-sim'] ? '--no-sim' : 'the Consul simulator is not built: `tsc -p test/sim/consul` builds it';
    say(`runtime A: static file (${why}), greeter instance ${a.address}`);
    adapterA = isthmusRole('adapter runtime-a', 'adapter', ['--nats', natsUrl, '--id', 'runtime-a', '--http-port', String(await freePort()),
      '--static', join(work, 'runtime-a.yaml')]);
  }
  // Runtime B: a Nomad region (simulated) when available, else static VMs.
  let adapterB;
  if (!args['no-sim'] && existsSync(nomadSimulator)) {
    const { NomadSimulator } = await import(pathToFileURL(nomadSimulator).href);
    const nomad = await NomadSimulator.start({ port: 0, region: 'global' });
    cleanups.push(() => nomad.stop());
    nomad.registerService({
      service: 'greeter',
      job: 'greeter',
      group: 'api',
      portLabel: 'grpc',
      port: b.port,
      tags: ['version=v2', 'runtime=runtime-b', 'protocol=grpc', 'mesh_port=50051'],
    });
    say(`runtime B: Nomad region global (simulator at ${nomad.url}), greeter allocation ${b.address}`);
    adapterB = isthmusRole('adapter runtime-b', 'adapter', ['--nats', natsUrl, '--id', 'runtime-b', '--http-port', String(await freePort()),
      '--nomad', nomad.url, '--nomad-domain', 'global']);
  } else {
    await writeFile(join(work, 'runtime-b.yaml'), (await readFile(join(here, 'runtime-b/greeter.yaml'), 'utf8')).replace('grpc: 50062', `grpc: ${b.port}`));
    const why = args['no-sim'] ? '--no-sim' : 'the Nomad simulator is not built: `tsc -p test/sim/nomad` builds it';
    say(`runtime B: static VMs (${why}), greeter instance ${b.address}`);
    adapterB = isthmusRole('adapter runtime-b', 'adapter', ['--nats', natsUrl, '--id', 'runtime-b', '--http-port', String(await freePort()),
      '--static', join(work, 'runtime-b.yaml')]);
  }

  // Two xDS replicas, fed only by NATS.
  const replicas = [];
  for (const name of ['xds-1', 'xds-2']) {
    const xdsPort = await freePort();
    const httpPort = await freePort();
    const proc = isthmusRole(name, 'xds', ['--nats', natsUrl, '--xds-port', String(xdsPort), '--http-port', String(httpPort)]);
    replicas.push({ name, xdsPort, httpPort, proc });
  }
  for (const r of replicas) {
    await waitUntil(`${r.name} to be ready`, ready(r.httpPort), r.proc);
    say(`${r.name}: xDS on 127.0.0.1:${r.xdsPort}, admin http://127.0.0.1:${r.httpPort}/debug`);
  }
  const bothRuntimes = async (r) => {
    const reg = await fetch(`http://127.0.0.1:${r.httpPort}/debug/registryz?host=greeter.global`).then((x) => x.json());
    return (reg.services[0]?.workloads ?? []).length === 2;
  };
  for (const r of replicas) await waitUntil(`${r.name} to see both runtimes`, () => bothRuntimes(r), adapterA.exitCode !== null ? adapterA : adapterB);

  say('\n1. one service, two runtimes: xds:///greeter.global:50051 (no rules yet: round robin)');
  let results = await Promise.all(replicas.map((r) => runClient(r.xdsPort, r.name, 200, 4)));
  for (const res of results) for (const l of res.lines) say(l);
  results.forEach((res, i) => say(splitLine(replicas[i].name, res.counts)));

  say('\n2. isthmus apply -f examples/federated/rules/canary.yaml --nats ' + natsUrl + '   (95% runtime A, 5% runtime B)');
  const apply = await new Promise((resolve) => {
    const p = spawn(process.execPath, [isthmus, 'apply', '-f', join(here, 'rules/canary.yaml'), '--nats', natsUrl], { cwd: root });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });
  for (const l of apply.out.trim().split('\n')) say(`   ${l}`);
  if (apply.code !== 0) throw new Error('isthmus apply failed');
  const hasRoute = (r) => async () => (await fetch(`http://127.0.0.1:${r.httpPort}/debug/configz`).then((x) => x.json())).routes['greeter.global'];
  for (const r of replicas) await waitUntil(`${r.name} to have the route`, hasRoute(r), r.proc);
  results = await Promise.all(replicas.map((r) => runClient(r.xdsPort, r.name, 1000, 0)));
  results.forEach((res, i) => say(splitLine(replicas[i].name, res.counts)));
  const versions = await Promise.all(replicas.map((r) => fetch(`http://127.0.0.1:${r.httpPort}/debug/configz`).then((x) => x.json()).then((c) => c.snapshotVersion)));
  say(`   snapshot versions: ${replicas.map((r, i) => `${r.name} ${versions[i]}`).join(', ')}${versions[0] === versions[1] ? ' (identical: a proxy may switch replicas without a push)' : ''}`);

  if (args.once) return;
  say('\nlive split every few seconds (edit the weights and `isthmus apply` again to see it move). Ctrl-C to stop.');
  while (!interrupted) {
    results = await Promise.all(replicas.map((r) => runClient(r.xdsPort, r.name, 200, 0)));
    results.forEach((res, i) => say(splitLine(replicas[i].name, res.counts)));
    await sleep(2000);
  }
}

main().then(
  async () => {
    await cleanup();
    process.exit(0);
  },
  async (err) => {
    process.stderr.write(`demo failed: ${err.message}\n`);
    await cleanup();
    process.exit(1);
  },
);

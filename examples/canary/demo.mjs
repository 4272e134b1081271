#!/usr/bin/env node
// `npm run demo`: two greeter versions, `isthmus serve` on examples/canary/, and a
// proxyless gRPC client (grpc-js-xds) that prints where its calls land:
//   1. the canary release: 95% v1 / 5% v2;
//   2. content-based routing: x-device: iphone → v2 only, android → the split;
//   3. a live edit of the rules file to 0/100: every call moves to v2.
// Then it keeps printing the split until Ctrl-C. `--once` stops after step 3 (tests).
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGreeter } from '../greeter/greeter.mjs';

const { values: args } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    'xds-port': { type: 'string', default: '15010' },
    'http-port': { type: 'string', default: '15014' },
    'v1-port': { type: 'string', default: '50061' },
    'v2-port': { type: 'string', default: '50062' },
  },
});
const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const host = 'greeter.default.svc.cluster.local';
const target = `xds:///${host}:50051`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (line) => process.stdout.write(`${line}\n`);

const cleanups = [];
async function cleanup() {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
}
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
  say('\nstopping...');
  cleanup().then(() => process.exit(0));
});

async function main() {
  // Work on a copy so the live edit of step 3 never touches the repository.
  const dir = await mkdtemp(join(tmpdir(), 'isthmus-demo-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await cp(join(here, 'services.yaml'), join(dir, 'services.yaml'));
  await cp(join(here, 'routes.yaml'), join(dir, 'routes.yaml'));
  const services = await readFile(join(dir, 'services.yaml'), 'utf8');
  await writeFile(
    join(dir, 'services.yaml'),
    services.replace('grpc: 50061', `grpc: ${args['v1-port']}`).replace('grpc: 50062', `grpc: ${args['v2-port']}`),
  );

  const v1 = await startGreeter({ version: 'v1', port: Number(args['v1-port']) });
  const v2 = await startGreeter({ version: 'v2', port: Number(args['v2-port']) });
  cleanups.push(() => v1.stop(), () => v2.stop());
  say(`greeter v1 on ${v1.address}, v2 on ${v2.address}`);

  const cp_ = spawn(
    process.execPath,
    [join(root, 'cli/bin/isthmus.js'), 'serve', '--static', dir, '--address', '127.0.0.1',
      '--xds-port', args['xds-port'], '--http-port', args['http-port'], '--log-level', 'warn'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  cleanups.push(async () => {
    cp_.kill('SIGTERM');
    await new Promise((r) => (cp_.exitCode !== null ? r() : cp_.once('exit', r)));
  });
  const ready = `http://127.0.0.1:${args['http-port']}/healthz/ready`;
  for (let i = 0; ; i++) {
    if (cp_.exitCode !== null) throw new Error(`isthmus serve exited with code ${cp_.exitCode}`);
    const ok = await fetch(ready).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 300) throw new Error(`isthmus did not become ready at ${ready}`);
    await sleep(100);
  }
  say(`isthmus serving xDS on 127.0.0.1:${args['xds-port']} (admin: http://127.0.0.1:${args['http-port']}/debug)`);

  // The xDS client reads its bootstrap once per process, before the first xds:/// channel.
  const { buildBootstrap } = await import('@isthmus/xds');
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(
    buildBootstrap({ nodeId: 'demo-client', serverUri: `127.0.0.1:${args['xds-port']}`, generator: 'grpc', namespace: 'default' }),
  );
  const xds = await import('@grpc/grpc-js-xds');
  xds.register();
  const { greeterClient, sayHello } = await import('../greeter/greeter.mjs');
  const client = greeterClient(target);
  cleanups.push(async () => client.close());
  say(`client dialing ${target}\n`);

  async function split(calls, headers = {}) {
    const counts = { v1: 0, v2: 0, error: 0 };
    for (let i = 0; i < calls && !interrupted; i++) {
      try {
        counts[(await sayHello(client, { headers })).version]++;
      } catch {
        counts.error++;
      }
    }
    const pct = (n) => `${((100 * n) / calls).toFixed(1).padStart(5)}%`;
    return { counts, line: `v1 ${pct(counts.v1)}  v2 ${pct(counts.v2)}${counts.error ? `  errors ${counts.error}` : ''}  (${calls} calls)` };
  }

  say('1. canary release (routes.yaml: 95% v1, 5% v2)');
  for (let i = 0; i < 3 && !interrupted; i++) say(`   ${(await split(400)).line}`);

  say('\n2. content-based routing (header x-device)');
  say(`   x-device: iphone   ${(await split(200, { 'x-device': 'iphone' })).line}`);
  say(`   x-device: android  ${(await split(200, { 'x-device': 'android' })).line}`);

  say('\n3. editing routes.yaml: v1 0%, v2 100%');
  const routes = join(dir, 'routes.yaml');
  const text = await readFile(routes, 'utf8');
  await writeFile(routes, text.replace('weight: 95', 'weight: 0').replace('weight: 5', 'weight: 100'));
  const edited = Date.now();
  for (;;) {
    const { counts, line } = await split(100);
    if (counts.v2 === 100 || interrupted) {
      say(`   converged in ${Date.now() - edited} ms: ${line}`);
      break;
    }
    if (Date.now() - edited > 15_000) throw new Error(`no convergence after the edit: ${line}`);
  }

  if (args.once) return;
  say('\nlive split every second; edit the weights in ' + routes + ' to see it move. Ctrl-C to stop.');
  while (!interrupted) say(`   ${(await split(200)).line}`);
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

import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { NatsBus } from '@isthmus/plugin-nats';
import { runCli, waitFor } from '../support/process.js';
import { startNatsServer, type NatsServer } from '../support/nats-server.js';
import { startRole, tallyVia, type RoleProcess } from '../support/federation.js';
import { FEDERATED_HOST, FEDERATED_TARGET, runtimeDir, serviceEntryYaml } from '../support/runtime-files.js';
import { greeterClient, startGreeter, tally, useXdsServer } from '../support/xds-client.js';

const CANARY = 'examples/federated/rules/canary.yaml';

// One mesh over a real nats-server (shared by this file, never killed here): two adapter
// processes publish two runtimes whose greeter instances share one mesh host; two xDS
// replicas serve real grpc-js-xds clients.
describe('federated mesh over NATS: two runtimes, two xDS replicas', () => {
  let nats: NatsServer;
  const greeters: any[] = [];
  const dirs: string[] = [];
  const roles: RoleProcess[] = [];
  let adapterB: RoleProcess;
  let xds1: RoleProcess;
  let xds2: RoleProcess;
  let client: any;
  let url: string;

  const nats$ = (...args: string[]) => [...args, '--nats', url];
  const registry = async (x: RoleProcess) => x.getJson('/debug/registryz');
  const endpointsOf = async (x: RoleProcess) =>
    ((await registry(x)).services.find((s: any) => s.hostname === FEDERATED_HOST)?.workloads ?? []).map((w: any) => w.labels.runtime).sort();

  beforeAll(async () => {
    nats = await startNatsServer();
    url = nats.url;
    const a = await startGreeter({ version: 'v1' });
    const b = await startGreeter({ version: 'v2' });
    greeters.push(a, b);
    const dirA = await runtimeDir('runtime-a', [{ port: a.port, version: 'v1', runtime: 'runtime-a' }]);
    const dirB = await runtimeDir('runtime-b', [{ port: b.port, version: 'v2', runtime: 'runtime-b' }]);
    dirs.push(dirA, dirB);
    const fast = ['--heartbeat', '250ms'];
    const [adapterA, b2] = await Promise.all([
      startRole('adapter', nats$('--id', 'runtime-a', '--static', dirA, ...fast)),
      startRole('adapter', nats$('--id', 'runtime-b', '--static', dirB, ...fast)),
    ]);
    adapterB = b2;
    const liveness = ['--stale-after', '1s', '--grace', '4s'];
    [xds1, xds2] = await Promise.all([startRole('xds', nats$(...liveness)), startRole('xds', nats$(...liveness))]);
    roles.push(adapterA, adapterB, xds1, xds2);
    await useXdsServer(xds1.xdsPort, 'federated-client-1');
    client = greeterClient(FEDERATED_TARGET);
  });

  afterAll(async () => {
    client?.close();
    for (const r of roles) await r.stop();
    for (const g of greeters) await g.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await nats?.stop();
  });

  it('lists the federation commands and serve\'s --nats in the help', async () => {
    const [top, serve] = await Promise.all([runCli(['--help']), runCli(['serve', '--help'])]);
    for (const cmd of ['adapter', 'xds', 'apply', 'get', 'delete']) expect(top.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
    expect(serve.stdout).toContain('--nats <urls>');
    expect(serve.stdout).toContain('--export-namespace');
  });

  it('merges one service from two runtimes and sends traffic to both', async () => {
    await waitFor(async () => (await endpointsOf(xds1)).length === 2, 'both runtimes on replica 1');
    expect(await endpointsOf(xds1)).toEqual(['runtime-a', 'runtime-b']);
    const t = await tally(client, 100);
    expect(t.errors, t.lastError).toBe(0);
    expect(t.v1).toBeGreaterThan(10);
    expect(t.v2).toBeGreaterThan(10);
    // A client of the other replica too.
    const t2 = await tallyVia(xds2.xdsPort, FEDERATED_TARGET, 100);
    expect(t2.errors, String(t2.lastError)).toBe(0);
    expect(t2.v1).toBeGreaterThan(10);
    expect(t2.v2).toBeGreaterThan(10);
  });

  it('computes the same snapshot version on both replicas', async () => {
    const version = async (x: RoleProcess) => (await x.getJson('/debug/configz')).snapshotVersion as string;
    await waitFor(async () => (await version(xds1)) === (await version(xds2)), 'equal snapshot versions');
    expect(await version(xds1)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('applies a 95/5 VirtualService with `isthmus apply --nats` to the clients of both replicas', async () => {
    const r = await runCli(['apply', '-f', CANARY, ...nats$()]);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('destinationrule/greeter created\nvirtualservice/greeter created\n');
    expect((await runCli(['apply', '-f', CANARY, ...nats$()])).stdout).toContain('virtualservice/greeter unchanged');
    // The two parts were written as one batch: engines wait for both instead of building the first at once.
    const reader = new NatsBus({ connection: { servers: [url] } });
    try {
      await reader.ready();
      const batches = [...reader.config.entries()].filter(([part]) => part.startsWith('apply/')).map(([, m]) => m.batch);
      expect(batches).toHaveLength(2);
      expect(batches[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(batches[1]).toBe(batches[0]);
    } finally {
      await reader.close();
    }
    for (const x of [xds1, xds2]) {
      await waitFor(async () => (await x.getJson('/debug/configz')).routes[FEDERATED_HOST], 'the route on every replica');
    }
    // Under 50/50 no more than 8 of 40 calls on v2 is a 1-in-100,000 event; under 95/5 the norm.
    await waitFor(async () => (await tally(client, 40)).v2 <= 8, 'replica 1 clients to follow the split');
    const t1 = await tally(client, 1000);
    const t2 = await tallyVia(xds2.xdsPort, FEDERATED_TARGET, 1000);
    for (const t of [t1, t2]) {
      expect(t.errors).toBe(0);
      // Binomial(1000, 0.05): mean 50, sd ≈ 6.9.
      expect(t.v2).toBeGreaterThanOrEqual(20);
      expect(t.v2).toBeLessThanOrEqual(80);
      expect(t.v1 + t.v2).toBe(1000);
    }
    // Any process can tell which proxy has which version, on which replica.
    const ps = await waitFor(async () => {
      const out = await runCli(['get', 'proxy-status', '-o', 'json', ...nats$()]);
      const rows = JSON.parse(out.stdout) as any[];
      const row = rows.find((x) => x.proxyId === 'federated-client-1');
      return row && Object.values(row.types).every((t: any) => t.acked && t.acked === t.sent) ? row : undefined;
    }, 'the client SYNCED in proxy-status');
    expect(ps.server).toContain(`:${xds1.xdsPort}`);
  });

  it('refuses an invalid apply with the errors `validate` gives, and stores nothing', async () => {
    const bad = join(tmpdir(), `bad-canary-${process.pid}.yaml`);
    await writeFile(bad, (await readFile(CANARY, 'utf8')).replace('weight: 95', 'weight: 90'));
    try {
      const [applied, validated] = await Promise.all([runCli(['apply', '-f', bad, ...nats$()]), runCli(['validate', '-f', bad])]);
      expect(applied.code).toBe(1);
      const errors = (s: string) => s.split('\n').filter((l) => l.startsWith('error: '));
      expect(errors(applied.stderr)).toEqual(errors(validated.stderr));
      expect(errors(applied.stderr).join('\n')).toContain('VirtualService/default/greeter: spec.http[0].route: weights must add up to 100, got 95');
      expect(applied.stderr).toContain('nothing applied');
      const got = await runCli(['get', 'vs', 'greeter', '-o', 'json', ...nats$()]);
      expect(JSON.parse(got.stdout).spec.http[0].route.map((r: any) => r.weight)).toEqual([95, 5]);
    } finally {
      await rm(bad, { force: true });
    }
  });

  it('gets objects as YAML, JSON or names, by type, name and namespace', async () => {
    const [yaml, elsewhere, names, missing, unknown, sources] = await Promise.all([
      runCli(['get', 'virtualservices', ...nats$()]),
      runCli(['get', 'vs', '-n', 'elsewhere', ...nats$()]),
      runCli(['get', 'all', '-o', 'name', ...nats$()]),
      runCli(['get', 'vs', 'nope', ...nats$()]),
      runCli(['get', 'frobnicators', ...nats$()]),
      runCli(['get', 'sources', ...nats$()]),
    ]);
    expect(yaml.code).toBe(0);
    const docs = parseAllDocuments(yaml.stdout).map((d) => d.toJS());
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['VirtualService/greeter']);
    expect(elsewhere.stdout).toBe('');
    expect(names.stdout).toBe('destinationrule/greeter\nvirtualservice/greeter\n');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('virtualservices "nope" not found');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown resource type "frobnicators"');
    expect(sources.stdout).toMatch(/static\/runtime-a\s+runtime-a\s+alive\s+1\s+1/);
  });

  it('deletes applied objects, refusing a delete that would break a route', async () => {
    const refused = await runCli(['delete', 'dr', 'greeter', ...nats$()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('subset "runtime-a" is not defined');
    const deleted = await runCli(['delete', '-f', CANARY, ...nats$()]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe('destinationrule/greeter deleted\nvirtualservice/greeter deleted\n');
    expect((await runCli(['get', 'all', '-o', 'name', ...nats$()])).stdout).toBe('');
    await waitFor(async () => !(await xds1.getJson('/debug/configz')).routes[FEDERATED_HOST], 'the route gone');
  });

  it('publishes only what an adapter\'s export policy lets out', async () => {
    const c = await startGreeter({ version: 'v3' });
    greeters.push(c);
    const dir = await runtimeDir('runtime-c', [{ port: c.port, version: 'v3', runtime: 'runtime-c' }], {
      'ledger.yaml': serviceEntryYaml('ledger', 'ledger.payments.global', [{ port: c.port, version: 'v1', runtime: 'runtime-c' }], 'payments'),
    });
    dirs.push(dir);
    const adapterC = await startRole('adapter', nats$('--id', 'runtime-c', '--static', dir, '--export-namespace', 'payments'));
    roles.push(adapterC);
    const reg = await waitFor(async () => {
      const r = await registry(xds1);
      return r.services.some((s: any) => s.hostname === 'ledger.payments.global') ? r : undefined;
    }, 'runtime-c\'s exported service on the replica');
    expect(reg.sources.find((s: any) => s.source === 'static/runtime-c')).toMatchObject({ services: 1, workloads: 1 });
    expect(reg.services.map((s: any) => s.hostname)).toContain('ledger.payments.global');
    // The default-namespace greeter of runtime C stayed home.
    expect(await endpointsOf(xds1)).toEqual(['runtime-a', 'runtime-b']);
    await adapterC.stop();
  });

  it('runs both roles in one process with `serve --nats`, in a mesh of its own', async () => {
    const s = await startGreeter({ version: 'v3' });
    greeters.push(s);
    const dir = await runtimeDir('solo', [{ port: s.port, version: 'v3', runtime: 'solo' }]);
    dirs.push(dir);
    const serve = await startRole('serve', nats$('--mesh', 'solo', '--id', 'solo', '--static', dir));
    roles.push(serve);
    const t = await tallyVia(serve.xdsPort, FEDERATED_TARGET, 20);
    expect(t).toMatchObject({ v3: 20, errors: 0 });
    expect((await serve.getJson('/debug/adapterz')).sources).toEqual(['static/solo']);
    // Another mesh on the same NATS: nothing leaks either way.
    expect((await registry(serve)).sources.map((x: any) => x.source)).toEqual(['static/solo']);
    expect((await registry(xds1)).sources.map((x: any) => x.source)).not.toContain('static/solo');
    await serve.stop();
  });

  it('marks a killed adapter\'s source stale, keeps its workloads for the grace period, then removes them', async () => {
    await adapterB.kill();
    const source = (r: any) => r.sources.find((s: any) => s.source === 'static/runtime-b');
    const stale = await waitFor(async () => {
      const r = await registry(xds1);
      return source(r)?.stale ? r : undefined;
    }, 'runtime-b marked stale');
    expect(source(stale).lastError).toMatch(/no heartbeat from adapter runtime-b/);
    // Kept: a blip must not drop endpoints.
    expect(stale.services.find((s: any) => s.hostname === FEDERATED_HOST).workloads.map((w: any) => w.labels.runtime).sort()).toEqual(['runtime-a', 'runtime-b']);
    const busz = await xds1.getJson('/debug/busz');
    expect(busz.sources.find((s: any) => s.source === 'static/runtime-b').liveness).toBe('stale');
    await waitFor(async () => (await endpointsOf(xds1)).join() === 'runtime-a', 'runtime-b removed after the grace period', 30_000);
    await waitFor(async () => (await tally(client, 20)).v1 === 20, 'all traffic on runtime A');
    const t = await tally(client, 50);
    expect(t).toMatchObject({ v1: 50, v2: 0, errors: 0 });
    expect(await xds2.getText('/metrics')).toMatch(/isthmus_bus_stale_sources [1-9]/);
  });
});

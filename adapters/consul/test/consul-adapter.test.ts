import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { BusRegistrySink, InMemoryBus } from '@isthmus/core';
import { ConsulSimulator } from '../../../test/sim/consul/src/index.js';
import { RecordingSink } from '../../../test/conformance/recording-sink.js';
import { freePort } from '../../../test/support/process.js';
import { ConsulPlatformAdapter } from '../src/consul-adapter.js';
import type { ConsulAdapterOptions } from '../src/options.js';
import { FAST, captureLogger, eventually, type LogLine } from './helpers.js';

const TESTDATA = fileURLToPath(new URL('../../../test/sim/consul/testdata/', import.meta.url));

let sims: ConsulSimulator[] = [];
let adapters: ConsulPlatformAdapter[] = [];
let dirs: string[] = [];

afterEach(async () => {
  for (const a of adapters.splice(0)) await a.stop();
  for (const s of sims.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function simulator(options: Parameters<typeof ConsulSimulator.start>[0] = {}): Promise<ConsulSimulator> {
  const sim = await ConsulSimulator.start({ jitter: false, ...options });
  sims.push(sim);
  return sim;
}

function adapter(options: Partial<ConsulAdapterOptions> & { address: string }, extra: { logger?: ReturnType<typeof captureLogger>; metrics?: Registry } = {}): ConsulPlatformAdapter {
  const a = new ConsulPlatformAdapter({ datacenter: 'dc1', ...options, tuning: { ...FAST, ...(options.tuning ?? {}) } }, extra);
  adapters.push(a);
  return a;
}

async function started(a: ConsulPlatformAdapter): Promise<RecordingSink> {
  const sink = new RecordingSink(a.source);
  await a.start(sink);
  return sink;
}

const addresses = (sink: RecordingSink, host = 'web.service.consul') => sink.workloads(host).map((w) => w.address);

function greeter(sim: ConsulSimulator): void {
  sim.registerInstance({ service: 'web', id: 'web-1', node: 'n1', nodeAddress: '10.0.0.1', port: 8080, meta: { version: 'v1' } });
  sim.registerInstance({ service: 'web', id: 'web-2', node: 'n2', nodeAddress: '10.0.0.2', port: 8080, meta: { version: 'v2' } });
}

describe('Consul adapter: failure behaviour against the simulator', () => {
  it('Consul down at start: start returns, retries with backoff, not synced, says why; syncs once Consul is up', async () => {
    const port = await freePort();
    const logger = captureLogger();
    const bus = new InMemoryBus();
    const a = adapter({ address: `http://127.0.0.1:${port}` }, { logger });
    await a.start(new BusRegistrySink(bus, a.source));
    await eventually('a stale report', () => bus.registry.get(a.source)?.stale);
    const msg = bus.registry.get(a.source)!;
    expect(msg.synced).toBe(false);
    expect(msg.shard.workloads).toEqual([]);
    expect(msg.error).toContain(`connection refused by http://127.0.0.1:${port} (is Consul running?)`);
    const warn = logger.lines.find((l: LogLine) => l.level === 'warn')!;
    expect(warn.msg).toMatch(/connection refused.*retrying with backoff \(not ready until Consul has been read once\)/);
    // Consul appears on that port.
    const sim = new ConsulSimulator({ jitter: false });
    sims.push(sim);
    greeter(sim);
    await sim.listen(port);
    await eventually('the first sync', () => bus.registry.get(a.source)?.synced);
    expect(bus.registry.get(a.source)).toMatchObject({ synced: true, stale: false });
    expect(bus.registry.get(a.source)!.shard.workloads).toHaveLength(2);
    expect(logger.lines.some((l) => l.msg === 'Consul synced: 1 services, 2 instances')).toBe(true);
  });

  it('Consul down later: the last good state stays, stale in the registry status and in metrics, then recovers', async () => {
    const sim = await simulator();
    greeter(sim);
    const bus = new InMemoryBus();
    const metrics = new Registry();
    const a = adapter({ address: sim.url }, { metrics });
    await a.start(new BusRegistrySink(bus, a.source));
    await eventually('synced', () => bus.registry.get(a.source)?.shard.workloads.length === 2);
    const good = bus.registry.get(a.source)!.shard;
    await sim.down();
    await eventually('stale', () => bus.registry.get(a.source)?.stale);
    expect(bus.registry.get(a.source)!.shard).toBe(good);
    expect(bus.registry.get(a.source)!.error).toMatch(/watches failing: .*(refused|reset)/);
    expect(await metrics.metrics()).toContain('isthmus_consul_source_stale{source="consul/dc1"} 1');
    await sim.up();
    await eventually('recovered', () => bus.registry.get(a.source)?.stale === false);
    expect(bus.registry.get(a.source)!.shard.workloads).toHaveLength(2);
    expect(await metrics.metrics()).toContain('isthmus_consul_source_stale{source="consul/dc1"} 0');
    expect(await metrics.metrics()).toMatch(/isthmus_consul_requests_total\{source="consul\/dc1",endpoint="health",outcome="200"\} \d+/);
  });

  it('5xx answers mark the source stale with Consul\'s message and never empty it', async () => {
    const sim = await simulator();
    greeter(sim);
    const sink = await started(adapter({ address: sim.url }));
    await eventually('synced', () => sink.workloads().length === 2);
    const clear = sim.inject({ kind: 'error', status: 503, body: 'rpc error: No cluster leader' });
    await eventually('stale', () => sink.stale);
    expect(sink.lastError).toContain('HTTP 503: rpc error: No cluster leader');
    expect(sink.replaces().every((s) => s.workloads.length === 2)).toBe(true);
    clear();
    await eventually('recovered', () => !sink.stale);
  });

  it('slow answers within the timeout still converge; past the timeout the source goes stale, then recovers', async () => {
    const sim = await simulator();
    greeter(sim);
    sim.inject({ kind: 'slow', delayMs: 400 });
    const sink = await started(adapter({ address: sim.url }));
    await eventually('synced through slow answers', () => sink.workloads().length === 2);
    expect(sink.events.some((e) => e.type === 'stale')).toBe(false);
    sim.clearFaults();
    const clear = sim.inject({ kind: 'slow', delayMs: 5_000 });
    await eventually('a timeout to mark it stale', () => sink.stale);
    expect(sink.lastError).toMatch(/no answer within/);
    sim.registerInstance({ service: 'web', id: 'web-3', node: 'n3', nodeAddress: '10.0.0.3', port: 8080 });
    expect(sink.workloads()).toHaveLength(2);
    clear();
    await eventually('recovered with the change', () => !sink.stale && sink.workloads().length === 3);
  });

  it('index reset (snapshot restore): re-reads from 0 and sees changes written at the lower index', async () => {
    const sim = await simulator();
    greeter(sim);
    const metrics = new Registry();
    const sink = await started(adapter({ address: sim.url, tuning: { ...FAST, waitMs: 300 } }, { metrics }));
    await eventually('synced', () => sink.workloads().length === 2);
    sim.restoreSnapshot(5);
    sim.deregisterInstance('web-2');
    await eventually('the change after the restore', () => addresses(sink).join() === '10.0.0.1');
    expect(await metrics.metrics()).toMatch(/isthmus_consul_index_resets_total\{source="consul\/dc1"\} [1-9]/);
    expect(sink.events.some((e) => e.type === 'stale')).toBe(false);
  });

  for (const kind of ['zeroIndex', 'noIndex'] as const) {
    it(`X-Consul-Index ${kind === 'zeroIndex' ? '0' : 'missing'} on every answer: follows changes, logs it once, no hot loop`, async () => {
      const sim = await simulator();
      greeter(sim);
      sim.inject({ kind });
      const logger = captureLogger();
      const t0 = performance.now();
      const sink = await started(adapter({ address: sim.url, tuning: { ...FAST, perWatchRate: { burst: 2, perSecond: 10 } } }, { logger }));
      await eventually('synced', () => sink.workloads().length === 2);
      sim.deregisterInstance('web-1');
      await eventually('the change', () => addresses(sink).join() === '10.0.0.2');
      await eventually('a few re-reads', () => sim.requests('/v1/health/service/web').length >= 6);
      const elapsed = (performance.now() - t0) / 1000;
      // Two watches (catalog, web), each limited to 2 + 10/s.
      expect(sim.requests('/v1/').length).toBeLessThanOrEqual(2 * (2 + 10 * elapsed) + 2);
      const warnings = logger.lines.filter((l) => /X-Consul-Index/.test(l.msg));
      expect(warnings.length).toBe(2); // once per watch
    });
  }

  it('403 after a token rotation: stale with a hint, state kept, bounded retries; a rotated token file recovers it', async () => {
    const sim = await simulator({ aclTokens: { 'token-1': 'read' } });
    greeter(sim);
    const dir = await mkdtemp(join(tmpdir(), 'isthmus-consul-'));
    dirs.push(dir);
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'token-1\n');
    const sink = await started(adapter({ address: sim.url, tokenFile }));
    await eventually('synced', () => sink.workloads().length === 2);
    sim.setAclTokens({ 'token-2': 'read' });
    await eventually('stale', () => sink.stale);
    expect(sink.lastError).toContain('HTTP 403: ACL not found (check the ACL token: --consul-token / --consul-token-file)');
    expect(sink.workloads()).toHaveLength(2);
    const c0 = sim.requests('/v1/').length;
    const t0 = performance.now();
    await eventually('a few retries', () => sim.requests('/v1/').length >= c0 + 6);
    const elapsed = (performance.now() - t0) / 1000;
    expect(sim.requests('/v1/').length - c0).toBeLessThanOrEqual(2 * (FAST.perWatchRate.burst + FAST.perWatchRate.perSecond * elapsed) + 2);
    await writeFile(tokenFile, 'token-2\n');
    await eventually('recovered with the new token', () => !sink.stale);
    expect(sink.workloads()).toHaveLength(2);
  });

  it('a token file caught empty mid-rewrite does not make the adapter anonymous', async () => {
    const sim = await simulator({ aclTokens: { 'token-1': 'read' } });
    greeter(sim);
    const dir = await mkdtemp(join(tmpdir(), 'isthmus-consul-'));
    dirs.push(dir);
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'token-1');
    const sink = await started(adapter({ address: sim.url, tokenFile }));
    await eventually('synced', () => sink.workloads().length === 2);
    sim.setAclTokens({ 'token-2': 'read' });
    await eventually('stale', () => sink.stale);
    // The file as a writer leaves it between truncate and write.
    await writeFile(tokenFile, '');
    const c0 = sim.requests('/v1/').length;
    await eventually('retries that re-read the empty file', () => sim.requests('/v1/').length >= c0 + 6);
    // Still the old token (403), not anonymous (answers filtered to nothing).
    expect(sink.lastError).toContain('HTTP 403');
    await writeFile(tokenFile, 'token-2');
    await eventually('recovered with the new token', () => !sink.stale);
  });

  it('re-reads the token file when answers come back filtered by ACLs', async () => {
    const sim = await simulator({ aclTokens: { 'token-1': 'read', 'token-2': 'read' } });
    greeter(sim);
    const dir = await mkdtemp(join(tmpdir(), 'isthmus-consul-'));
    dirs.push(dir);
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'token-1');
    const sink = await started(adapter({ address: sim.url, tokenFile, tuning: { ...FAST, waitMs: 200 } }));
    await eventually('synced', () => sink.workloads().length === 2);
    await writeFile(tokenFile, 'token-2');
    // token-1 loses its rights without being revoked: no 403, just empty answers.
    sim.setAclTokens({ 'token-1': { servicePrefixes: [] }, 'token-2': 'read' });
    await eventually('recovered with the token from the file', () => sink.events.some((e) => e.type === 'stale') && !sink.stale);
    expect(sink.workloads()).toHaveLength(2);
  });

  it('a token that loses its read rights (ACL-filtered empty answers) does not wipe the registry', async () => {
    const sim = await simulator({ aclTokens: { t: 'read' } });
    greeter(sim);
    const sink = await started(adapter({ address: sim.url, token: 't', tuning: { ...FAST, waitMs: 200 } }));
    await eventually('synced', () => sink.workloads().length === 2);
    sim.setAclTokens({ t: { servicePrefixes: [] } });
    await eventually('stale', () => sink.stale);
    expect(sink.lastError).toMatch(/filtered out by ACLs \(does the token still have service:read\?\)/);
    expect(sink.workloads()).toHaveLength(2);
    sim.setAclTokens({ t: 'read' });
    await eventually('recovered', () => !sink.stale);
  });

  it('a deleted service leaves the shard and its watch stops', async () => {
    const sim = await simulator();
    greeter(sim);
    sim.registerInstance({ service: 'api', id: 'api-1', node: 'n1', port: 9090 });
    const a = adapter({ address: sim.url, tuning: { ...FAST, waitMs: 30_000 } });
    const sink = await started(a);
    await eventually('synced', () => sink.hosts().length === 2);
    await eventually('both watches blocking', () => sim.pendingQueries('/v1/health/service/api') === 1);
    sim.deregisterService('api');
    await eventually('api gone', () => sink.hosts().join() === 'web.service.consul');
    expect(a.watchedServices()).toEqual(['web']);
    await eventually('the api watch to end', () => sim.pendingQueries('/v1/health/service/api') === 0);
    const apiReads = sim.requests('/v1/health/service/api').length;
    sim.registerInstance({ service: 'web', id: 'web-3', node: 'n3', nodeAddress: '10.0.0.3', port: 8080 });
    await eventually('a later change', () => sink.workloads().length === 3);
    expect(sim.requests('/v1/health/service/api').length).toBe(apiReads);
  });
});

describe('Consul adapter: what it watches and how it maps', () => {
  it('watches only selected services: names, globs, excludes, tags; never consul itself or *-sidecar-proxy', async () => {
    const sim = await simulator();
    for (const [service, tags] of [['consul', []], ['web', ['mesh']], ['web-sidecar-proxy', ['mesh']], ['api', ['mesh']], ['billing', []], ['batch-1', ['mesh']]] as const) {
      sim.registerInstance({ service, id: `${service}-1`, port: 1, tags: [...tags] });
    }
    const all = adapter({ address: sim.url });
    await started(all);
    await eventually('all but consul and sidecars', () => all.watchedServices().join() === 'api,batch-1,billing,web');
    const some = adapter({ address: sim.url, services: ['web', 'batch-*', 'billing'], excludeServices: ['batch-*'] });
    await started(some);
    await eventually('names and globs', () => some.watchedServices().join() === 'billing,web');
    const tagged = adapter({ address: sim.url, tags: ['mesh'] });
    await started(tagged);
    await eventually('tags', () => tagged.watchedServices().join() === 'api,batch-1,web');
  });

  it('routes to Connect sidecars in sidecar mode', async () => {
    const sim = await simulator();
    sim.registerInstance({ service: 'web', id: 'web-1', node: 'n1', nodeAddress: '10.0.0.1', port: 8080, meta: { version: 'v1' } });
    sim.registerInstance({
      service: 'web-sidecar-proxy',
      id: 'web-1-sidecar-proxy',
      node: 'n1',
      port: 21000,
      kind: 'connect-proxy',
      proxy: { DestinationServiceName: 'web', DestinationServiceID: 'web-1', LocalServicePort: 8080 },
    });
    const ignore = await started(adapter({ address: sim.url }));
    const sidecar = await started(adapter({ address: sim.url, connect: 'sidecar', sourceId: 'dc1-connect' }));
    await eventually('both synced', () => ignore.synced && sidecar.synced);
    expect(ignore.workloads().map((w) => w.ports.tcp)).toEqual([8080]);
    expect(sidecar.workloads().map((w) => [w.address, w.ports.tcp, w.labels.version])).toEqual([['10.0.0.1', 21000, 'v1']]);
    sim.setHealth('web-1-sidecar-proxy', 'critical');
    await eventually('a failing sidecar takes its instance out', () => sidecar.workloads().length === 0);
  });

  it('scopes every request to its namespace and partition, and reports datacenters as regions', async () => {
    const sim = await simulator({ datacenters: ['dc2'] });
    sim.registerInstance({ service: 'web', id: 'web-1', port: 1, nodeAddress: '10.0.0.1' });
    sim.registerInstance({ service: 'web', id: 'web-2', port: 1, nodeAddress: '10.2.0.1', dc: 'dc2' });
    sim.registerInstance({ service: 'web', id: 'web-a', port: 1, nodeAddress: '10.9.0.1', namespace: 'team-a', partition: 'p1', node: 'na' });
    const dc1 = adapter({ address: sim.url, datacenter: 'dc1' });
    const dc2 = adapter({ address: sim.url, datacenter: 'dc2' });
    const teamA = adapter({ address: sim.url, datacenter: 'dc1', namespace: 'team-a', partition: 'p1' });
    expect([dc1.source, dc2.source, teamA.source]).toEqual(['consul/dc1', 'consul/dc2', 'consul/dc1/p1/team-a']);
    const [s1, s2, sa] = [await started(dc1), await started(dc2), await started(teamA)];
    await eventually('all synced', () => s1.synced && s2.synced && sa.synced);
    expect(s1.workloads().map((w) => [w.address, w.locality.region])).toEqual([['10.0.0.1', 'dc1']]);
    expect(s2.workloads().map((w) => [w.address, w.locality.region])).toEqual([['10.2.0.1', 'dc2']]);
    expect(sa.workloads().map((w) => [w.address, w.namespace])).toEqual([['10.9.0.1', 'team-a']]);
    for (const r of sim.requests('/v1/').filter((x) => x.query.includes('ns=team-a'))) expect(r.query).toContain('partition=p1');
  });

  it('two datacenters merge into one Service under a shared domain', async () => {
    const sim = await simulator({ datacenters: ['dc2'] });
    sim.registerInstance({ service: 'web', id: 'web-1', port: 1, nodeAddress: '10.0.0.1' });
    sim.registerInstance({ service: 'web', id: 'web-2', port: 1, nodeAddress: '10.2.0.1', dc: 'dc2' });
    const s1 = await started(adapter({ address: sim.url, datacenter: 'dc1', domain: 'mesh.internal' }));
    const s2 = await started(adapter({ address: sim.url, datacenter: 'dc2', domain: 'mesh.internal' }));
    await eventually('both synced', () => s1.synced && s2.synced);
    expect([...s1.hosts(), ...s2.hosts()]).toEqual(['web.mesh.internal', 'web.mesh.internal']);
  });

  it('serves warning instances when warning is HEALTHY (reading without ?passing)', async () => {
    const sim = await simulator();
    greeter(sim);
    sim.setHealth('web-2', 'warning');
    const strict = await started(adapter({ address: sim.url }));
    const lenient = await started(adapter({ address: sim.url, warning: 'HEALTHY', sourceId: 'lenient' }));
    await eventually('both synced', () => strict.synced && lenient.synced);
    expect(addresses(strict)).toEqual(['10.0.0.1']);
    expect(addresses(lenient)).toEqual(['10.0.0.1', '10.0.0.2']);
    const queries = sim.requests('/v1/health/service/web').map((r) => r.query);
    expect(queries.filter((q) => q.includes('passing')).length).toBeGreaterThan(0);
    expect(queries.filter((q) => !q.includes('passing')).length).toBeGreaterThan(0);
  });

  it('sends the ACL token and uses answers without a known leader, logging that once', async () => {
    const sim = await simulator({ aclTokens: { secret: 'read' } });
    greeter(sim);
    sim.inject({ kind: 'staleRead' });
    const logger = captureLogger();
    const sink = await started(adapter({ address: sim.url, token: 'secret' }, { logger }));
    await eventually('synced', () => sink.workloads().length === 2);
    expect(logger.lines.filter((l) => /without a known leader/.test(l.msg)).length).toBeGreaterThan(0);
  });
});

describe('Consul adapter: TLS to the agent', () => {
  const pem = (f: string) => readFile(join(TESTDATA, f));

  it('verifies Consul with the CA file and presents a client certificate', async () => {
    const sim = await simulator({ tls: { key: await pem('server.key'), cert: await pem('server.pem'), clientCa: await pem('ca.pem') } });
    greeter(sim);
    expect(sim.url).toMatch(/^https:/);
    const sink = await started(
      adapter({ address: sim.url, tls: { caFile: join(TESTDATA, 'ca.pem'), certFile: join(TESTDATA, 'client.pem'), keyFile: join(TESTDATA, 'client.key') } }),
    );
    await eventually('synced over TLS', () => sink.workloads().length === 2);
  });

  it('checks the server name it is told to, and refuses a certificate it cannot verify', async () => {
    const sim = await simulator({ tls: { key: await pem('server.key'), cert: await pem('server.pem') } });
    greeter(sim);
    const named = await started(adapter({ address: sim.url, tls: { caFile: join(TESTDATA, 'ca.pem'), serverName: 'server.dc1.consul' }, sourceId: 'named' }));
    const wrongName = await started(adapter({ address: sim.url, tls: { caFile: join(TESTDATA, 'ca.pem'), serverName: 'other.example' }, sourceId: 'wrong' }));
    const noCa = await started(adapter({ address: sim.url, sourceId: 'no-ca' }));
    const skip = await started(adapter({ address: sim.url, tls: { insecureSkipVerify: true }, sourceId: 'skip' }));
    await eventually('verified and skip-verify sync; the others are stale', () => named.synced && skip.synced && wrongName.stale && noCa.stale);
    expect(noCa.lastError).toMatch(/certificate/i);
    expect(wrongName.lastError).toMatch(/other\.example|altnames/i);
    expect(noCa.synced || wrongName.synced).toBe(false);
  });

  it('fails fast on a CA file that does not exist', () => {
    expect(() => new ConsulPlatformAdapter({ address: 'https://127.0.0.1:1', tls: { caFile: '/nonexistent/ca.pem' } })).toThrow(
      /consul: cannot read CA file \/nonexistent\/ca.pem/,
    );
  });
});

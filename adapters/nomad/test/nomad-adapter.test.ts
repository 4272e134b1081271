import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { BusRegistrySink, InMemoryBus } from '@isthmus/core';
import { NomadSimulator, uuid, type ServiceInput } from '../../../test/sim/nomad/src/index.js';
import { RecordingSink } from '../../../test/conformance/recording-sink.js';
import { freePort } from '../../../test/support/process.js';
import { NomadPlatformAdapter } from '../src/nomad-adapter.js';
import type { NomadAdapterOptions } from '../src/options.js';
import { FAST, captureLogger, eventually, type LogLine } from './helpers.js';

const TESTDATA = fileURLToPath(new URL('../../../test/sim/nomad/testdata/', import.meta.url));
const WEB = 'web.service.nomad';

let sims: NomadSimulator[] = [];
let adapters: NomadPlatformAdapter[] = [];

afterEach(async () => {
  for (const a of adapters.splice(0)) await a.stop();
  for (const s of sims.splice(0)) await s.stop();
});

async function simulator(options: Parameters<typeof NomadSimulator.start>[0] = {}): Promise<NomadSimulator> {
  const sim = await NomadSimulator.start({ jitter: false, heartbeatMs: 100, ...options });
  sims.push(sim);
  return sim;
}

function adapter(
  options: Partial<NomadAdapterOptions> & { address: string },
  extra: { logger?: ReturnType<typeof captureLogger>; metrics?: Registry } = {},
): NomadPlatformAdapter {
  const a = new NomadPlatformAdapter({ region: 'global', ...options, tuning: { ...FAST, ...(options.tuning ?? {}) } }, extra);
  adapters.push(a);
  return a;
}

async function started(a: NomadPlatformAdapter): Promise<RecordingSink> {
  const sink = new RecordingSink(a.source);
  await a.start(sink);
  return sink;
}

const ports = (sink: RecordingSink, host = WEB) => sink.workloads(host).flatMap((w) => Object.values(w.ports)).sort((a, b) => a - b);
const alloc = (name: string) => uuid(`adapter-test/${name}`);

/** One allocation of `web` listening on `port` (and so named after it). */
function web(sim: NomadSimulator, port: number, more: Partial<ServiceInput> = {}): string {
  sim.registerService({ service: 'web', allocId: alloc(`web-${port}`), address: '10.0.0.1', port, tags: ['v1'], ...more });
  return alloc(`web-${port}`);
}

describe('Nomad adapter: failure behaviour against the simulator', () => {
  it('Nomad down at start: start returns, retries with backoff, not synced, says why; syncs once Nomad is up', async () => {
    const port = await freePort();
    const logger = captureLogger();
    const bus = new InMemoryBus();
    const a = adapter({ address: `http://127.0.0.1:${port}` }, { logger });
    await a.start(new BusRegistrySink(bus, a.source));
    await eventually('a stale report', () => bus.registry.get(a.source)?.stale);
    const msg = bus.registry.get(a.source)!;
    expect(msg.synced).toBe(false);
    expect(msg.shard.workloads).toEqual([]);
    expect(msg.error).toContain(`connection refused by http://127.0.0.1:${port} (is Nomad running?)`);
    const warn = logger.lines.find((l: LogLine) => l.level === 'warn')!;
    expect(warn.msg).toMatch(/connection refused.*retrying with backoff \(not ready until Nomad has been read once\)/);
    // Nomad appears on that port.
    const sim = new NomadSimulator({ jitter: false });
    sims.push(sim);
    web(sim, 8080);
    web(sim, 8081);
    await sim.listen(port);
    await eventually('the first sync', () => bus.registry.get(a.source)?.synced);
    expect(bus.registry.get(a.source)).toMatchObject({ synced: true, stale: false });
    expect(bus.registry.get(a.source)!.shard.workloads).toHaveLength(2);
    expect(logger.lines.some((l) => l.msg === 'Nomad synced: 1 services, 2 registrations')).toBe(true);
  });

  it('Nomad down later: the last good state stays, stale in the registry status and in metrics, then recovers', async () => {
    const sim = await simulator();
    web(sim, 8080);
    web(sim, 8081);
    const bus = new InMemoryBus();
    const metrics = new Registry();
    const a = adapter({ address: sim.url }, { metrics });
    await a.start(new BusRegistrySink(bus, a.source));
    await eventually('synced', () => bus.registry.get(a.source)?.shard.workloads.length === 2);
    const good = bus.registry.get(a.source)!.shard;
    await sim.down();
    await eventually('stale', () => bus.registry.get(a.source)?.stale);
    expect(bus.registry.get(a.source)!.shard).toBe(good);
    expect(bus.registry.get(a.source)!.error).toMatch(/queries failing: .*(refused|reset)/);
    expect(await metrics.metrics()).toContain('isthmus_nomad_source_stale{source="nomad/global"} 1');
    await sim.up();
    await eventually('recovered', () => bus.registry.get(a.source)?.stale === false);
    expect(bus.registry.get(a.source)!.shard.workloads).toHaveLength(2);
    const text = await metrics.metrics();
    expect(text).toContain('isthmus_nomad_source_stale{source="nomad/global"} 0');
    expect(text).toMatch(/isthmus_nomad_requests_total\{source="nomad\/global",endpoint="service",outcome="200"\} \d+/);
    expect(text).toMatch(/isthmus_nomad_requests_total\{source="nomad\/global",endpoint="checks",outcome="200"\} \d+/);
  });

  it('5xx answers mark the source stale with Nomad\'s message and never empty it', async () => {
    const sim = await simulator();
    web(sim, 8080);
    web(sim, 8081);
    const sink = await started(adapter({ address: sim.url }));
    await eventually('synced', () => sink.workloads().length === 2);
    const clear = sim.inject({ kind: 'error', status: 500, body: 'rpc error: No cluster leader' });
    await eventually('stale', () => sink.stale);
    expect(sink.lastError).toContain('HTTP 500: rpc error: No cluster leader');
    expect(sink.replaces().every((s) => s.workloads.length === 2)).toBe(true);
    clear();
    await eventually('recovered', () => !sink.stale);
    web(sim, 8082);
    await eventually('a change after recovery', () => sink.workloads().length === 3);
  });

  it('slow answers within the timeout still converge; past the timeout the source goes stale, then recovers', async () => {
    const sim = await simulator();
    web(sim, 8080);
    sim.inject({ kind: 'slow', delayMs: 300 });
    // A short wait, so that a blocking read's timeout (wait + wait/16 + margin) is below the slow answer.
    const sink = await started(adapter({ address: sim.url, tuning: { waitMs: 1000 } }));
    await eventually('synced through slow answers', () => sink.workloads().length === 1);
    expect(sink.events.some((e) => e.type === 'stale')).toBe(false);
    sim.clearFaults();
    const clear = sim.inject({ kind: 'slow', delayMs: 5_000, path: '/v1/service' });
    // A change makes the blocking query answer, and the next read is slow past the timeout.
    web(sim, 8081);
    await eventually('a timeout to mark it stale', () => sink.stale);
    expect(sink.lastError).toMatch(/no answer within [\d.]+ ms/);
    clear();
    await eventually('recovered', () => !sink.stale && sink.workloads().length === 2);
  });

  it('index reset (snapshot restore): re-reads from 0, drops pending events and sees changes written at the lower index', async () => {
    const sim = await simulator();
    for (let p = 8080; p < 8090; p++) web(sim, p);
    const metrics = new Registry();
    const sink = await started(adapter({ address: sim.url }, { metrics }));
    await eventually('synced', () => sink.workloads().length === 10);
    await eventually('blocking', () => sim.pendingQueries('/v1/service/web') === 1);
    sim.restoreSnapshot(3);
    // The next write gets index 4, far below what the adapter has seen.
    web(sim, 9000);
    await eventually('the write after the restore', () => ports(sink).includes(9000));
    expect(await metrics.metrics()).toMatch(/isthmus_nomad_index_resets_total\{source="nomad\/global"\} [1-9]/);
    sim.stopAllocation(alloc('web-8080'));
    await eventually('a removal after the restore', () => !ports(sink).includes(8080));
  });

  for (const kind of ['zeroIndex', 'noIndex'] as const) {
    it(`X-Nomad-Index ${kind === 'zeroIndex' ? '0' : 'missing'} on every answer: follows changes, logs it once, no hot loop`, async () => {
      const sim = await simulator();
      web(sim, 8080);
      sim.inject({ kind, path: '/v1/service/' });
      const logger = captureLogger();
      const perWatchRate = { burst: 2, perSecond: 10 };
      const t0 = performance.now();
      const sink = await started(adapter({ address: sim.url, eventStream: false, health: 'placed', tuning: { perWatchRate } }, { logger }));
      await eventually('synced', () => sink.workloads().length === 1);
      web(sim, 8081);
      await eventually('the change', () => sink.workloads().length === 2);
      await eventually('several re-reads', () => sim.requests('/v1/service/web').length >= 8);
      const elapsed = (performance.now() - t0) / 1000;
      expect(sim.requests('/v1/service/web').length).toBeLessThanOrEqual(perWatchRate.burst + perWatchRate.perSecond * elapsed + 1);
      expect(logger.lines.filter((l) => /X-Nomad-Index/.test(l.msg))).toHaveLength(1);
      expect(sink.stale).toBe(false);
    });
  }
});

describe('Nomad adapter: the event stream', () => {
  it('brings registrations and deregistrations at once while the blocking queries are stuck', async () => {
    const sim = await simulator();
    web(sim, 8080);
    const metrics = new Registry();
    const sink = await started(adapter({ address: sim.url, health: 'placed' }, { metrics }));
    await eventually('synced and streaming', () => sink.workloads().length === 1 && sim.openStreams() === 1);
    await eventually('blocking', () => sim.pendingQueries('/v1/service/web') === 1 && sim.pendingQueries('/v1/services') === 1);
    // Every blocking query hangs from now on (including the one waiting): only events move.
    const clear = sim.inject({ kind: 'hang', path: '/v1/service' });
    web(sim, 8081);
    await eventually('the registration from the event', () => ports(sink).join() === '8080,8081');
    sim.stopAllocation(alloc('web-8080'));
    await eventually('the deregistration from the event', () => ports(sink).join() === '8081');
    // A brand-new service arrives the same way.
    sim.registerService({ service: 'api', allocId: alloc('api'), address: '10.0.0.9', port: 9090 });
    await eventually('a new service from the event', () => sink.hosts().includes('api.service.nomad'));
    expect(sink.workloads('api.service.nomad').map((w) => w.address)).toEqual(['10.0.0.9']);
    expect(await metrics.metrics()).toMatch(/isthmus_nomad_events_total\{source="nomad\/global",type="registration",outcome="applied"\} [2-9]/);
    clear();
    await eventually('the blocking queries to agree', () => !sink.stale && ports(sink).join() === '8081');
  });

  it('a dropped stream reconnects from the next index and re-reads every service (events may have been skipped)', async () => {
    const sim = await simulator();
    web(sim, 8080);
    const sink = await started(adapter({ address: sim.url, health: 'placed' }));
    await eventually('streaming', () => sink.workloads().length === 1 && sim.openStreams() === 1);
    await eventually('blocking', () => sim.pendingQueries('/v1/service/web') === 1);
    const before = sim.requests('/v1/service/web').length;
    for (let i = 0; i < 3; i++) {
      sim.dropStreams();
      web(sim, 8081 + i);
      await eventually('a reconnect', () => sim.openStreams() === 1 && sim.requests('/v1/event/stream').length >= i + 2);
    }
    await eventually('every change', () => ports(sink).join() === '8080,8081,8082,8083');
    // After a reconnect the service was re-read without blocking (no index).
    const relists = sim.requests('/v1/service/web').slice(before).filter((r) => !new URLSearchParams(r.query).has('index'));
    expect(relists.length).toBeGreaterThan(0);
    const streams = sim.requests('/v1/event/stream').map((r) => Number(new URLSearchParams(r.query).get('index')));
    // Never back: each reconnect resumes after what was seen (or listed).
    expect(streams.slice(1).every((idx, i) => idx >= streams[i]!)).toBe(true);
    expect(streams.at(-1)).toBeGreaterThan(streams[0]!);
    expect(sink.stale).toBe(false);
  });

  it('a lagging stream never brings back what the blocking queries have already removed', async () => {
    const sim = await simulator();
    web(sim, 8080);
    const metrics = new Registry();
    const sink = await started(adapter({ address: sim.url, health: 'placed' }, { metrics }));
    await eventually('streaming', () => sink.workloads().length === 1 && sim.openStreams() === 1);
    sim.inject({ kind: 'lag', delayMs: 400 });
    web(sim, 8081);
    await eventually('the registration (from the blocking query)', () => ports(sink).join() === '8080,8081');
    sim.stopAllocation(alloc('web-8081'));
    await eventually('the deregistration (from the blocking query)', () => ports(sink).join() === '8080');
    const mark = sink.events.length;
    // The late events arrive now; they are older than what the query showed.
    await eventually('the late events to be ignored', async () =>
      /isthmus_nomad_events_total\{source="nomad\/global",type="deregistration",outcome="superseded"\} 1/.test(await metrics.metrics()),
    );
    for (const e of sink.events.slice(mark)) if (e.type === 'replace') expect(e.shard.workloads.map((w) => Object.values(w.ports)[0])).toEqual([8080]);
  });

  it('a stream silent without heartbeats is reopened after the idle timeout, and nothing is missed', async () => {
    const sim = await simulator({ heartbeatMs: 50 });
    web(sim, 8080);
    const metrics = new Registry();
    const sink = await started(adapter({ address: sim.url, health: 'placed', tuning: { streamIdleTimeoutMs: 300 } }, { metrics }));
    await eventually('streaming', () => sink.workloads().length === 1 && sim.openStreams() === 1);
    const clear = sim.inject({ kind: 'silent' });
    web(sim, 8081);
    await eventually('an idle reconnect', async () =>
      /isthmus_nomad_event_stream_reconnects_total\{source="nomad\/global",namespace="default",reason="idle"\} [1-9]/.test(await metrics.metrics()),
    );
    clear();
    web(sim, 8082);
    await eventually('every change', () => ports(sink).join() === '8080,8081,8082');
    expect(sink.stale).toBe(false);
  });

  it('works on blocking queries alone while the stream is refused, without going stale', async () => {
    const sim = await simulator();
    sim.inject({ kind: 'error', status: 500, body: 'event broker disabled', path: '/v1/event/stream' });
    web(sim, 8080);
    const logger = captureLogger();
    const sink = await started(adapter({ address: sim.url, health: 'placed' }, { logger }));
    await eventually('synced', () => sink.workloads().length === 1);
    web(sim, 8081);
    await eventually('the change', () => sink.workloads().length === 2);
    await eventually('the stream failure logged', () => logger.lines.some((l) => /event stream failed: .*event broker disabled/.test(l.msg)));
    expect(sink.events.some((e) => e.type === 'stale')).toBe(false);
  });
});

describe('Nomad adapter: scale', () => {
  it('many services: one complete shard, one blocking query per service', async () => {
    const sim = await simulator();
    for (let i = 0; i < 300; i++) {
      sim.registerService({ service: `svc-${i}`, allocId: alloc(`svc-${i}-a`), address: '10.1.0.1', port: 20000 + i });
      sim.registerService({ service: `svc-${i}`, allocId: alloc(`svc-${i}-b`), address: '10.1.0.2', port: 20000 + i });
    }
    const a = adapter({ address: sim.url, tuning: { globalRate: { burst: 400, perSecond: 400 }, checkRate: { burst: 600, perSecond: 600 } } });
    const sink = await started(a);
    // Generous bounds: 1,200 requests on a loaded machine; not a performance assertion.
    await eventually('synced', () => sink.synced, 60_000);
    expect(sink.replaces()[0]!.workloads).toHaveLength(600);
    expect(sink.hosts()).toHaveLength(300);
    expect(a.watchedServices()).toHaveLength(300);
    await eventually('one blocking query per service', () => sim.pendingQueries('/v1/service/') === 300, 60_000);
  });
});

describe('Nomad adapter: namespaces, ACLs, regions, TLS', () => {
  async function teams(): Promise<NomadSimulator> {
    const sim = await simulator();
    sim.registerService({ service: 'web', namespace: 'default', allocId: alloc('d'), address: '10.0.0.1', port: 8080 });
    sim.registerService({ service: 'web', namespace: 'team-a', allocId: alloc('a'), address: '10.0.0.2', port: 8080 });
    sim.registerService({ service: 'db', namespace: 'team-b', allocId: alloc('b'), address: '10.0.0.3', port: 5432 });
    return sim;
  }

  it('reads one namespace, several, or all of them (*)', async () => {
    const sim = await teams();
    const one = await started(adapter({ address: sim.url, namespaces: ['team-a'], sourceId: 'a' }));
    await eventually('team-a', () => one.synced);
    expect(one.workloads().map((w) => [w.address, w.namespace])).toEqual([['10.0.0.2', 'team-a']]);
    const two = await started(adapter({ address: sim.url, namespaces: ['team-a', 'team-b'], sourceId: 'b' }));
    await eventually('two namespaces', () => two.synced);
    expect(two.hosts()).toEqual(['db.service.nomad', WEB]);
    const all = await started(adapter({ address: sim.url, namespaces: ['*'], sourceId: 'c' }));
    await eventually('every namespace', () => all.synced);
    // The same name in two namespaces is one mesh host under the default naming ...
    expect(all.workloads(WEB).map((w) => w.address)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(all.shard!.services.filter((s) => s.hostname === WEB)).toHaveLength(1);
    // ... and follows changes in any namespace, by event and by query.
    sim.registerService({ service: 'cache', namespace: 'team-c', allocId: alloc('c'), address: '10.0.0.4', port: 6379 });
    await eventually('a service in a new namespace', () => all.hosts().includes('cache.service.nomad'));
  });

  it('keeps namespaces apart with {namespace} in the naming template', async () => {
    const sim = await teams();
    const sink = await started(adapter({ address: sim.url, namespaces: ['*'], domain: '{service}.{namespace}.nomad' }));
    await eventually('synced', () => sink.synced);
    expect(sink.hosts()).toEqual(['db.team-b.nomad', 'web.default.nomad', 'web.team-a.nomad']);
  });

  it('sends its ACL token; a token without rights marks the source stale with a hint; * shows what the token may read', async () => {
    const sim = await teams();
    sim.setAclTokens({ reader: 'read', teamA: { namespaces: ['team-a'] } });
    const denied = await started(adapter({ address: sim.url, sourceId: 'denied' }));
    await eventually('stale', () => denied.stale);
    expect(denied.lastError).toMatch(/HTTP 403: Permission denied \(check the ACL token/);
    const ok = await started(adapter({ address: sim.url, token: 'reader', namespaces: ['default'], sourceId: 'reader' }));
    await eventually('synced', () => ok.synced);
    expect(ok.workloads().map((w) => w.address)).toEqual(['10.0.0.1']);
    const limited = await started(adapter({ address: sim.url, token: 'teamA', namespaces: ['*'], sourceId: 'limited' }));
    await eventually('synced', () => limited.synced);
    expect(limited.workloads().map((w) => w.address)).toEqual(['10.0.0.2']);
  });

  it('reads the region it is given', async () => {
    const sim = await simulator({ regions: ['eu'] });
    web(sim, 8080);
    sim.registerService({ service: 'web', allocId: alloc('eu'), address: '10.9.0.1', port: 8080, region: 'eu', datacenter: 'eu-west-1' });
    const a = adapter({ address: sim.url, region: 'eu' });
    expect(a.source).toBe('nomad/eu');
    const sink = await started(a);
    await eventually('synced', () => sink.synced);
    expect(sink.workloads().map((w) => [w.address, w.locality.region, w.labels['nomad.hashicorp.com/region']])).toEqual([['10.9.0.1', 'eu-west-1', 'eu']]);
  });

  it('reads Nomad over mutual TLS', async () => {
    const { readFileSync } = await import('node:fs');
    const pem = (f: string) => readFileSync(join(TESTDATA, f));
    const sim = await simulator({ tls: { key: pem('server.key'), cert: pem('server.pem'), clientCa: pem('ca.pem') } });
    web(sim, 8080);
    const sink = await started(
      adapter({
        address: sim.url,
        tls: { caFile: join(TESTDATA, 'ca.pem'), certFile: join(TESTDATA, 'client.pem'), keyFile: join(TESTDATA, 'client.key'), serverName: 'server.global.nomad' },
      }),
    );
    await eventually('synced over TLS', () => sink.workloads().length === 1);
    web(sim, 8081);
    await eventually('the event or query over TLS', () => sink.workloads().length === 2);
  });
});

describe('Nomad adapter: mapping and health', () => {
  it('publishes a canary deployment with its canary tags: version and canary labels', async () => {
    const sim = await simulator();
    web(sim, 8080, { tags: ['v1', 'protocol=grpc', 'mesh_port=50051'] });
    web(sim, 8081, { tags: ['v2', 'canary', 'protocol=grpc', 'mesh_port=50051'] });
    const sink = await started(adapter({ address: sim.url }));
    await eventually('synced', () => sink.workloads().length === 2);
    expect(sink.shard!.services[0]!.ports).toEqual([{ name: 'grpc', number: 50051, protocol: 'GRPC' }]);
    expect(sink.workloads().map((w) => [w.ports.grpc, w.labels.version, w.labels.canary]).sort()).toEqual([
      [8080, 'v1', undefined],
      [8081, 'v2', 'true'],
    ]);
  });

  it('health from allocation checks: a failing or pending check keeps an allocation out, no checks means placed', async () => {
    const sim = await simulator();
    const a1 = web(sim, 8080);
    const a2 = web(sim, 8081);
    web(sim, 8082); // no checks at all
    sim.setCheck({ allocId: a1, status: 'success' });
    sim.setCheck({ allocId: a2, status: 'failure' });
    const sink = await started(adapter({ address: sim.url }));
    await eventually('synced', () => sink.synced);
    expect(ports(sink)).toEqual([8080, 8082]);
    sim.setCheck({ allocId: a2, status: 'success' });
    await eventually('a2 healthy', () => ports(sink).join() === '8080,8081,8082');
    sim.setCheck({ allocId: a1, status: 'failure' });
    await eventually('a1 out', () => ports(sink).join() === '8081,8082');
    // A new allocation whose check has not passed yet is not served.
    const a4 = web(sim, 8083);
    sim.setCheck({ allocId: a4, status: 'pending' });
    await eventually('its checks read', () => sim.requests(`/v1/client/allocation/${a4}/checks`).length > 0);
    expect(ports(sink)).not.toContain(8083);
    sim.setCheck({ allocId: a4, status: 'success' });
    await eventually('a4 ready', () => ports(sink).includes(8083));
  });

  it('checks it cannot read leave the allocation placed, and health "placed" reads none', async () => {
    const sim = await simulator();
    const a1 = web(sim, 8080);
    sim.setCheck({ allocId: a1, status: 'failure' });
    sim.inject({ kind: 'error', status: 500, body: 'client node unreachable', path: '/v1/client/' });
    const logger = captureLogger();
    const checking = adapter({ address: sim.url }, { logger });
    const sink = await started(checking);
    await eventually('synced', () => sink.synced);
    expect(ports(sink)).toEqual([8080]);
    expect(logger.lines.some((l) => /cannot read allocation check results .*client node unreachable/.test(l.msg))).toBe(true);
    expect(sink.stale).toBe(false);
    await checking.stop();
    adapters = adapters.filter((a) => a !== checking);
    const before = sim.requests('/v1/client/').length;
    const placed = await started(adapter({ address: sim.url, health: 'placed', sourceId: 'placed' }));
    await eventually('synced', () => placed.synced);
    web(sim, 8081);
    await eventually('a change', () => ports(placed).join() === '8080,8081');
    expect(sim.requests('/v1/client/').length).toBe(before);
  });

  it('watches only the services and tags asked for', async () => {
    const sim = await simulator();
    web(sim, 8080, { tags: ['mesh'] });
    sim.registerService({ service: 'api', allocId: alloc('api'), address: '10.0.0.2', port: 9090, tags: ['mesh'] });
    sim.registerService({ service: 'batch', allocId: alloc('batch'), address: '10.0.0.3', port: 7070 });
    const byName = await started(adapter({ address: sim.url, services: ['we*'], sourceId: 'names' }));
    const byTag = await started(adapter({ address: sim.url, tags: ['mesh'], sourceId: 'tags' }));
    await eventually('synced', () => byName.synced && byTag.synced);
    expect(byName.hosts()).toEqual([WEB]);
    expect(byTag.hosts()).toEqual(['api.service.nomad', WEB]);
  });
});

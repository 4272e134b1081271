import { afterEach, describe, expect, it } from 'vitest';
import { ConsulSimulator } from '../../../test/sim/consul/src/index.js';
import { RecordingSink } from '../../../test/conformance/recording-sink.js';
import { ConsulPlatformAdapter } from '../src/consul-adapter.js';
import type { ConsulTuning } from '../src/options.js';
import { FAST, eventually } from './helpers.js';

// Thousands of services: watches only for the services that matter, one long-held query
// per watched service (nothing per service per second while idle), watches stopped when
// services go, and a shared token bucket that bounds requests under churn.

let sim: ConsulSimulator;
let adapter: ConsulPlatformAdapter | undefined;
afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
  await sim?.stop();
});

async function start(tuning: Partial<ConsulTuning>, extra: { tags?: string[] } = {}): Promise<RecordingSink> {
  adapter = new ConsulPlatformAdapter({ address: sim.url, datacenter: 'dc1', ...extra, tuning: { ...FAST, ...tuning } });
  const sink = new RecordingSink(adapter.source);
  await adapter.start(sink);
  return sink;
}

function register(n: number, tagEvery = 0): void {
  for (let i = 0; i < n; i++) {
    sim.registerInstance({
      service: `svc-${i}`,
      id: `svc-${i}-1`,
      node: `node-${i % 50}`,
      nodeAddress: `10.0.${i % 50}.1`,
      port: 8000,
      tags: tagEvery && i % tagEvery === 0 ? ['mesh'] : [],
    });
  }
}

const healthReads = () => sim.requests('/v1/health/service/').length;

describe('Consul adapter with thousands of services', () => {
  it('watches only the services selected by tag', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    register(2000, 100);
    const sink = await start({ waitMs: 30_000 }, { tags: ['mesh'] });
    await eventually('synced', () => sink.synced);
    expect(sink.hosts()).toHaveLength(20);
    await eventually('20 blocking watches', () => sim.pendingQueries('/v1/health/service/') === 20);
    const names = new Set(sim.requests('/v1/health/service/').map((r) => r.path.split('/').pop()));
    expect(names.size).toBe(20);
    expect(healthReads()).toBeLessThanOrEqual(40);
  });

  it('holds one blocking query per service, re-reads only what changed, and stops watches for services that go', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    register(2000);
    // A wait longer than the test: any extra read would be polling, not a wait expiring.
    const sink = await start({ waitMs: 300_000, requestTimeoutMs: 60_000, globalRate: { burst: 5000, perSecond: 5000 } });
    await eventually('synced', () => sink.synced, 60_000);
    expect(sink.replaces()[0]!.services).toHaveLength(2000);
    await eventually('a blocking query per service', () => sim.pendingQueries('/v1/health/service/') === 2000, 60_000);
    // One initial read and one blocking read per service: nothing polls.
    expect(healthReads()).toBe(4000);
    sim.setHealth('svc-7-1', 'critical');
    await eventually('svc-7 out of service', () => sink.workloads('svc-7.service.consul').length === 0);
    await eventually('svc-7 blocking again', () => sim.pendingQueries('/v1/health/service/') === 2000);
    expect(healthReads()).toBe(4001);

    for (let i = 500; i < 2000; i++) sim.deregisterService(`svc-${i}`);
    await eventually('500 services left', () => sink.hosts().length === 500, 60_000);
    expect(adapter!.watchedServices()).toHaveLength(500);
    await eventually('the other 1500 watches to end', () => sim.pendingQueries('/v1/health/service/') === 500, 60_000);
    expect(sink.violations).toEqual([]);
  });

  it('keeps requests within the shared token bucket while every service churns', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    register(300);
    const globalRate = { burst: 50, perSecond: 100 };
    const sink = await start({ waitMs: 30_000, globalRate, perWatchRate: { burst: 2, perSecond: 20 } });
    await eventually('synced', () => sink.synced, 60_000);
    await eventually('all blocking', () => sim.pendingQueries('/v1/health/service/') === 300, 60_000);
    const c0 = sim.requests('/v1/').length;
    const t0 = performance.now();
    // Touch every service over and over: each touch wakes its watch. Alone, 300 watches at
    // 20/s each could make 6000 requests a second.
    while (sim.requests('/v1/').length < c0 + 300) {
      for (let i = 0; i < 300; i++) sim.touch(`svc-${i}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const elapsed = (performance.now() - t0) / 1000;
    const made = sim.requests('/v1/').length - c0;
    // A handful granted just before t0 may arrive after it.
    expect(made).toBeLessThanOrEqual(globalRate.burst + globalRate.perSecond * elapsed + 10);
    // Bodies did not change, so nothing was published.
    expect(sink.replaces()).toHaveLength(1);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlatformAdapter, Workload } from '@isthmus/core';
import { waitFor } from '../support/process.js';
import { RecordingSink } from './recording-sink.js';

/**
 * The adapter conformance suite: the behaviour every platform adapter (Consul, Nomad,
 * Kubernetes, third-party plugins) must show, whatever its platform. It is parameterised
 * by a driver that knows how to change and break one platform (usually a simulator);
 * the assertions only look at what the adapter tells its RegistrySink.
 *
 *   describeAdapterConformance(() => new MyPlatformDriver());
 *
 * See docs/writing-an-adapter.md.
 */

/** One instance of a platform service, as the suite registers it. */
export interface InstanceSpec {
  readonly service: string;
  /** Unique per platform. */
  readonly id: string;
  /** An IP literal. */
  readonly address: string;
  readonly port: number;
  /** Becomes the workload's `version` label. */
  readonly version?: string;
}

/** How the platform fails: refuses connections, answers 5xx, or accepts and never answers. */
export type BreakMode = 'down' | 'errors' | 'hang';

export interface ConformanceDriver {
  readonly name: string;
  /** A fresh, empty, running platform. Called before each test. */
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A new adapter on the platform, tuned so the suite runs fast (short waits, timeouts, backoff). */
  createAdapter(): PlatformAdapter;
  /** The mesh hostname the adapter gives a platform service under its default naming. */
  hostname(service: string): string;
  /** Registers an instance, or updates it when the id exists. */
  register(instance: InstanceSpec): Promise<void>;
  deregister(service: string, id: string): Promise<void>;
  /** Per-instance health. Platforms without it leave this out and the health tests do not apply. */
  setHealthy?(service: string, id: string, healthy: boolean): Promise<void>;
  /** Makes the platform fail (also before the adapter starts). */
  break(mode: BreakMode): Promise<void>;
  /** Undoes every `break`. */
  restore(): Promise<void>;
  /** Requests the platform has received so far; with `maxRequestsWhileFailing`, enables the no-hot-loop test. */
  requestCount?(): number;
  /** Most requests the adapter may make in `elapsedMs` while every request fails (its rate limit + backoff). */
  maxRequestsWhileFailing?(elapsedMs: number): number;
  /**
   * Generous bound for convergence; not a performance assertion. Default 15 s. Keep it
   * below the adapter's own long-poll period, so that nothing may wait for one to expire.
   */
  readonly timeoutMs?: number;
  /** Bound for noticing a platform that accepts requests and never answers (its request timeout). Default `timeoutMs`. */
  readonly hangTimeoutMs?: number;
}

export function describeAdapterConformance(makeDriver: () => ConformanceDriver): void {
  const driver = makeDriver();
  const timeout = driver.timeoutMs ?? 15_000;

  describe(`platform adapter conformance: ${driver.name}`, () => {
    let adapter: PlatformAdapter | undefined;
    let sink: RecordingSink;
    let stopped = false;

    const until = (what: string, cond: () => boolean) => waitFor(() => cond(), what, timeout, 10);
    const start = async () => {
      adapter = driver.createAdapter();
      sink = new RecordingSink(adapter.source);
      stopped = false;
      await startPromptly(adapter, sink, timeout);
      return adapter;
    };
    const ids = (host?: string) => sink.workloads(host).map((w) => w.id);
    const byVersion = (host: string) => sink.workloads(host).map((w) => w.labels.version ?? '').sort();

    beforeEach(async () => {
      await driver.setup();
    });

    afterEach(async () => {
      if (adapter && !stopped) await adapter.stop();
      adapter = undefined;
      await driver.restore();
      await driver.teardown();
      expect(sink?.violations ?? []).toEqual([]);
    });

    it('publishes nothing before its first complete read, then everything at once', async () => {
      await driver.register({ service: 'web', id: 'web-1', address: '10.0.0.1', port: 8080, version: 'v1' });
      await driver.register({ service: 'web', id: 'web-2', address: '10.0.0.2', port: 8080, version: 'v2' });
      await driver.register({ service: 'api', id: 'api-1', address: '10.0.0.3', port: 9090, version: 'v1' });
      const a = await start();
      expect(a.source).toMatch(/^[a-z0-9-]+\/\S+$/);
      await until('the first replace', () => sink.synced);
      const first = sink.replaces()[0]!;
      // The first replace marks the source synced: it must already hold the whole platform.
      expect(first.workloads).toHaveLength(3);
      expect(sink.hosts()).toEqual([driver.hostname('api'), driver.hostname('web')].sort());
    });

    it('maps instances to workloads: host, address, port, version label, health, locality', async () => {
      await driver.register({ service: 'web', id: 'web-1', address: '10.0.0.1', port: 8080, version: 'v1' });
      await driver.register({ service: 'web', id: 'web-2', address: '10.0.0.2', port: 8081, version: 'v2' });
      await start();
      await until('two workloads', () => sink.workloads().length === 2);
      const host = driver.hostname('web');
      const ws = sink.workloads(host);
      expect(ws.map((w) => w.address).sort()).toEqual(['10.0.0.1', '10.0.0.2']);
      expect(ws.map((w) => Object.values(w.ports)).flat().sort()).toEqual([8080, 8081]);
      expect(byVersion(host)).toEqual(['v1', 'v2']);
      for (const w of ws) {
        expect(w.health).toBe('HEALTHY');
        expect(w.namespace).toBeTruthy();
        expect(w.locality).toBeTypeOf('object');
      }
      const service = sink.shard!.services.find((s) => s.hostname === host)!;
      expect(service.sources).toEqual([adapter!.source]);
    });

    it('follows registrations, updates and deregistrations, keeping ids stable', async () => {
      await driver.register({ service: 'web', id: 'web-1', address: '10.0.0.1', port: 8080, version: 'v1' });
      await start();
      const host = driver.hostname('web');
      await until('web-1', () => sink.workloads(host).length === 1);
      const firstId = ids(host)[0];

      await driver.register({ service: 'web', id: 'web-2', address: '10.0.0.2', port: 8080, version: 'v2' });
      await until('web-2 to appear', () => sink.workloads(host).length === 2);
      expect(ids(host)).toContain(firstId);

      await driver.register({ service: 'web', id: 'web-2', address: '10.0.0.2', port: 8080, version: 'v3' });
      await until('web-2 to become v3', () => byVersion(host).join() === 'v1,v3');

      await driver.deregister('web', 'web-2');
      await until('web-2 to disappear', () => sink.workloads(host).length === 1);
      expect(ids(host)).toEqual([firstId]);

      await driver.register({ service: 'api', id: 'api-1', address: '10.0.0.9', port: 9090 });
      await until('a new service', () => sink.hosts().includes(driver.hostname('api')));
    });

    it('drops every workload of a service whose instances all leave, and takes it back when it returns', async () => {
      await driver.register({ service: 'web', id: 'web-1', address: '10.0.0.1', port: 8080 });
      await driver.register({ service: 'api', id: 'api-1', address: '10.0.0.2', port: 9090 });
      await start();
      const host = driver.hostname('web');
      await until('both services', () => sink.workloads().length === 2);
      await driver.deregister('web', 'web-1');
      await until('web to have no workloads', () => sink.workloads(host).length === 0);
      expect(sink.workloads(driver.hostname('api'))).toHaveLength(1);
      await driver.register({ service: 'web', id: 'web-1', address: '10.0.0.1', port: 8080 });
      await until('web to come back', () => sink.workloads(host).length === 1);
    });

    if (driver.setHealthy) {
      it('does not serve an unhealthy instance, and serves it again once healthy', async () => {
        await driver.register({ service: 'web', id: 'web-1', address: '10.0.0.1', port: 8080 });
        await driver.register({ service: 'web', id: 'web-2', address: '10.0.0.2', port: 8080 });
        await start();
        const host = driver.hostname('web');
        const serving = () => sink.workloads(host).filter((w: Workload) => w.health === 'HEALTHY').map((w) => w.address);
        await until('two healthy', () => serving().length === 2);
        await driver.setHealthy!('web', 'web-2', false);
        await until('web-2 out of service', () => serving().join() === '10.0.0.1');
        await driver.setHealthy!('web', 'web-2', true);
        await until('web-2 back', () => serving().length === 2);
      });
    }

    it('starts while the platform is down: not synced, stale with a reason, then syncs when it is up', async () => {
      await driver.register({ service: 'web', id: 'web-1', address: '10.0.0.1', port: 8080 });
      await driver.break('down');
      await start();
      await until('a stale report', () => sink.events.some((e) => e.type === 'stale'));
      expect(sink.synced).toBe(false);
      expect(sink.lastError).toBeTruthy();
      await driver.restore();
      await until('the first replace after the platform came up', () => sink.synced);
      expect(sink.workloads()).toHaveLength(1);
      expect(sink.stale).toBe(false);
    });

    for (const mode of ['down', 'errors', 'hang'] as const) {
      it(`keeps its last state while the platform ${describeMode(mode)}, marks it stale, and catches up afterwards`, async () => {
        await driver.register({ service: 'web', id: 'web-1', address: '10.0.0.1', port: 8080, version: 'v1' });
        await driver.register({ service: 'web', id: 'web-2', address: '10.0.0.2', port: 8080, version: 'v2' });
        await start();
        await until('synced', () => sink.workloads().length === 2);
        const good = JSON.stringify(sink.workloads());
        const mark = sink.events.length;
        await driver.break(mode);
        if (mode === 'hang') await waitFor(() => sink.stale, 'the source to be marked stale', driver.hangTimeoutMs ?? timeout, 10);
        else await until('the source to be marked stale', () => sink.stale);
        // Nothing published during the outage may lose what was known.
        for (const e of sink.events.slice(mark)) if (e.type === 'replace') expect(JSON.stringify(sortById(e.shard.workloads))).toBe(good);
        expect(JSON.stringify(sink.workloads())).toBe(good);
        await driver.restore();
        await until('the stale mark to clear', () => !sink.stale);
        await driver.register({ service: 'web', id: 'web-3', address: '10.0.0.3', port: 8080, version: 'v3' });
        await until('a change after recovery', () => sink.workloads().length === 3);
      });
    }

    if (driver.requestCount && driver.maxRequestsWhileFailing) {
      it('does not hot-loop while every request fails', async () => {
        await driver.register({ service: 'web', id: 'web-1', address: '10.0.0.1', port: 8080 });
        await start();
        await until('synced', () => sink.synced);
        await driver.break('errors');
        await until('stale', () => sink.stale);
        const c0 = driver.requestCount!();
        const t0 = performance.now();
        // It keeps retrying (a condition, not a sleep) ...
        await until('a few retries', () => driver.requestCount!() >= c0 + 5);
        // ... but no faster than its rate limit and backoff allow over the time it took.
        const elapsed = performance.now() - t0;
        expect(driver.requestCount!() - c0).toBeLessThanOrEqual(driver.maxRequestsWhileFailing!(elapsed));
      });
    }

    it('handles many services in one complete shard', async () => {
      for (let i = 0; i < 100; i++) {
        await driver.register({ service: `svc-${i}`, id: `svc-${i}-a`, address: '10.1.0.1', port: 7000 + i });
        await driver.register({ service: `svc-${i}`, id: `svc-${i}-b`, address: '10.1.0.2', port: 7000 + i });
      }
      await start();
      await until('synced', () => sink.synced);
      expect(sink.replaces()[0]!.workloads).toHaveLength(200);
      expect(sink.hosts()).toHaveLength(100);
    });

    it('stops promptly and calls the sink no more', async () => {
      await driver.register({ service: 'web', id: 'web-1', address: '10.0.0.1', port: 8080 });
      const a = await start();
      await until('synced', () => sink.synced);
      await withTimeout(a.stop(), timeout, 'stop()');
      stopped = true;
      sink.closed = true;
      await driver.register({ service: 'web', id: 'web-2', address: '10.0.0.2', port: 8080 });
      await driver.break('errors');
      // Give a misbehaving adapter the chance to call the sink: wait for the platform to
      // change state, then check the violations in afterEach.
      await driver.restore();
    });
  });
}

function describeMode(mode: 'down' | 'errors' | 'hang'): string {
  return mode === 'down' ? 'is down' : mode === 'errors' ? 'answers with errors' : 'stops answering';
}

function sortById(ws: readonly Workload[]): Workload[] {
  return [...ws].sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** `start` must return once watching has begun, not wait for the platform. */
async function startPromptly(adapter: PlatformAdapter, sink: RecordingSink, timeout: number): Promise<void> {
  await withTimeout(adapter.start(sink), timeout, 'start()');
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not return within ${ms} ms`)), ms);
    }),
  ]);
}

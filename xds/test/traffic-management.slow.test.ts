import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import type { DestinationPolicy, HttpRoute, MeshSnapshot, TrafficPolicy } from '@isthmus/core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM helper shared with the demo and the end-to-end tests
import { helloworld } from '../../examples/greeter/greeter.mjs';
import { greeterClient, sayHello, startGreeter, useXdsServer } from '../../test/support/xds-client.js';
import { XdsServer } from '../src/server.js';
import { aDestinationPolicy, aMatch, aRouteTable, aService, aSnapshot, aWorkload } from './helpers/builders.js';

// Traffic-management rules enforced by a real @grpc/grpc-js-xds 1.14 client against real
// gRPC backends (examples/greeter), one xDS server for the file (the client's bootstrap
// is per process). Each scenario has its own service, so one snapshot holds them all and
// every channel starts with its rules in place (grpc-js applies a new max_requests only
// when a cluster's child policy changes state, XDS-INTEROP).

interface Backend {
  readonly port: number;
  calls(): number;
  stop(): Promise<void>;
}

const host = (name: string) => `${name}.traffic.svc.cluster.local`;
const PORT = 50051;

/** A greeter that answers after `delayMs`. */
async function startSlowGreeter(version: string, delayMs: number): Promise<Backend> {
  const server = new grpc.Server();
  let calls = 0;
  server.addService(helloworld().Greeter.service, {
    SayHello(call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      calls++;
      setTimeout(() => cb(null, { message: `Hello ${call.request.name}`, version, instance: version }), delayMs);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, calls: () => calls, stop: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

type Call = { ok: true; version: string; ms: number } | { ok: false; code: number; details: string; ms: number };

async function call(client: grpc.Client, headers: Record<string, string> = {}, deadlineMs = 10_000): Promise<Call> {
  const started = performance.now();
  try {
    const reply = (await sayHello(client, { headers, deadlineMs })) as { version: string };
    return { ok: true, version: reply.version, ms: performance.now() - started };
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { ok: false, code: e.code, details: e.details, ms: performance.now() - started };
  }
}

async function calls(client: grpc.Client, n: number, headers: Record<string, string> = {}, concurrency = 10): Promise<Call[]> {
  const out: Call[] = [];
  let issued = 0;
  const worker = async () => {
    while (issued < n) {
      issued++;
      out.push(await call(client, headers));
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker));
  return out;
}

/** Polls until `probe` is truthy (generous timeout; no timing assertion). */
async function waitFor<T>(probe: () => Promise<T | false | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('traffic management with a real grpc-js-xds client', () => {
  const backends: Record<string, Backend> = {};
  const clients: grpc.Client[] = [];
  let server: XdsServer;
  let registry: Registry;

  const client = (name: string): grpc.Client => {
    const c = greeterClient(`xds:///${host(name)}:${PORT}`) as grpc.Client;
    clients.push(c);
    return c;
  };

  function snapshot(): MeshSnapshot {
    const b = aSnapshot();
    const service = (name: string, workloads: [string, Backend][], routes?: Partial<HttpRoute>[], policy?: TrafficPolicy, subsets: DestinationPolicy['subsets'] = []) => {
      b.withService(aService(host(name)).withPort('grpc', PORT).build());
      for (const [id, backend] of workloads) {
        b.withWorkloads(aWorkload(host(name), `${name}-${id}`).at('127.0.0.1').withPort('grpc', backend.port).withLabels({ version: id }).build());
      }
      if (routes) b.withRoutes(aRouteTable(host(name), routes.map((r) => ({ destinations: [{ host: host(name), weight: 100 }], ...r }))));
      if (policy || subsets.length > 0) b.withDestinations(aDestinationPolicy(host(name), subsets, policy));
    };
    service('abort', [['a', backends.a!]], [{ name: 'abort', fault: { abort: { grpcStatus: grpc.status.RESOURCE_EXHAUSTED, percentage: { value: 30 } } } }]);
    service('delay', [['a', backends.a!]], [{ name: 'delay', fault: { delay: { fixedDelayMs: 300, percentage: { value: 100 } } } }]);
    service('retry', [['flaky', backends.flaky!], ['b', backends.b!]], [{ name: 'retry', retries: { attempts: 3, retryOn: 'unavailable' } }]);
    service('noretry', [['flaky', backends.flaky!], ['b', backends.b!]]);
    service('timeout', [['slow', backends.slow!]], [{ name: 'timeout', timeoutMs: 300 }]);
    service('notimeout', [['slow', backends.slow!]]);
    service('ring', [['a', backends.a!], ['b', backends.b!], ['c', backends.c!]], undefined, {
      loadBalancer: { consistentHash: { key: { header: 'x-user' }, algorithm: 'RING_HASH' } },
    });
    service('breaker', [['slow', backends.slow!]], undefined, { connectionPool: { maxRequests: 1 } });
    service('outlier', [['flaky', backends.flaky!], ['b', backends.b!]], undefined, {
      outlierDetection: { consecutive5xxErrors: 3, intervalMs: 1000, baseEjectionTimeMs: 120_000, maxEjectionPercent: 50 },
    });
    service('redirect', [['a', backends.a!]], [
      { name: 'away', matches: [aMatch({ headers: { 'x-go': { exact: 'away' } } })], destinations: [], redirect: { uri: '/elsewhere', redirectCode: 302 } },
      { name: 'rest' },
    ]);
    return b.build();
  }

  beforeAll(async () => {
    for (const v of ['a', 'b', 'c']) backends[v] = (await startGreeter({ version: v })) as Backend;
    backends.flaky = (await startGreeter({ version: 'flaky', fail: () => grpc.status.UNAVAILABLE })) as Backend;
    backends.slow = await startSlowGreeter('slow', 1500);
    registry = new Registry();
    server = new XdsServer({ metrics: registry, serverId: 'isthmus-traffic-test' });
    const port = await server.listen('127.0.0.1', 0);
    server.setSnapshot(snapshot());
    await useXdsServer(port, 'traffic-test-client');
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.close();
    for (const b of Object.values(backends)) await b.stop();
  });

  it('fault abort: RESOURCE_EXHAUSTED for about 30 % of calls (statistical band)', async () => {
    const c = client('abort');
    await waitFor(async () => (await call(c)).ok || undefined, 'a first successful call');
    const results = await calls(c, 1000);
    const aborted = results.filter((r) => !r.ok);
    // Binomial(1000, 0.3): mean 300, sd ≈ 14.5; the band is ±5 sd.
    expect(aborted.length).toBeGreaterThanOrEqual(228);
    expect(aborted.length).toBeLessThanOrEqual(372);
    expect(aborted.every((r) => !r.ok && r.code === grpc.status.RESOURCE_EXHAUSTED)).toBe(true);
  });

  it('fixed delay: every call takes at least the injected 300 ms', async () => {
    const c = client('delay');
    await waitFor(async () => (await call(c)).ok || undefined, 'a first call');
    const results = await calls(c, 20, {}, 5);
    expect(results.every((r) => r.ok)).toBe(true);
    for (const r of results) expect(r.ms).toBeGreaterThanOrEqual(300);
  });

  it('retries on UNAVAILABLE reach the healthy backend; without retries calls fail', async () => {
    const without = client('noretry');
    await waitFor(async () => (await call(without)).ok || undefined, 'a first call without retries');
    const control = await calls(without, 100);
    expect(control.filter((r) => !r.ok).length).toBeGreaterThan(0);

    const c = client('retry');
    await waitFor(async () => (await call(c)).ok || undefined, 'a first call with retries');
    const flakyBefore = backends.flaky!.calls();
    // One call at a time: round robin alternates, so a retry after the failing backend lands on the healthy one.
    const results = await calls(c, 100, {}, 1);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.every((r) => r.ok && r.version === 'b')).toBe(true);
    // The first attempts did land on the failing backend: the successes are retries.
    expect(backends.flaky!.calls() - flakyBefore).toBeGreaterThan(0);
  });

  it('route timeout: grpc-js applies max_stream_duration (DEADLINE_EXCEEDED well before the app deadline)', async () => {
    const c = client('timeout');
    const r = await waitFor(async () => {
      const x = await call(c, {}, 10_000);
      return !x.ok && x.code === grpc.status.DEADLINE_EXCEEDED ? x : undefined;
    }, 'a call cut by the route timeout');
    expect(r.ok).toBe(false);
    const control = await call(client('notimeout'), {}, 10_000);
    expect(control).toMatchObject({ ok: true, version: 'slow' });
  });

  it('ring hash on a header: the same x-user always reaches the same backend', async () => {
    const c = client('ring');
    // Warm up until every backend is connected, so picks are stable.
    await waitFor(async () => {
      const seen = new Set((await calls(c, 60, {}, 10)).flatMap((r) => (r.ok ? [r.version] : [])));
      for (let u = 0; u < 30; u++) {
        const r = await call(c, { 'x-user': `warm-${u}` });
        if (r.ok) seen.add(r.version);
      }
      return seen.size === 3 || undefined;
    }, 'all three ring backends answering');
    const byUser = new Map<string, Set<string>>();
    for (let u = 0; u < 20; u++) {
      const user = `user-${u}`;
      for (const r of await calls(c, 15, { 'x-user': user }, 5)) {
        expect(r.ok).toBe(true);
        if (r.ok) byUser.set(user, new Set([...(byUser.get(user) ?? []), r.version]));
      }
    }
    for (const [user, versions] of byUser) expect([...versions], user).toHaveLength(1);
    expect(new Set([...byUser.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
  });

  it('circuit breaking: max_requests 1 drops calls while one is in flight', async () => {
    const c = client('breaker');
    await waitFor(async () => (await call(c)).ok || undefined, 'a first call');
    // grpc-js counts a call against the limit once it has started: start one, wait until the backend has it.
    const before = backends.slow!.calls();
    const inFlight = call(c);
    await waitFor(async () => backends.slow!.calls() > before || undefined, 'the first call at the backend');
    const extra = await Promise.all(Array.from({ length: 5 }, () => call(c)));
    expect(await inFlight).toMatchObject({ ok: true, version: 'slow' });
    expect(extra.every((r) => !r.ok && r.details.includes('Call dropped by load balancing policy'))).toBe(true);
    // Once it is done, calls go through again.
    expect(await call(c)).toMatchObject({ ok: true });
  });

  it('outlier detection (failure-percentage stand-in): the failing backend is ejected', async () => {
    const c = client('outlier');
    await waitFor(async () => (await call(c)).ok || undefined, 'a first call');
    let sawFailure = false;
    await waitFor(async () => {
      const results = await calls(c, 40, {}, 1);
      if (results.some((r) => !r.ok)) sawFailure = true;
      return results.every((r) => r.ok && r.version === 'b') || undefined;
    }, 'every call on the healthy backend after ejection');
    expect(sawFailure).toBe(true);
  });

  it('a redirect rule is left out for grpc-js (no NACK): its calls fall through to the next rule, and it is reported', async () => {
    const c = client('redirect');
    const r = await waitFor(async () => {
      const x = await call(c, { 'x-go': 'away' });
      return x.ok ? x : undefined;
    }, 'a call matching the redirect rule');
    expect(r).toMatchObject({ ok: true, version: 'a' });
    const report = server.capabilityWarnings();
    expect(report.clients).toEqual([{ client: 'grpc-js', name: 'proxyless gRPC (grpc-js)', proxies: 1 }]);
    expect(report.unenforced).toEqual(
      expect.arrayContaining([expect.objectContaining({ client: 'grpc-js', origin: 'VirtualService/default/test', path: 'spec.http[0].redirect', kind: 'redirect', level: 'left-out' })]),
    );
    const metrics = await registry.metrics();
    expect(metrics).toContain('isthmus_xds_unenforced_rules{kind="redirect",client="grpc-js"} 1');
  });

  it('counted no NACK at all, and refused no resource', async () => {
    const nacks = await registry.getSingleMetric('isthmus_xds_nacks_total')?.get();
    expect(nacks?.values.reduce((s, v) => s + v.value, 0) ?? 0).toBe(0);
    expect(server.refusedResources()).toEqual([]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ConsulSimulator } from '../../../test/sim/consul/src/index.js';
import { BlockingWatch } from '../src/blocking-watch.js';
import { ConsulClient, ConsulRequestError } from '../src/consul-client.js';
import { decodeHealthEntries, type HealthEntry } from '../src/consul-types.js';
import type { ConsulTuning } from '../src/options.js';
import { TokenBucket } from '../src/rate-limit.js';
import { FAST, eventually } from './helpers.js';

let sim: ConsulSimulator;
let watch: BlockingWatch<HealthEntry[]> | undefined;
let client: ConsulClient | undefined;

afterEach(async () => {
  await watch?.stop();
  client?.close();
  await sim?.stop();
  watch = undefined;
});

interface Seen {
  values: string[][];
  errors: ConsulRequestError[];
  resets: [number, number][];
  badIndexes: (number | undefined)[];
  recovered: number;
  consecutive: number[];
}

const PATH = '/v1/health/service/web';

function startWatch(tuning: Partial<ConsulTuning> = {}): Seen {
  const seen: Seen = { values: [], errors: [], resets: [], badIndexes: [], recovered: 0, consecutive: [] };
  const t = { ...FAST, ...tuning };
  client = new ConsulClient({ address: sim.url });
  watch = new BlockingWatch<HealthEntry[]>({
    client,
    path: PATH,
    query: { passing: true },
    decode: (res) => decodeHealthEntries(res, `GET ${PATH}`),
    tuning: t,
    bucket: new TokenBucket(t.perWatchRate),
    events: {
      onValue: (v) => seen.values.push(v.map((e) => e.Service.ID)),
      onError: (e, n) => {
        seen.errors.push(e);
        seen.consecutive.push(n);
      },
      onRecovered: () => seen.recovered++,
      onIndexReset: (from, to) => seen.resets.push([from, to]),
      onBadIndex: (raw) => seen.badIndexes.push(raw),
    },
  });
  watch.start();
  return seen;
}

const params = () => sim.requests(PATH).map((r) => new URLSearchParams(r.query));

describe('BlockingWatch against the simulator', () => {
  it('reads once without an index, then blocks with index and wait, and reports each change once', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    const seen = startWatch();
    await eventually('the first value', () => seen.values.length === 1);
    await eventually('a blocking query', () => sim.pendingQueries(PATH) === 1);
    const [first, second] = params();
    expect(first!.has('index')).toBe(false);
    expect(first!.has('passing')).toBe(true);
    expect(Number(second!.get('index'))).toBe(sim.index());
    expect(second!.get('wait')).toBe('1000ms');
    sim.registerInstance({ service: 'web', id: 'b', port: 1 });
    await eventually('the change', () => seen.values.length === 2);
    expect(seen.values).toEqual([['a'], ['a', 'b']]);
  });

  it('does not report a wait that expired (same index) nor a new index with an identical body', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    const seen = startWatch({ waitMs: 50 });
    await eventually('several expired waits', () => sim.requests(PATH).length >= 5);
    sim.touch('web');
    await eventually('the touch to be read', () => params().some((p) => Number(p.get('index')) === sim.index()));
    sim.registerInstance({ service: 'web', id: 'b', port: 1 });
    await eventually('the real change', () => seen.values.length === 2);
    expect(seen.values).toEqual([['a'], ['a', 'b']]);
  });

  it('resets to index 0 when the index goes backwards (snapshot restore), then follows changes again', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    const seen = startWatch({ waitMs: 200 });
    await eventually('blocking', () => sim.pendingQueries(PATH) === 1);
    const before = sim.index();
    sim.restoreSnapshot(5);
    await eventually('the reset', () => seen.resets.length === 1);
    expect(seen.resets[0]![0]).toBe(before);
    expect(seen.resets[0]![1]).toBeLessThan(before);
    // After the reset the next read is non-blocking (no index) ...
    await eventually('a read without index after the reset', () => params().slice(-3).some((p) => !p.has('index')));
    // ... and a change written at the restored, lower index is seen.
    sim.registerInstance({ service: 'web', id: 'b', port: 1 });
    await eventually('the change after the restore', () => seen.values.at(-1)?.join() === 'a,b');
  });

  it('resets on an index that jumps back without waiting (indexBack)', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    const seen = startWatch();
    await eventually('blocking', () => sim.pendingQueries(PATH) === 1);
    sim.inject({ kind: 'indexBack', by: 5, times: 1 });
    sim.registerInstance({ service: 'web', id: 'b', port: 1 });
    await eventually('a reset', () => seen.resets.length === 1);
    sim.registerInstance({ service: 'web', id: 'c', port: 1 });
    await eventually('later changes', () => seen.values.at(-1)?.join() === 'a,b,c');
  });

  for (const kind of ['zeroIndex', 'noIndex'] as const) {
    it(`reads X-Consul-Index ${kind === 'zeroIndex' ? '0' : 'missing'} as 1, keeps following changes and stays within its rate limit`, async () => {
      sim = await ConsulSimulator.start({ jitter: false });
      sim.registerInstance({ service: 'web', id: 'a', port: 1 });
      sim.inject({ kind });
      const perWatchRate = { burst: 2, perSecond: 10 };
      const t0 = performance.now();
      const seen = startWatch({ perWatchRate });
      await eventually('a bad index report', () => seen.badIndexes.length > 0);
      expect(seen.badIndexes[0]).toBe(kind === 'zeroIndex' ? 0 : undefined);
      expect(params().slice(1).every((p) => p.get('index') === '1')).toBe(true);
      sim.registerInstance({ service: 'web', id: 'b', port: 1 });
      await eventually('the change', () => seen.values.at(-1)?.join() === 'a,b');
      // The simulator answers index=1 at once (its index is higher): only the bucket stops a hot loop.
      await eventually('several re-reads', () => sim.requests(PATH).length >= 8);
      const elapsed = (performance.now() - t0) / 1000;
      expect(sim.requests(PATH).length).toBeLessThanOrEqual(perWatchRate.burst + perWatchRate.perSecond * elapsed + 1);
      expect(seen.errors).toEqual([]);
    });
  }

  it('retries errors with growing backoff and reports recovery', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    const clear = sim.inject({ kind: 'error', status: 500, body: 'rpc error making call: No cluster leader' });
    const seen = startWatch({ backoffBaseMs: 10, backoffMaxMs: 80 });
    await eventually('several errors', () => seen.errors.length >= 4);
    expect(seen.errors[0]!.message).toBe('GET /v1/health/service/web: HTTP 500: rpc error making call: No cluster leader');
    expect(seen.errors[0]!.status).toBe(500);
    // Each failure in a row counts up, which is what grows the backoff.
    expect(seen.consecutive.slice(0, 4)).toEqual([1, 2, 3, 4]);
    clear();
    await eventually('recovery', () => seen.recovered === 1 && seen.values.length === 1);
  });

  it('notices at once that Consul is back: the first read after a failure does not block', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    // A wait far longer than the test: recovery must not depend on it expiring.
    const seen = startWatch({ waitMs: 600_000 });
    await eventually('blocking', () => sim.pendingQueries(PATH) === 1);
    await sim.down();
    await eventually('an error', () => seen.errors.length > 0);
    const before = sim.requests(PATH).length;
    await sim.up();
    await eventually('recovery without any change in Consul', () => seen.recovered === 1);
    expect(params()[before]!.has('index')).toBe(false);
    await eventually('blocking again', () => sim.pendingQueries(PATH) === 1);
    expect(seen.values).toEqual([['a']]);
  });

  it('waits at least Retry-After when Consul rate-limits it', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    sim.inject({ kind: 'error', status: 429, body: 'rate limit exceeded', retryAfterSeconds: 1, times: 1 });
    const seen = startWatch();
    await eventually('the value after the 429', () => seen.values.length === 1);
    const [first, second] = sim.requests(PATH);
    expect(seen.errors[0]!.message).toMatch(/HTTP 429.*rate limiting/);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(990);
  });

  it('times out a query that hangs past wait + wait/16 + margin, then recovers', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    const seen = startWatch({ waitMs: 200, timeoutMarginMs: 100 });
    await eventually('blocking', () => sim.pendingQueries(PATH) === 1);
    const clear = sim.inject({ kind: 'hang' });
    await eventually('a timeout', () => seen.errors.some((e) => e.kind === 'timeout'));
    expect(seen.errors.find((e) => e.kind === 'timeout')!.message).toMatch(/no answer within (1000|312\.5) ms/);
    clear();
    await eventually('recovery', () => seen.recovered >= 1);
  });

  it('treats a truncated body as an error, not as an empty service', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    sim.inject({ kind: 'badJson', times: 1 });
    const seen = startWatch();
    await eventually('the good value', () => seen.values.length === 1);
    expect(seen.errors[0]!.kind).toBe('invalid');
    expect(seen.values).toEqual([['a']]);
  });

  it('is slow but correct when Consul answers slowly within the timeout', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    sim.inject({ kind: 'slow', delayMs: 300 });
    const seen = startWatch();
    await eventually('the value', () => seen.values.length === 1);
    expect(seen.errors).toEqual([]);
  });

  it('aborts the query in flight when stopped', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    startWatch({ waitMs: 60_000 });
    await eventually('blocking', () => sim.pendingQueries(PATH) === 1);
    await watch!.stop();
    await eventually('the server to see the query go', () => sim.pendingQueries(PATH) === 0);
  });
});

import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { endpointSlice, KubernetesSimulator } from '../src/index.js';
import { get, openWatch, summary, until, type OpenWatch } from './helpers.js';

// Fault injection: what a sick apiserver, a proxy or the network does, for adapters to survive.

let sim: KubernetesSimulator;
const open: OpenWatch[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) await w.close();
  await sim?.stop();
});

const watch = async (path: string) => {
  const w = await openWatch(sim, path);
  open.push(w);
  return w;
};

const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const slice = (name: string) => endpointSlice({ name, namespace: 'default', service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ address: '10.0.0.1' }] });

/** The chunks a response body arrives in (node:http, so the client does not coalesce them). */
function chunksOf(url: string): Promise<{ status: number; chunks: string[] }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      const chunks: string[] = [];
      res.on('data', (c: Buffer) => chunks.push(c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, chunks }));
    })
      .on('error', reject)
      .end();
  });
}

describe('Kubernetes simulator: faults', () => {
  it('answers with a Status for one resource (403), with Retry-After for 429, and only `times` times', async () => {
    sim = await KubernetesSimulator.start();
    const remove = sim.inject({ kind: 'status', code: 403, path: '/apis/discovery.k8s.io/' });
    const denied = await get(sim, SLICES);
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403 });
    expect((await get(sim, '/api/v1/pods')).status).toBe(200);
    remove();
    expect((await get(sim, SLICES)).status).toBe(200);

    sim.inject({ kind: 'status', code: 429, retryAfterSeconds: 2, times: 2 });
    const limited = await get(sim, '/api/v1/pods');
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.body).toMatchObject({ reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 2 } });
    expect((await get(sim, '/api/v1/pods')).status).toBe(429);
    expect((await get(sim, '/api/v1/pods')).status).toBe(200);

    // Method and watch filters: only watches fail.
    sim.inject({ kind: 'status', code: 500, watch: true, method: 'GET' });
    expect((await get(sim, '/api/v1/pods')).status).toBe(200);
    const w = await watch('/api/v1/pods?watch=true');
    expect(w.status).toBe(500);
    expect(w.body).toMatchObject({ reason: 'InternalError', code: 500 });
  });

  it('ends open watches with an ERROR event when a status fault starts, and resets them with reset', async () => {
    sim = await KubernetesSimulator.start();
    const a = await watch(`${SLICES}?watch=true`);
    const other = await watch('/api/v1/pods?watch=true');
    await until(() => sim.openWatches() === 2, 'two watches');
    sim.inject({ kind: 'status', code: 503, path: '/apis/', times: 1 });
    await until(() => a.ended(), 'the slice watch to end');
    expect(a.events).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 503, reason: 'ServiceUnavailable' }) }]);
    expect(other.ended()).toBe(false);
    // times: 1 was used by the open watch.
    expect((await get(sim, SLICES)).status).toBe(200);

    sim.inject({ kind: 'reset', watch: true });
    await until(() => other.ended(), 'the pod watch to be reset');
    expect(other.failed()).toBe(true);
    await expect(fetch(`${sim.url}/api/v1/pods?watch=true`)).rejects.toThrow();
  });

  it('hangs: requests are accepted and never answered; open watches go silent and catch up when it goes', async () => {
    sim = await KubernetesSimulator.start({ bookmarkIntervalMs: 10 });
    const w = await watch(`${SLICES}?watch=true&allowWatchBookmarks=true`);
    await until(() => sim.openWatches() === 1, 'the watch');
    const remove = sim.inject({ kind: 'hang', path: '/apis/' });
    const n = w.events.length;
    sim.apply(slice('a'));
    const stuck = fetch(sim.url + SLICES, { signal: AbortSignal.timeout(150) });
    await expect(stuck).rejects.toThrow(/abort|timeout/i);
    expect(w.events.length).toBe(n); // neither the event nor bookmarks got out
    expect((await get(sim, '/api/v1/pods')).status).toBe(200); // other paths are fine
    const waiting = get(sim, SLICES);
    remove();
    await until(() => summary(w.events).includes('ADDED a'), 'the held event');
    // A request the hang held is answered once it goes.
    expect((await waiting).body.items.map((i: any) => i.metadata.name)).toEqual(['a']);
  });

  it('resets connections, delays the first byte, dribbles bodies', async () => {
    sim = await KubernetesSimulator.start();
    sim.inject({ kind: 'reset', times: 1 });
    await expect(fetch(sim.url + '/api/v1/pods')).rejects.toThrow();
    expect((await get(sim, '/api/v1/pods')).status).toBe(200);

    sim.inject({ kind: 'slow', delayMs: 100, times: 1 });
    const t0 = performance.now();
    expect((await get(sim, '/api/v1/pods')).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);

    for (const n of ['a', 'b', 'c']) sim.apply(slice(n));
    const whole = await chunksOf(sim.url + SLICES);
    sim.inject({ kind: 'dribble', chunkDelayMs: 1, times: 1 });
    const dribbled = await chunksOf(sim.url + SLICES);
    expect(dribbled.status).toBe(200);
    expect(dribbled.chunks.length).toBeGreaterThan(10);
    expect(JSON.parse(dribbled.chunks.join(''))).toEqual(JSON.parse(whole.chunks.join('')));
  });

  it('dribbles watch events too, which a line reader reassembles', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(slice('a'));
    sim.inject({ kind: 'dribble', chunkDelayMs: 1, watch: true });
    const w = await watch(`${SLICES}?watch=true`);
    sim.apply(slice('b'));
    await until(() => w.events.length === 2, 'both events');
    expect(summary(w.events)).toEqual(['ADDED a', 'ADDED b']);
  });

  it('gone: 410 on lists, and on watches as goneMode says; also expires open watches', async () => {
    sim = await KubernetesSimulator.start();
    const w = await watch(`${SLICES}?watch=true`);
    await until(() => sim.openWatches() === 1, 'the watch');
    sim.inject({ kind: 'gone', times: 3 });
    await until(() => w.ended(), 'the open watch to expire');
    expect(w.events.at(-1)).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
    expect((await get(sim, `${SLICES}/x`)).status).toBe(404); // a GET of one object is not a list
    expect((await get(sim, SLICES)).body).toMatchObject({ code: 410, reason: 'Expired' });
    sim.goneMode = 'event';
    const ev = await watch(`${SLICES}?watch=true&resourceVersion=${sim.resourceVersion}`);
    expect(ev.status).toBe(200);
    await until(() => ev.ended(), 'the ERROR event');
    expect(ev.events[0]!.object).toMatchObject({ code: 410, reason: 'Expired' });
    expect((await get(sim, SLICES)).status).toBe(200);
  });

  it('goes down (connections refused, watches cut, state kept) and comes back on the same URL', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(slice('a'));
    const url = sim.url;
    const w = await watch(`${SLICES}?watch=true`);
    await until(() => w.events.length === 1, 'the initial event');
    await sim.down();
    await until(() => w.ended(), 'the watch to be cut');
    await expect(fetch(url + SLICES)).rejects.toThrow();
    await sim.up();
    expect(sim.url).toBe(url);
    expect((await get(sim, SLICES)).body.items.map((i: any) => i.metadata.name)).toEqual(['a']);
  });

  it('adds latency and records requests', async () => {
    sim = await KubernetesSimulator.start({ latencyMs: 30 });
    const t0 = performance.now();
    await get(sim, `${SLICES}?labelSelector=app%3Dweb`);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    sim.latencyMs = 0;
    await get(sim, '/api/v1/pods');
    const recs = sim.requests('/apis/discovery.k8s.io');
    expect(recs).toEqual([{ method: 'GET', path: SLICES, query: { labelSelector: 'app=web' }, at: expect.any(Number), watch: false, status: 200 }]);
    expect(sim.requests()).toHaveLength(2);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { endpointSlice, KubernetesSimulator, namespace, service } from '../src/index.js';
import { openWatch, summary, until, type OpenWatch } from './helpers.js';

// Watch semantics (api-concepts "Efficient detection of changes", "Watch bookmarks"): what informers rely on.

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
const slice = (name: string, ready = true, labels: Record<string, string> = {}) =>
  endpointSlice({ name, namespace: 'default', service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ address: '10.0.0.1', ready }], labels });

describe('Kubernetes simulator: watch', () => {
  it('streams only the writes after the resourceVersion, one JSON event per line, filtered by namespace', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(namespace('other'));
    sim.apply(slice('before'));
    const rv = sim.resourceVersion;
    const w = await watch(`${SLICES}?watch=true&resourceVersion=${rv}`);
    expect(w.status).toBe(200);
    sim.apply(slice('a'));
    sim.apply({ ...slice('elsewhere'), metadata: { ...slice('elsewhere').metadata, namespace: 'other' } });
    sim.apply(slice('a', false));
    sim.remove('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'a');
    await until(() => w.events.length === 3, 'three events');
    expect(summary(w.events)).toEqual(['ADDED a', 'MODIFIED a', 'DELETED a']);
    expect(w.events[1]!.object.endpoints[0].conditions.ready).toBe(false);
    // Each event carries the RV of its write; a DELETED one the deletion's.
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs[0]).toBeGreaterThan(Number(rv));
    expect(rvs[2]).toBe(Number(sim.resourceVersion));
    expect(w.events[0]!.object).toMatchObject({ kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1' });
    expect(w.lines.every((l) => JSON.parse(l).type)).toBe(true);
  });

  it('replays history: a watch from an older RV gets the writes it missed, then live ones', async () => {
    sim = await KubernetesSimulator.start();
    const rv = sim.resourceVersion;
    sim.apply(slice('a'));
    sim.apply(slice('b'));
    const w = await watch(`/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion=${rv}`);
    await until(() => w.events.length === 2, 'replayed events');
    sim.apply(slice('c'));
    await until(() => w.events.length === 3, 'live event');
    expect(summary(w.events)).toEqual(['ADDED a', 'ADDED b', 'ADDED c']);
  });

  it('from resourceVersion 0 or unset: synthetic ADDED for the current state, then live events', async () => {
    sim = await KubernetesSimulator.start();
    sim.apply(slice('a'));
    sim.apply(slice('b'));
    for (const q of ['watch=true&resourceVersion=0', 'watch=true']) {
      const w = await watch(`${SLICES}?${q}`);
      await until(() => w.events.length === 2, 'initial state');
      expect(summary(w.events)).toEqual(['ADDED a', 'ADDED b']);
    }
    sim.apply(slice('c'));
    await until(() => open.every((w) => w.events.length === 3), 'live event on both');
  });

  it('turns label-selector transitions into ADDED and DELETED', async () => {
    sim = await KubernetesSimulator.start();
    const w = await watch(`${SLICES}?watch=true&labelSelector=${encodeURIComponent('track=canary')}&resourceVersion=${sim.resourceVersion}`);
    sim.apply(slice('x'));
    sim.apply(slice('x', true, { track: 'canary' }));
    sim.apply(slice('x', false, { track: 'canary' }));
    sim.apply(slice('x', false));
    sim.apply(slice('y', true, { track: 'stable' }));
    await until(() => w.events.length === 3, 'three events');
    expect(summary(w.events)).toEqual(['ADDED x', 'MODIFIED x', 'DELETED x']);
    // The DELETED of an object that stopped matching carries its last matching state, at the write's RV.
    expect(w.events[2]!.object.metadata.labels.track).toBe('canary');
    expect(w.events[2]!.object.metadata.resourceVersion).toBe(String(Number(sim.resourceVersion) - 1));
  });

  it('sends bookmarks with the current resourceVersion only to watches that allow them', async () => {
    sim = await KubernetesSimulator.start({ bookmarkIntervalMs: 20 });
    const withBm = await watch(`${SLICES}?watch=true&allowWatchBookmarks=true&resourceVersion=${sim.resourceVersion}`);
    const without = await watch(`${SLICES}?watch=true&resourceVersion=${sim.resourceVersion}`);
    sim.apply(service({ name: 'unrelated', namespace: 'default', ports: [{ port: 80 }] }));
    await until(() => withBm.events.some((e) => e.type === 'BOOKMARK' && e.object.metadata.resourceVersion === sim.resourceVersion), 'a bookmark at the latest RV');
    const bm = withBm.events.find((e) => e.type === 'BOOKMARK')!;
    expect(bm.object).toEqual({ kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: expect.any(String) } });
    sim.apply(slice('a'));
    await until(() => without.events.length === 1, 'the event on the watch without bookmarks');
    expect(without.events.map((e) => e.type)).toEqual(['ADDED']);
  });

  it('ends the initial events with an annotated bookmark for sendInitialEvents (WatchList)', async () => {
    sim = await KubernetesSimulator.start({ bookmarkIntervalMs: 0 });
    sim.apply(slice('a'));
    const w = await watch(`${SLICES}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`);
    await until(() => w.events.length === 2, 'initial events and bookmark');
    expect(w.events[1]).toMatchObject({ type: 'BOOKMARK', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
  });

  it('closes the stream at timeoutSeconds', async () => {
    sim = await KubernetesSimulator.start();
    const w = await watch(`${SLICES}?watch=true&timeoutSeconds=1`);
    await until(() => w.ended(), 'the server to end the watch', 3000);
    expect(w.failed()).toBe(false);
    expect(sim.openWatches()).toBe(0);
  });

  it('answers a too-old resourceVersion with HTTP 410 or a 410 ERROR event, as goneMode says', async () => {
    sim = await KubernetesSimulator.start({ historyLimit: 2 });
    const old = sim.resourceVersion;
    for (const n of ['a', 'b', 'c']) sim.apply(slice(n));
    const http = await watch(`${SLICES}?watch=true&resourceVersion=${old}`);
    expect(http.status).toBe(410);
    expect(http.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 });
    expect(http.body.message).toMatch(new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`));

    sim.goneMode = 'event';
    const ev = await watch(`${SLICES}?watch=true&resourceVersion=${old}`);
    expect(ev.status).toBe(200);
    await until(() => ev.ended(), 'the stream to close after the ERROR');
    expect(ev.events).toEqual([
      { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: expect.stringMatching(/^too old resource version: /), reason: 'Expired', code: 410 } },
    ]);

    // compact() forgets everything before now; the current RV still works.
    const recent = sim.resourceVersion;
    sim.apply(slice('d'));
    sim.compact();
    const compacted = await watch(`${SLICES}?watch=true&resourceVersion=${recent}`);
    await until(() => compacted.ended(), 'expired after compaction');
    expect(compacted.events[0]!.object.code).toBe(410);
    const fresh = await watch(`${SLICES}?watch=true&resourceVersion=${sim.resourceVersion}`);
    sim.apply(slice('e'));
    await until(() => fresh.events.length === 1, 'a live event after compaction');
  });

  it('expires, drops and counts open watches', async () => {
    sim = await KubernetesSimulator.start();
    const a = await watch(`${SLICES}?watch=true`);
    const b = await watch(`/api/v1/pods?watch=true`);
    await until(() => sim.openWatches() === 2, 'two open watches');
    sim.expireWatches();
    await until(() => a.ended() && b.ended(), 'both closed');
    expect(a.events.at(-1)).toMatchObject({ type: 'ERROR', object: { reason: 'Expired', code: 410 } });
    expect(a.failed()).toBe(false);

    const c = await watch(`${SLICES}?watch=true`);
    await until(() => sim.openWatches() === 1, 'one open watch');
    sim.dropWatches();
    await until(() => c.ended(), 'dropped');
    expect(c.failed()).toBe(true);
    expect(c.events).toEqual([]);
    await until(() => sim.openWatches() === 0, 'none open');
  });

  it('watches a single object at its own URL', async () => {
    sim = await KubernetesSimulator.start();
    const w = await watch(`${SLICES}/a?watch=true&resourceVersion=${sim.resourceVersion}`);
    sim.apply(slice('b'));
    sim.apply(slice('a'));
    await until(() => w.events.length === 1, 'the event');
    expect(summary(w.events)).toEqual(['ADDED a']);
  });

  it('renders watched objects at the requested version of a multi-version group', async () => {
    sim = await KubernetesSimulator.start();
    const w = await watch(`/apis/networking.istio.io/v1alpha3/namespaces/default/virtualservices?watch=true&resourceVersion=${sim.resourceVersion}`);
    sim.apply({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'r', namespace: 'default' }, spec: { hosts: ['r'] } });
    await until(() => w.events.length === 1, 'the event');
    expect(w.events[0]!.object.apiVersion).toBe('networking.istio.io/v1alpha3');
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ConsulSimulator, parseGoDuration } from '../src/index.js';

// The simulator's own contract: Consul's documented semantics that the adapter tests rely on.

let sim: ConsulSimulator;
afterEach(async () => {
  await sim?.stop();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; index: string | null; body: any; headers: Headers }> {
  const r = await fetch(sim.url + path, { headers });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain-text error bodies stay text
  }
  return { status: r.status, index: r.headers.get('x-consul-index'), body, headers: r.headers };
}

describe('Consul simulator', () => {
  it('parses Go durations as Consul does for ?wait', () => {
    expect(parseGoDuration('1s')).toBe(1000);
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('250ms')).toBe(250);
    expect(parseGoDuration('10')).toBeUndefined();
    expect(parseGoDuration('soon')).toBeUndefined();
  });

  it('lists services with their tags and health entries with node checks', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'web-1', port: 8080, tags: ['v1'], meta: { version: 'v1' } });
    sim.registerInstance({ service: 'web', id: 'web-2', port: 8080, tags: ['v2'], address: '10.0.0.2' });
    const services = await get('/v1/catalog/services');
    expect(services.body).toEqual({ web: ['v1', 'v2'] });
    expect(Number(services.index)).toBeGreaterThan(0);
    const health = await get('/v1/health/service/web');
    expect(health.body).toHaveLength(2);
    expect(health.body[0]).toMatchObject({
      Node: { Node: 'node1', Address: '127.0.0.1', Datacenter: 'dc1' },
      Service: { ID: 'web-1', Service: 'web', Port: 8080, Address: '', Meta: { version: 'v1' } },
    });
    expect(health.body[0].Checks.map((c: any) => c.CheckID)).toEqual(['serfHealth', 'service:web-1']);
    expect(health.headers.get('x-consul-knownleader')).toBe('true');
  });

  it('answers an unknown service with [] and a missing KV key with 404 and an index', async () => {
    sim = await ConsulSimulator.start();
    expect((await get('/v1/health/service/nope')).body).toEqual([]);
    const kv = await get('/v1/kv/missing');
    expect(kv.status).toBe(404);
    expect(kv.index).not.toBeNull();
  });

  it('filters ?passing on every check, node checks included, and rejects a bad value', async () => {
    sim = await ConsulSimulator.start();
    sim.registerInstance({ service: 'web', id: 'a', port: 1, node: 'n1' });
    sim.registerInstance({ service: 'web', id: 'b', port: 1, node: 'n2', status: 'warning' });
    sim.registerInstance({ service: 'web', id: 'c', port: 1, node: 'n3' });
    sim.setNodeHealth('n3', 'critical');
    const ids = async (q: string) => ((await get(`/v1/health/service/web${q}`)).body as any[]).map((e) => e.Service.ID);
    expect(await ids('?passing')).toEqual(['a']);
    expect(await ids('?passing=true')).toEqual(['a']);
    expect(await ids('?passing=false')).toEqual(['a', 'b', 'c']);
    expect((await get('/v1/health/service/web?passing=maybe')).status).toBe(400);
  });

  it('blocks until the index moves, answers index 0 at once, and times out with the same index', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    const first = await get('/v1/health/service/web');
    const index = Number(first.index);
    // Unchanged: the wait expires and the same index comes back.
    const timedOut = await get(`/v1/health/service/web?index=${index}&wait=100ms`);
    expect(Number(timedOut.index)).toBe(index);
    // A change wakes the waiting query early.
    const pending = get(`/v1/health/service/web?index=${index}&wait=30s`);
    await waitUntil(() => sim.pendingQueries('/v1/health/service/web') === 1);
    sim.registerInstance({ service: 'web', id: 'b', port: 1 });
    const woke = await pending;
    expect(Number(woke.index)).toBeGreaterThan(index);
    expect(woke.body).toHaveLength(2);
  });

  it('does not wake a service watch for another service, nor for an idempotent write', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    const index = Number((await get('/v1/health/service/web')).index);
    const pending = get(`/v1/health/service/web?index=${index}&wait=300ms`);
    await waitUntil(() => sim.pendingQueries() === 1);
    sim.registerInstance({ service: 'db', id: 'd', port: 2, node: 'other' });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    expect(Number((await pending).index)).toBe(index);
  });

  it('returns a lower index after a snapshot restore', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    const index = Number((await get('/v1/health/service/web')).index);
    sim.restoreSnapshot(3);
    const after = await get(`/v1/health/service/web?index=${index}&wait=50ms`);
    expect(Number(after.index)).toBeLessThan(index);
  });

  it('serves KV recurse with the highest ModifyIndex, which goes backwards when that key is deleted', async () => {
    sim = await ConsulSimulator.start();
    sim.putKv('cfg/a', 'A');
    sim.putKv('cfg/b', 'B');
    const both = await get('/v1/kv/cfg/?recurse');
    expect(both.body.map((e: any) => Buffer.from(e.Value, 'base64').toString())).toEqual(['A', 'B']);
    sim.deleteKv('cfg/b');
    const one = await get('/v1/kv/cfg/?recurse');
    expect(Number(one.index)).toBeLessThan(Number(both.index));
    expect((await get('/v1/kv/cfg/a?raw')).body).toBe('A');
  });

  it('injects faults: errors, index tricks, bad JSON, and fails waiting queries on error', async () => {
    sim = await ConsulSimulator.start({ jitter: false });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    sim.inject({ kind: 'zeroIndex', times: 1 });
    expect((await get('/v1/health/service/web')).index).toBe('0');
    sim.inject({ kind: 'noIndex', times: 1 });
    expect((await get('/v1/health/service/web')).index).toBeNull();
    sim.inject({ kind: 'badJson', times: 1 });
    expect(typeof (await get('/v1/health/service/web')).body).toBe('string');
    const index = Number((await get('/v1/health/service/web')).index);
    const pending = get(`/v1/health/service/web?index=${index}&wait=30s`);
    await waitUntil(() => sim.pendingQueries() === 1);
    sim.inject({ kind: 'error', status: 500, body: 'No cluster leader' });
    const failed = await pending;
    expect(failed.status).toBe(500);
    expect(failed.body).toBe('No cluster leader');
    sim.clearFaults();
    expect((await get('/v1/health/service/web')).status).toBe(200);
  });

  it('refuses connections while down and comes back on the same URL', async () => {
    sim = await ConsulSimulator.start();
    const url = sim.url;
    await sim.down();
    await expect(fetch(`${url}/v1/catalog/services`)).rejects.toThrow();
    await sim.up();
    expect(sim.url).toBe(url);
    expect((await get('/v1/catalog/services')).status).toBe(200);
  });

  it('enforces ACL tokens: unknown → 403, anonymous → filtered, rotation fails waiting queries', async () => {
    sim = await ConsulSimulator.start({ aclTokens: { good: 'read' } });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    expect((await get('/v1/catalog/services', { 'X-Consul-Token': 'good' })).body).toEqual({ web: [] });
    expect((await get('/v1/catalog/services', { Authorization: 'Bearer good' })).body).toEqual({ web: [] });
    const anon = await get('/v1/catalog/services');
    expect(anon.body).toEqual({});
    expect(anon.headers.get('x-consul-results-filtered-by-acls')).toBe('true');
    const bad = await get('/v1/catalog/services', { 'X-Consul-Token': 'nope' });
    expect(bad.status).toBe(403);
    expect(bad.body).toBe('ACL not found');
    const index = Number((await get('/v1/health/service/web', { 'X-Consul-Token': 'good' })).index);
    const pending = get(`/v1/health/service/web?index=${index}&wait=30s`, { 'X-Consul-Token': 'good' });
    await waitUntil(() => sim.pendingQueries() === 1);
    sim.setAclTokens({ rotated: 'read' });
    expect((await pending).status).toBe(403);
  });

  it('scopes by datacenter, namespace and partition', async () => {
    sim = await ConsulSimulator.start({ datacenters: ['dc2'] });
    sim.registerInstance({ service: 'web', id: 'a', port: 1 });
    sim.registerInstance({ service: 'web', id: 'b', port: 1, dc: 'dc2' });
    sim.registerInstance({ service: 'api', id: 'c', port: 1, namespace: 'team-a', partition: 'p1' });
    expect((await get('/v1/health/service/web?dc=dc2')).body.map((e: any) => e.Service.ID)).toEqual(['b']);
    expect((await get('/v1/health/service/web?dc=dc9')).status).toBe(500);
    expect((await get('/v1/catalog/services')).body).toEqual({ web: [] });
    expect((await get('/v1/catalog/services?ns=team-a&partition=p1')).body).toEqual({ api: [] });
  });

  it('accepts Consul catalog writes over HTTP and the /_sim control API', async () => {
    sim = await ConsulSimulator.start();
    const put = (path: string, body: unknown, method = 'PUT') => fetch(sim.url + path, { method, body: JSON.stringify(body) });
    expect((await put('/v1/catalog/register', { Node: 'n', Address: '10.1.1.1', Service: { Service: 'web', Port: 80 } })).status).toBe(200);
    expect((await put('/v1/catalog/register', { Address: '10.1.1.1' })).status).toBe(400);
    expect((await get('/v1/catalog/services')).body).toEqual({ web: [] });
    await put('/_sim/instances', { service: 'api', id: 'api-1', port: 9000 }, 'POST');
    await put('/_sim/health', { id: 'api-1', status: 'critical' });
    expect((await get('/v1/health/service/api?passing')).body).toEqual([]);
    await put('/v1/catalog/deregister', { Node: 'n', ServiceID: 'web' });
    expect(Object.keys((await get('/v1/catalog/services')).body)).toEqual(['api']);
  });

  it('lists Connect sidecars under /v1/health/connect/<destination>', async () => {
    sim = await ConsulSimulator.start();
    sim.registerInstance({ service: 'web', id: 'web-1', port: 8080 });
    sim.registerInstance({
      service: 'web-sidecar-proxy',
      id: 'web-1-sidecar-proxy',
      port: 21000,
      kind: 'connect-proxy',
      proxy: { DestinationServiceName: 'web', DestinationServiceID: 'web-1', LocalServicePort: 8080 },
    });
    const c = await get('/v1/health/connect/web');
    expect(c.body.map((e: any) => [e.Service.Kind, e.Service.Port])).toEqual([['connect-proxy', 21000]]);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
}

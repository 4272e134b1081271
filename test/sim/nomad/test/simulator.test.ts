import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { NomadSimulator, parseGoDuration, uuid } from '../src/index.js';

// The simulator's own contract: Nomad's documented semantics that the adapter tests rely on.

let sim: NomadSimulator;
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
  return { status: r.status, index: r.headers.get('x-nomad-index'), body, headers: r.headers };
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Reads an event stream's lines as they come. */
async function openStream(path: string, headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const res = await fetch(sim.url + path, { headers, signal: ac.signal });
  const lines: string[] = [];
  let ended = false;
  const done = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let pending = '';
    try {
      for await (const chunk of res.body) {
        pending += decoder.decode(chunk, { stream: true });
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
          lines.push(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  return {
    status: res.status,
    lines,
    frames: () => lines.filter((l) => l !== '{}').map((l) => JSON.parse(l)),
    ended: () => ended,
    close: async () => {
      ac.abort();
      await done;
    },
  };
}

describe('Nomad simulator', () => {
  it('parses Go durations as Nomad does for ?wait', () => {
    expect(parseGoDuration('1s')).toBe(1000);
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('10')).toBeUndefined();
  });

  it('lists services per namespace with their tags, and registrations field for field', async () => {
    sim = await NomadSimulator.start({ jitter: false });
    const a1 = uuid('a1');
    const id = sim.registerService({ service: 'web', allocId: a1, job: 'shop', group: 'frontend', port: 8080, tags: ['v1'], address: '10.0.0.1' });
    sim.registerService({ service: 'web', port: 8081, tags: ['v2', 'canary'], address: '10.0.0.2' });
    sim.registerService({ service: 'db', namespace: 'team-a', port: 5432 });
    expect(id).toBe(`_nomad-task-${a1}-group-frontend-web-http`);
    const list = await get('/v1/services');
    expect(list.body).toEqual([{ Namespace: 'default', Services: [{ ServiceName: 'web', Tags: ['canary', 'v1', 'v2'] }] }]);
    expect(Number(list.index)).toBe(sim.index());
    expect(list.headers.get('x-nomad-knownleader')).toBe('true');
    const all = await get('/v1/services?namespace=*');
    expect(all.body.map((n: any) => n.Namespace)).toEqual(['default', 'team-a']);
    const regs = await get('/v1/service/web');
    expect(regs.body).toHaveLength(2);
    expect(regs.body.find((r: any) => r.AllocID === a1)).toEqual({
      ID: id,
      ServiceName: 'web',
      Namespace: 'default',
      NodeID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      Datacenter: 'dc1',
      JobID: 'shop',
      AllocID: a1,
      Tags: ['v1'],
      Address: '10.0.0.1',
      Port: 8080,
      CreateIndex: expect.any(Number),
      ModifyIndex: expect.any(Number),
    });
    expect((await get('/v1/service/nope')).body).toEqual([]);
    expect((await get('/v1/service/db?namespace=team-a')).body).toHaveLength(1);
  });

  it('answers with the table index: at once when the table moved, otherwise blocks until its own result changes', async () => {
    sim = await NomadSimulator.start({ jitter: false });
    sim.registerService({ service: 'web', port: 1 });
    const first = await get('/v1/service/web');
    const index = Number(first.index);
    // Unchanged: the wait expires and the same index comes back.
    expect(Number((await get(`/v1/service/web?index=${index}&wait=50ms`)).index)).toBe(index);
    // Another service changes: the table index moves, the waiting query does not wake ...
    const pending = get(`/v1/service/web?index=${index}&wait=30s`);
    await until(() => sim.pendingQueries('/v1/service/web') === 1);
    sim.registerService({ service: 'api', port: 2 });
    expect(sim.pendingQueries('/v1/service/web')).toBe(1);
    // ... but a query on the old index made now answers at once, with the same body.
    const again = await get(`/v1/service/web?index=${index}&wait=30s`);
    expect(Number(again.index)).toBeGreaterThan(index);
    expect(again.body).toEqual(first.body);
    // Its own change wakes it.
    sim.registerService({ service: 'web', port: 3 });
    const woke = await pending;
    expect(woke.body).toHaveLength(2);
    // Unrelated raft writes (jobs, evals) do not move the services' index.
    const before = Number(woke.index);
    sim.unrelatedWrite();
    expect(Number((await get('/v1/service/web')).index)).toBe(before);
    expect(sim.index()).toBe(before + 1);
  });

  it('does not write an identical registration again', async () => {
    sim = await NomadSimulator.start({ jitter: false });
    const allocId = uuid('x');
    sim.registerService({ service: 'web', allocId, port: 1 });
    const index = sim.index();
    sim.registerService({ service: 'web', allocId, port: 1 });
    expect(sim.index()).toBe(index);
  });

  it('returns a lower index after a snapshot restore, and 400 on a bad index or wait', async () => {
    sim = await NomadSimulator.start({ jitter: false });
    for (let i = 0; i < 10; i++) sim.registerService({ service: 'web', port: 1000 + i });
    sim.restoreSnapshot(3);
    expect(Number((await get('/v1/service/web?index=11&wait=10ms')).index)).toBe(3);
    expect((await get('/v1/service/web?index=abc')).status).toBe(400);
    expect((await get('/v1/service/web?index=1&wait=soon')).status).toBe(400);
  });

  it('streams Service events as NDJSON, one line per raft write, with {} heartbeats', async () => {
    sim = await NomadSimulator.start({ jitter: false, heartbeatMs: 20 });
    const allocId = uuid('s');
    const s = await openStream('/v1/event/stream?topic=Service');
    expect(s.status).toBe(200);
    const id = sim.registerService({ service: 'web', allocId, job: 'shop', port: 1, tags: ['v1'] });
    sim.stopAllocation(allocId);
    await until(() => s.frames().length === 2 && s.lines.includes('{}'));
    const [reg, dereg] = s.frames();
    expect(reg).toMatchObject({
      Index: expect.any(Number),
      Events: [
        {
          Topic: 'Service',
          Type: 'ServiceRegistration',
          Key: id,
          Namespace: 'default',
          FilterKeys: ['shop', 'web'],
          Payload: { Service: { ID: id, ServiceName: 'web', AllocID: allocId, Tags: ['v1'] } },
        },
      ],
    });
    expect(reg.Events[0].Index).toBe(reg.Index);
    expect(dereg.Events[0].Type).toBe('ServiceDeregistration');
    expect(dereg.Index).toBeGreaterThan(reg.Index);
    await s.close();
  });

  it('replays from index out of its bounded buffer, silently starting later when the index left it', async () => {
    sim = await NomadSimulator.start({ jitter: false, eventBufferSize: 3 });
    for (let i = 0; i < 6; i++) sim.registerService({ service: 'web', port: 1000 + i });
    const head = sim.index();
    const recent = await openStream(`/v1/event/stream?topic=Service&index=${head - 1}`);
    await until(() => recent.frames().length === 2);
    expect(recent.frames().map((f) => f.Index)).toEqual([head - 1, head]);
    await recent.close();
    const old = await openStream('/v1/event/stream?topic=Service&index=1');
    await until(() => old.frames().length === 3);
    expect(old.frames()[0].Index).toBe(head - 2);
    await old.close();
  });

  it('filters events by topic key and namespace, and rejects a bad topic or index before streaming', async () => {
    sim = await NomadSimulator.start({ jitter: false });
    const web = await openStream('/v1/event/stream?topic=Service:web');
    const teamA = await openStream('/v1/event/stream?topic=Service&namespace=team-a');
    const all = await openStream('/v1/event/stream?topic=Service&namespace=*');
    sim.registerService({ service: 'web', port: 1 });
    sim.registerService({ service: 'api', port: 2 });
    sim.registerService({ service: 'db', namespace: 'team-a', port: 3 });
    await until(() => all.frames().length === 3);
    await until(() => web.frames().length === 1 && teamA.frames().length === 1);
    expect(web.frames()[0].Events[0].Payload.Service.ServiceName).toBe('web');
    expect(teamA.frames()[0].Events[0].Payload.Service.ServiceName).toBe('db');
    for (const s of [web, teamA, all]) await s.close();
    expect((await get('/v1/event/stream?topic=Service:a:b')).status).toBe(400);
    expect((await get('/v1/event/stream?topic=Service&index=x')).status).toBe(400);
  });

  it('injects stream faults: drops, silence without heartbeats, lag, gaps', async () => {
    sim = await NomadSimulator.start({ jitter: false, heartbeatMs: 10 });
    const dropped = await openStream('/v1/event/stream?topic=Service');
    sim.dropStreams();
    await until(() => dropped.ended());
    const s = await openStream('/v1/event/stream?topic=Service');
    const clear = sim.inject({ kind: 'silent' });
    const n = s.lines.length;
    sim.registerService({ service: 'web', port: 1 });
    await new Promise((r) => setTimeout(r, 50));
    expect(s.lines.length).toBe(n);
    clear();
    await until(() => s.lines.length > n);
    const gap = sim.inject({ kind: 'gap' });
    sim.registerService({ service: 'web', port: 2 });
    gap();
    const lag = sim.inject({ kind: 'lag', delayMs: 30 });
    sim.registerService({ service: 'web', port: 3 });
    expect(s.frames()).toHaveLength(0);
    await until(() => s.frames().length === 1);
    expect(s.frames()[0].Events[0].Payload.Service.Port).toBe(3);
    lag();
    await s.close();
  });

  it('injects faults on reads: errors, index tricks, bad JSON; errors fail waiting queries; hang freezes them', async () => {
    sim = await NomadSimulator.start({ jitter: false });
    sim.registerService({ service: 'web', port: 1 });
    sim.inject({ kind: 'error', status: 500, times: 1 });
    expect(await get('/v1/service/web')).toMatchObject({ status: 500, body: 'No cluster leader' });
    sim.inject({ kind: 'zeroIndex', times: 1 });
    expect((await get('/v1/service/web')).index).toBe('0');
    sim.inject({ kind: 'noIndex', times: 1 });
    expect((await get('/v1/service/web')).index).toBeNull();
    sim.inject({ kind: 'indexBack', by: 1, times: 1 });
    expect(Number((await get('/v1/service/web')).index)).toBe(sim.index() - 1);
    sim.inject({ kind: 'badJson', times: 1 });
    expect(typeof (await get('/v1/service/web')).body).toBe('string');
    const waiting = get(`/v1/service/web?index=${sim.index()}&wait=30s`);
    await until(() => sim.pendingQueries('/v1/service/web') === 1);
    sim.inject({ kind: 'error', status: 503, body: 'rpc error', times: 1 });
    expect((await waiting).status).toBe(503);
    const frozen = get(`/v1/service/web?index=${sim.index()}&wait=50ms`);
    await until(() => sim.pendingQueries('/v1/service/web') === 1);
    const thaw = sim.inject({ kind: 'hang' });
    expect(sim.pendingQueries('/v1/service/web')).toBe(0);
    await new Promise((r) => setTimeout(r, 80));
    thaw();
    expect((await frozen).status).toBe(200);
  });

  it('refuses connections while down and comes back on the same URL', async () => {
    sim = await NomadSimulator.start();
    const url = sim.url;
    await sim.down();
    await expect(fetch(`${url}/v1/services`)).rejects.toThrow();
    await sim.up();
    expect(sim.url).toBe(url);
    expect((await get('/v1/services')).status).toBe(200);
  });

  it('enforces ACL tokens: unknown → 403, namespace rights, * filtered, rotation fails waiting queries', async () => {
    sim = await NomadSimulator.start({ jitter: false, aclTokens: { root: 'management', reader: 'read', teamA: { namespaces: ['team-a'] } } });
    sim.registerService({ service: 'web', port: 1 });
    sim.registerService({ service: 'db', namespace: 'team-a', port: 2 });
    expect((await get('/v1/services')).status).toBe(403);
    expect((await get('/v1/services', { 'X-Nomad-Token': 'nope' })).body).toBe('ACL token not found');
    expect((await get('/v1/services', { 'X-Nomad-Token': 'reader' })).status).toBe(200);
    expect((await get('/v1/services', { Authorization: 'Bearer reader' })).status).toBe(200);
    expect((await get('/v1/service/web', { 'X-Nomad-Token': 'teamA' })).status).toBe(403);
    const star = await get('/v1/services?namespace=*', { 'X-Nomad-Token': 'teamA' });
    expect(star.body.map((n: any) => n.Namespace)).toEqual(['team-a']);
    expect((await get('/v1/event/stream', { 'X-Nomad-Token': 'reader' })).status).toBe(403);
    const waiting = get(`/v1/service/web?index=${sim.index()}&wait=30s`, { 'X-Nomad-Token': 'reader' });
    await until(() => sim.pendingQueries('/v1/service/web') === 1);
    sim.setAclTokens({ root: 'management' });
    expect((await waiting).status).toBe(403);
  });

  it('serves allocation check results and 404 for an unknown allocation', async () => {
    sim = await NomadSimulator.start();
    const allocId = uuid('c');
    sim.registerService({ service: 'web', allocId, port: 1 });
    expect((await get(`/v1/client/allocation/${allocId}/checks`)).body).toEqual({});
    sim.setCheck({ allocId, status: 'failure', name: 'alive' });
    const checks = Object.values((await get(`/v1/client/allocation/${allocId}/checks`)).body) as any[];
    expect(checks).toEqual([
      expect.objectContaining({ Check: 'alive', Service: 'web', Status: 'failure', Mode: 'healthiness', Group: 'web.group[0]' }),
    ]);
    sim.stopAllocation(allocId);
    expect((await get(`/v1/client/allocation/${allocId}/checks`)).status).toBe(404);
  });

  it('scopes by region, accepts DELETE /v1/service/:name/:id and the /_sim control API', async () => {
    sim = await NomadSimulator.start({ jitter: false, regions: ['eu'] });
    sim.registerService({ service: 'web', port: 1, region: 'eu' });
    expect((await get('/v1/services')).body).toEqual([]);
    expect((await get('/v1/services?region=eu')).body).toHaveLength(1);
    expect((await get('/v1/services?region=mars')).body).toBe('No path to region');
    const created = await fetch(`${sim.url}/_sim/services`, { method: 'POST', body: JSON.stringify({ service: 'api', port: 9 }) });
    const { ID } = (await created.json()) as { ID: string };
    expect(sim.registrationIds('api')).toEqual([ID]);
    expect((await fetch(`${sim.url}/v1/service/api/${ID}`, { method: 'DELETE' })).status).toBe(200);
    expect(sim.registrationIds('api')).toEqual([]);
  });

  it('serves HTTPS and can require client certificates', async () => {
    const dir = new URL('../testdata/', import.meta.url);
    const pem = (f: string) => readFileSync(new URL(f, dir));
    sim = await NomadSimulator.start({ tls: { key: pem('server.key'), cert: pem('server.pem'), clientCa: pem('ca.pem') } });
    const status = (opts: Record<string, unknown>) =>
      new Promise<number | string>((resolve) => {
        const req = httpsRequest(`${sim.url}/v1/services`, { ca: pem('ca.pem'), ...opts }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', (e) => resolve(e.message));
        req.end();
      });
    expect(await status({ cert: pem('client.pem'), key: pem('client.key') })).toBe(200);
    expect(typeof (await status({}))).toBe('string');
  });
});

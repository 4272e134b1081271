import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, waitFor, type ServeProcess } from '../support/process.js';
import { copyExample, replaceAtomically } from '../support/mesh-files.js';
import { greeterClient, startGreeter, tally, useXdsServer } from '../support/xds-client.js';

const TARGET = 'xds:///greeter.default.svc.cluster.local:50051';

// One control plane, two real greeter backends and a real grpc-js-xds client, driven
// through examples/canary: the article's canary release and content-based routing.
describe('canary and content routing with grpc-js-xds (examples/canary)', () => {
  let v1: any;
  let v2: any;
  let dir: string;
  let serve: ServeProcess;
  let client: any;

  beforeAll(async () => {
    v1 = await startGreeter({ version: 'v1' });
    v2 = await startGreeter({ version: 'v2' });
    dir = await copyExample('canary', { v1: v1.port, v2: v2.port });
    serve = await startServe(['--static', dir]);
    await useXdsServer(serve.xdsPort, 'canary-e2e');
    client = greeterClient(TARGET);
  });

  afterAll(async () => {
    client?.close();
    await serve?.stop();
    await v1?.stop();
    await v2?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('splits 95/5 between v1 and v2 over 1000 calls', async () => {
    const t = await tally(client, 1000);
    expect(t.errors, t.lastError).toBe(0);
    // Binomial(1000, 0.05): mean 50, sd ≈ 6.9; the band is about ±4.4 sd.
    expect(t.v2).toBeGreaterThanOrEqual(20);
    expect(t.v2).toBeLessThanOrEqual(80);
    expect(t.v1 + t.v2).toBe(1000);
  });

  it('sends x-device: iphone to v2 only and android to the split', async () => {
    const iphone = await tally(client, 200, { 'x-device': 'iphone' });
    expect(iphone).toMatchObject({ v1: 0, v2: 200, errors: 0 });
    const android = await tally(client, 200, { 'x-device': 'android' });
    expect(android.v1).toBeGreaterThan(150);
  });

  it('converges to 100% v2 after the file is edited to 0/100', async () => {
    const routes = join(dir, 'routes.yaml');
    const text = await readFile(routes, 'utf8');
    await replaceAtomically(routes, text.replace('weight: 95', 'weight: 0').replace('weight: 5', 'weight: 100'));
    await waitFor(async () => (await tally(client, 20)).v2 === 20, 'all calls on v2 after the edit');
    const t = await tally(client, 200);
    expect(t).toMatchObject({ v1: 0, v2: 200, errors: 0 });
  });

  it('refuses an invalid edit, reports it, and keeps traffic as it was', async () => {
    const routes = join(dir, 'routes.yaml');
    const good = await readFile(routes, 'utf8');
    // 0 + 90 = 90: weights must add up to 100.
    await replaceAtomically(routes, good.replace('weight: 100', 'weight: 90'));
    const configz = await waitFor(async () => {
      const c = await serve.getJson('/debug/configz');
      return Object.keys(c.rejected).length > 0 ? c : undefined;
    }, 'the rejection to show in /debug/configz');
    const messages = Object.values(configz.rejected).flat() as string[];
    expect(messages.join('\n')).toContain('VirtualService/default/greeter: spec.http[1].route');
    // The log line comes through the child's stdout, which may trail its HTTP answers.
    await waitFor(() => serve.logs().includes('VirtualService/default/greeter'), 'the rejection in the log');
    const t = await tally(client, 200);
    expect(t).toMatchObject({ v1: 0, v2: 200, errors: 0 });
    // A fixed file clears the error.
    await replaceAtomically(routes, good);
    await waitFor(async () => Object.keys((await serve.getJson('/debug/configz')).rejected).length === 0, 'the error to clear');
  });

  it('exposes the proxy, its ACKs and push metrics', async () => {
    const syncz = JSON.stringify(await serve.getJson('/debug/syncz'));
    expect(syncz).toContain('canary-e2e');
    const metrics = await serve.getText('/metrics');
    expect(metrics).toMatch(/isthmus_xds_connected_proxies 1/);
    expect(metrics).toMatch(/isthmus_xds_pushes_total\{type="[^"]*RouteConfiguration"\} \d+/);
  });
});

import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from '../support/process.js';
import { copyExample } from '../support/mesh-files.js';
import { greeterClient, startGreeter, tally, useXdsServer } from '../support/xds-client.js';

// The article's RouteRule (config.istio.io/v1alpha2), served as is: converted to a
// VirtualService + DestinationRule inside the control plane.
describe('the article RouteRule file (examples/canary-routerule)', () => {
  let v1: any;
  let v2: any;
  let dir: string;
  let serve: ServeProcess;
  let client: any;

  beforeAll(async () => {
    v1 = await startGreeter({ version: 'v1' });
    v2 = await startGreeter({ version: 'v2' });
    dir = await copyExample('canary-routerule', { v1: v1.port, v2: v2.port });
    serve = await startServe(['--static', dir]);
    await useXdsServer(serve.xdsPort, 'routerule-e2e');
    client = greeterClient('xds:///greeter.default.svc.cluster.local:50051');
  });

  afterAll(async () => {
    client?.close();
    await serve?.stop();
    await v1?.stop();
    await v2?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gives the 95/5 canary split', async () => {
    const t = await tally(client, 1000);
    expect(t.errors, t.lastError).toBe(0);
    expect(t.v2).toBeGreaterThanOrEqual(20);
    expect(t.v2).toBeLessThanOrEqual(80);
  });

  it('routes x-device: iphone to the canary (higher precedence rule)', async () => {
    expect(await tally(client, 100, { 'x-device': 'iphone' })).toMatchObject({ v2: 100, errors: 0 });
  });

  it('shows the converted VirtualService in /debug/configz', async () => {
    const configz = await serve.getJson('/debug/configz');
    expect(Object.keys(configz.routes)).toContain('greeter.default.svc.cluster.local');
    expect(configz.rejected).toEqual({});
    expect(configz.warnings.join('\n')).toContain('RouteRule/default/canary-release: deprecated');
  });
});

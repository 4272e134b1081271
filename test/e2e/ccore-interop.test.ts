import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBootstrap } from '@isthmus/xds';
import { ROOT, startServe, type ServeProcess } from '../support/process.js';
import { copyExample } from '../support/mesh-files.js';
import { startGreeter } from '../support/xds-client.js';

const PYTHON = '/usr/bin/python3';
const TARGET = 'xds:///greeter.default.svc.cluster.local:50051';

interface Counts {
  v1: number;
  v2: number;
  errors: number;
  lastError: string;
}

/**
 * The second real xDS client: gRPC C-core (Debian's python3-grpcio 1.51, installed by
 * .ci/run). It is stricter than grpc-js in several places (XDS-INTEROP.md), so the same
 * canary config must work for it too.
 */
function ccoreCalls(xdsPort: number, calls: number, metadata: Record<string, string> = {}): Promise<Counts> {
  const bootstrap = buildBootstrap({ nodeId: `ccore-${calls}`, serverUri: `127.0.0.1:${xdsPort}`, generator: 'grpc' });
  return new Promise((resolve, reject) => {
    const p = spawn(
      PYTHON,
      [`${ROOT}test/interop/ccore_client.py`, TARGET, String(calls), ...Object.entries(metadata).map(([k, v]) => `${k}=${v}`)],
      { env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`C-core client exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Counts);
    });
  });
}

describe('gRPC C-core client (python3-grpcio) against examples/canary', () => {
  let v1: any;
  let v2: any;
  let dir: string;
  let serve: ServeProcess;

  beforeAll(async () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: .ci/run installs python3-grpcio`);
    v1 = await startGreeter({ version: 'v1' });
    v2 = await startGreeter({ version: 'v2' });
    dir = await copyExample('canary', { v1: v1.port, v2: v2.port });
    serve = await startServe(['--static', dir]);
  });

  afterAll(async () => {
    await serve?.stop();
    await v1?.stop();
    await v2?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('routes x-device: iphone to v2 only', async () => {
    const c = await ccoreCalls(serve.xdsPort, 100, { 'x-device': 'iphone' });
    expect(c.errors, c.lastError).toBe(0);
    expect(c.v2).toBe(100);
  });

  it('splits the rest between v1 and v2 without errors (C-core needs weights summing to 100)', async () => {
    // C-core 1.51 picks the weighted cluster almost deterministically (XDS-INTEROP.md), so
    // only the presence of both versions and no NACK-caused errors are asserted.
    const c = await ccoreCalls(serve.xdsPort, 400);
    expect(c.errors, c.lastError).toBe(0);
    expect(c.v1).toBeGreaterThan(300);
    expect(c.v1 + c.v2).toBe(400);
    const syncz = JSON.stringify(await serve.getJson('/debug/syncz'));
    expect(syncz).not.toContain('NACKED');
  });
});

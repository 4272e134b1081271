import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBootstrap } from '../src/bootstrap.js';
import { XdsServer } from '../src/server.js';
import { startGreeter } from '../../test/support/xds-client.js';
import { aDestinationPolicy, aMatch, aRouteTable, aService, aSnapshot, aWorkload } from './helpers/builders.js';

// The capability profile of gRPC C-core 1.51 (Debian's python3-grpcio, installed by
// .ci/run) checked against the real client: rules it cannot take are left out for it, so
// it keeps working where a literal translation would crash it (RING_HASH: SIGSEGV) or fail
// every call (a 1 s max_stream_duration, a redirect) — and what it does enforce works.
const PYTHON = '/usr/bin/python3';
const CLIENT = fileURLToPath(new URL('../../test/interop/ccore_client.py', import.meta.url));
const PORT = 50051;
const host = (name: string) => `${name}.ccore.svc.cluster.local`;

interface Counts {
  readonly errors: number;
  readonly lastError: string;
  readonly [version: string]: number | string;
}

describe('gRPC C-core 1.51 gets only what it can enforce', () => {
  const backends: Record<string, { port: number; stop(): Promise<void> }> = {};
  let server: XdsServer;
  let registry: Registry;
  let xdsPort = 0;

  function ccoreCalls(name: string, calls: number, metadata: Record<string, string> = {}): Promise<Counts> {
    const bootstrap = buildBootstrap({ nodeId: `ccore-${name}`, serverUri: `127.0.0.1:${xdsPort}`, generator: 'grpc', namespace: 'default' });
    return new Promise((resolve, reject) => {
      const p = spawn(PYTHON, [CLIENT, `xds:///${host(name)}:${PORT}`, String(calls), ...Object.entries(metadata).map(([k, v]) => `${k}=${v}`)], {
        env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('error', reject);
      // A SIGSEGV (exit 139 / signal) is exactly what must not happen.
      p.on('close', (code, signal) => (code !== 0 ? reject(new Error(`C-core client exited ${code ?? signal}: ${err}`)) : resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Counts)));
    });
  }

  beforeAll(async () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: .ci/run installs python3-grpcio`);
    backends.v1 = await startGreeter({ version: 'v1' });
    backends.v2 = await startGreeter({ version: 'v2' });
    backends.flaky = await startGreeter({ version: 'flaky', fail: () => grpc.status.UNAVAILABLE });
    const b = aSnapshot();
    const service = (name: string, versions: string[]) => {
      b.withService(aService(host(name)).withPort('grpc', PORT).build());
      for (const v of versions) b.withWorkloads(aWorkload(host(name), `${name}-${v}`).at('127.0.0.1').withPort('grpc', backends[v]!.port).withLabels({ version: v }).build());
    };
    // Consistent hashing (RING_HASH elsewhere), a 1 s timeout and a redirect rule.
    service('hash', ['v1', 'v2']);
    b.withDestinations(aDestinationPolicy(host('hash'), [], { loadBalancer: { consistentHash: { key: { header: 'x-user' }, algorithm: 'RING_HASH' } } }));
    b.withRoutes(
      aRouteTable(host('hash'), [
        { name: 'away', matches: [aMatch({ headers: { 'x-go': { exact: 'away' } } })], destinations: [], redirect: { uri: '/elsewhere', redirectCode: 301 } },
        { name: 'rest', destinations: [{ host: host('hash'), weight: 100 }], timeoutMs: 1000 },
      ]),
    );
    // Retries on UNAVAILABLE; fault abort on a header.
    service('retry', ['v1', 'flaky']);
    b.withRoutes(aRouteTable(host('retry'), [{ name: 'retry', destinations: [{ host: host('retry'), weight: 100 }], retries: { attempts: 3, retryOn: 'unavailable,5xx' } }]));
    service('abort', ['v1']);
    b.withRoutes(
      aRouteTable(host('abort'), [
        { name: 'fault', matches: [aMatch({ headers: { 'x-fault': { exact: 'yes' } } })], destinations: [{ host: host('abort'), weight: 100 }], fault: { abort: { grpcStatus: grpc.status.RESOURCE_EXHAUSTED, percentage: { value: 100 } } } },
        { name: 'rest', destinations: [{ host: host('abort'), weight: 100 }] },
      ]),
    );
    // Compact EDS (HEALTHY and weight 1 left out): v1 with no health field and weight 3, v2 UNHEALTHY.
    b.withService(aService(host('health')).withPort('grpc', PORT).build());
    b.withWorkloads(
      aWorkload(host('health'), 'health-v1').at('127.0.0.1').withPort('grpc', backends.v1!.port).withLabels({ version: 'v1' }).withWeight(3).build(),
      aWorkload(host('health'), 'health-v2').at('127.0.0.1').withPort('grpc', backends.v2!.port).withLabels({ version: 'v2' }).withHealth('UNHEALTHY').build(),
    );
    registry = new Registry();
    server = new XdsServer({ metrics: registry, serverId: 'isthmus-ccore-test' });
    xdsPort = await server.listen('127.0.0.1', 0);
    server.setSnapshot(b.build());
  });

  afterAll(async () => {
    await server?.close();
    for (const b of Object.values(backends)) await b.stop();
  });

  it('no RING_HASH (it would crash), no 1 s max_stream_duration (every call would fail): calls succeed, round robin', async () => {
    const c = await ccoreCalls('hash', 60, { 'x-user': 'alice' });
    expect(c.errors, c.lastError).toBe(0);
    expect(Number(c.v1 ?? 0) + Number(c.v2 ?? 0)).toBe(60);
  });

  it('the redirect rule is left out: matching calls fall through to the next rule instead of failing', async () => {
    const c = await ccoreCalls('hash', 20, { 'x-go': 'away' });
    expect(c.errors, c.lastError).toBe(0);
  });

  it('retries on UNAVAILABLE (gRPC conditions kept, 5xx dropped) reach the healthy backend', async () => {
    const c = await ccoreCalls('retry', 60);
    expect(c.errors, c.lastError).toBe(0);
    expect(c.v1).toBe(60);
  });

  it('fault abort with a gRPC status on the matching calls only', async () => {
    const faulty = await ccoreCalls('abort', 20, { 'x-fault': 'yes' });
    expect(faulty.errors).toBe(20);
    expect(faulty.lastError).toContain('RESOURCE_EXHAUSTED');
    expect((await ccoreCalls('abort', 20)).errors).toBe(0);
  });

  it('compact endpoints: an endpoint without health_status is used, an UNHEALTHY one is not', async () => {
    const c = await ccoreCalls('health', 30);
    expect(c.errors, c.lastError).toBe(0);
    expect(c.v1).toBe(30);
  });

  it('no NACK from C-core', async () => {
    const nacks = await registry.getSingleMetric('isthmus_xds_nacks_total')?.get();
    expect(nacks?.values.reduce((s, v) => s + v.value, 0) ?? 0).toBe(0);
  });
});

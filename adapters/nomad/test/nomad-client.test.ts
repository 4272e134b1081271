import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { NomadSimulator } from '../../../test/sim/nomad/src/index.js';
import { NomadClient, NomadRequestError, ndjsonLines } from '../src/nomad-client.js';
import { decodeChecks, decodeFrame, decodeRegistrations, decodeServiceList } from '../src/nomad-types.js';

const TESTDATA = fileURLToPath(new URL('../../../test/sim/nomad/testdata/', import.meta.url));
let sim: NomadSimulator | undefined;
let client: NomadClient | undefined;

afterEach(async () => {
  client?.close();
  await sim?.stop();
  client = undefined;
  sim = undefined;
});

async function collect(chunks: (string | Buffer)[]): Promise<string[]> {
  async function* body() {
    for (const c of chunks) yield c;
  }
  const out: string[] = [];
  for await (const line of ndjsonLines(body())) out.push(line);
  return out;
}

describe('ndjsonLines', () => {
  it('splits lines across and within chunks, keeps multi-byte characters whole, and yields a last unterminated line', async () => {
    const euro = Buffer.from('{"x":"€"}\n');
    expect(await collect(['{"a":1}\n{"b"', ':2}\n\n{}\n', euro.subarray(0, 7), euro.subarray(7), '{"c":3}'])).toEqual([
      '{"a":1}',
      '{"b":2}',
      '{}',
      '{"x":"€"}',
      '{"c":3}',
    ]);
  });
});

describe('decoders', () => {
  const res = (body: string, status = 200) => ({ status, index: 5, knownLeader: true, body });

  it('reads null lists as empty and refuses half bodies and error pages', () => {
    expect(decodeServiceList(res('[{"Namespace":"default","Services":null}]'), 'GET /v1/services')).toEqual([{ Namespace: 'default', Services: [] }]);
    expect(decodeRegistrations(res('null'), 'GET /v1/service/web')).toEqual([]);
    expect(() => decodeRegistrations(res('[{"ID":"x","ServiceName":"web","Port":1'), 'GET /v1/service/web')).toThrow(/invalid JSON/);
    expect(() => decodeRegistrations(res('<html>bad gateway</html>', 502), 'GET /v1/service/web')).toThrow(/HTTP 502/);
    expect(() => decodeRegistrations(res('[{"ID":"x","ServiceName":"web","Port":"80"}]'), 'GET /v1/service/web')).toThrow(/Port is not an integer/);
    expect(() => decodeChecks(res('{"c1":{"Status":"weird"}}'), 'GET checks')).toThrow(/status "weird"/);
  });

  it('reads heartbeats and Service events, and skips other topics', () => {
    expect(decodeFrame('{}')).toEqual({ kind: 'heartbeat' });
    const frame = decodeFrame(
      JSON.stringify({
        Index: 7,
        Events: [
          { Topic: 'Job', Type: 'JobRegistered', Index: 7, Payload: {} },
          { Topic: 'Service', Type: 'ServiceRegistration', Key: 'id-1', Namespace: 'default', Index: 7, Payload: { Service: { ID: 'id-1', ServiceName: 'web', Port: 1, Tags: null } } },
        ],
      }),
    );
    expect(frame).toMatchObject({ kind: 'events', index: 7, events: [{ Type: 'ServiceRegistration', Key: 'id-1', Service: { ServiceName: 'web', Tags: [] } }] });
  });
});

describe('NomadClient', () => {
  it('reads with X-Nomad-Index, sends the token and the region, and explains a 403', async () => {
    sim = await NomadSimulator.start({ jitter: false, regions: ['eu'], aclTokens: { secret: 'read' } });
    sim.registerService({ service: 'web', port: 1, region: 'eu' });
    client = new NomadClient({ address: sim.url, token: 'secret', region: 'eu' });
    const ok = await client.get('/v1/service/web', {}, { timeoutMs: 1000 });
    expect(ok.status).toBe(200);
    expect(ok.index).toBe(sim.index('eu'));
    expect(new URLSearchParams(sim.requests('/v1/service/web')[0]!.query).get('region')).toBe('eu');
    client.close();
    client = new NomadClient({ address: sim.url.replace('http://', ''), region: 'eu' });
    const denied = await client.get('/v1/service/web', {}, { timeoutMs: 1000 });
    expect(() => decodeRegistrations(denied, 'GET /v1/service/web')).toThrow(/HTTP 403: Permission denied \(check the ACL token/);
  });

  it('re-reads a rotated token file after a 403', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nomad-token-'));
    try {
      const file = join(dir, 'token');
      await writeFile(file, 'old\n');
      sim = await NomadSimulator.start({ aclTokens: { new: 'read' } });
      client = new NomadClient({ address: sim.url, tokenFile: file });
      expect((await client.get('/v1/services', {}, { timeoutMs: 1000 })).status).toBe(403);
      await writeFile(file, 'new\n');
      expect(await client.refreshToken()).toBe(true);
      expect((await client.get('/v1/services', {}, { timeoutMs: 1000 })).status).toBe(200);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails a request that gets no answer in time, and one refused', async () => {
    sim = await NomadSimulator.start();
    client = new NomadClient({ address: sim.url });
    sim.inject({ kind: 'hang', times: 1 });
    await expect(client.get('/v1/services', {}, { timeoutMs: 50 })).rejects.toMatchObject({ kind: 'timeout', message: 'GET /v1/services: no answer within 50 ms' });
    await sim.down();
    await expect(client.get('/v1/services', {}, { timeoutMs: 1000 })).rejects.toMatchObject({ kind: 'network', message: expect.stringMatching(/connection refused .*is Nomad running/) });
  });

  it('opens an NDJSON stream, and rejects one Nomad refuses with its status', async () => {
    sim = await NomadSimulator.start({ heartbeatMs: 10 });
    client = new NomadClient({ address: sim.url });
    const stream = await client.stream('/v1/event/stream', { topic: 'Service' }, { timeoutMs: 1000 });
    sim.registerService({ service: 'web', port: 1 });
    const seen: string[] = [];
    for await (const line of stream.lines) {
      seen.push(line);
      if (seen.some((l) => l.includes('ServiceRegistration')) && seen.includes('{}')) break;
    }
    stream.close();
    const bad = await client.stream('/v1/event/stream', { topic: 'a:b:c' }, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(NomadRequestError);
    expect(bad).toMatchObject({ kind: 'http', status: 400 });
  });

  it('speaks TLS with a CA, a client certificate and a server name, and refuses an unknown CA', async () => {
    const { readFileSync } = await import('node:fs');
    const pem = (f: string) => readFileSync(join(TESTDATA, f));
    sim = await NomadSimulator.start({ tls: { key: pem('server.key'), cert: pem('server.pem'), clientCa: pem('ca.pem') } });
    client = new NomadClient({
      address: sim.url,
      tls: { caFile: join(TESTDATA, 'ca.pem'), certFile: join(TESTDATA, 'client.pem'), keyFile: join(TESTDATA, 'client.key'), serverName: 'server.global.nomad' },
    });
    expect((await client.get('/v1/services', {}, { timeoutMs: 2000 })).status).toBe(200);
    client.close();
    client = new NomadClient({ address: sim.url, tls: { certFile: join(TESTDATA, 'client.pem'), keyFile: join(TESTDATA, 'client.key') } });
    await expect(client.get('/v1/services', {}, { timeoutMs: 2000 })).rejects.toMatchObject({ kind: 'network' });
    expect(() => new NomadClient({ address: sim!.url, tls: { caFile: join(TESTDATA, 'missing.pem') } })).toThrow(/cannot read CA file/);
    expect(() => new NomadClient({ address: 'ftp://nomad' })).toThrow(/unsupported scheme/);
  });
});

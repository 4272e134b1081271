import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from 'nkeys.js';
import { NatsBus, type NatsConnectionOptions } from '@isthmus/plugin-nats';
import { startNatsServer, type NatsServer } from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/process.js';

// Credentials and TLS against real nats-servers configured for each.
describe('NatsBus credentials and TLS', () => {
  let dir: string;
  const servers: NatsServer[] = [];
  const buses: NatsBus[] = [];

  const server = async (extraArgs: string[]) => {
    const s = await startNatsServer({ extraArgs });
    servers.push(s);
    return s;
  };
  const bus = (connection: NatsConnectionOptions) => {
    const b = new NatsBus({ connection, mesh: 'auth', mirror: ['config'] });
    buses.push(b);
    return b;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isthmus-nats-auth-'));
  });

  afterAll(async () => {
    for (const b of buses) await b.close().catch(() => undefined);
    for (const s of servers) await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('authenticates with user and password, and reports a wrong password', async () => {
    const s = await server(['--user', 'isthmus', '--pass', 's3cret']);
    const good = bus({ servers: [s.url], user: 'isthmus', password: 's3cret' });
    await good.ready();
    const bad = bus({ servers: [s.url], user: 'isthmus', password: 'nope' });
    await waitFor(() => bad.connectionStatus().lastError, 'an authentication error');
    expect(bad.connectionStatus().lastError).toMatch(/authorization/i);
    expect(bad.notReadyReason()).toMatch(/connecting since .*authorization/i);
  });

  it('authenticates with a token', async () => {
    const s = await server(['--auth', 'tok-123']);
    await bus({ servers: [s.url], token: 'tok-123' }).ready();
  });

  it('authenticates with an nkey seed file', async () => {
    const user = createUser();
    const seed = join(dir, 'user.nk');
    await writeFile(seed, new TextDecoder().decode(user.getSeed()));
    const conf = join(dir, 'nkey.conf');
    await writeFile(conf, `authorization: { users: [ { nkey: ${user.getPublicKey()} } ] }\n`);
    const s = await server(['-c', conf]);
    await bus({ servers: [s.url], nkeySeedFile: seed }).ready();
  });

  it('connects over mutual TLS', async () => {
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=isthmus-test-ca');
    for (const name of ['server', 'client']) {
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      await writeFile(join(dir, `${name}.ext`), name === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' : 'extendedKeyUsage=clientAuth\n');
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
    }
    const s = await server(['--tls', '--tlscert', join(dir, 'server.pem'), '--tlskey', join(dir, 'server.key'), '--tlsverify', '--tlscacert', join(dir, 'ca.pem')]);
    const tls = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') };
    await bus({ servers: [`tls://127.0.0.1:${s.port}`], tls }).ready();
    // Without a client certificate the server refuses.
    const anonymous = bus({ servers: [`tls://127.0.0.1:${s.port}`], tls: { caFile: tls.caFile }, connectTimeoutMs: 1000 });
    await waitFor(() => anonymous.connectionStatus().lastError, 'a TLS error');
    expect(anonymous.isInitialized()).toBe(false);
  });
});

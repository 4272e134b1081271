import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { PlatformAdapter } from '@isthmus/core';
import { nomadOptionsFromFlags } from '../src/flags.js';
import { nomadModule } from '../src/nomad-module.js';
import { namespaceScopes } from '../src/options.js';

describe('nomadModule', () => {
  it('binds one platform adapter per region', async () => {
    const container = new Container();
    await container.load(nomadModule({ address: 'http://127.0.0.1:4646', regions: ['global', 'eu', 'eu'] }));
    expect(container.getAll<PlatformAdapter>(PlatformAdapter).map((a) => a.source)).toEqual(['nomad/global', 'nomad/eu']);
  });

  it('uses the agent\'s own region when none is given', async () => {
    const container = new Container();
    await container.load(nomadModule({ address: 'http://127.0.0.1:4646' }));
    expect(container.getAll<PlatformAdapter>(PlatformAdapter).map((a) => a.source)).toEqual(['nomad/local']);
  });
});

describe('namespaceScopes', () => {
  it('is default when empty, * alone when present, without duplicates otherwise', () => {
    expect(namespaceScopes(undefined)).toEqual(['default']);
    expect(namespaceScopes(['team-a', ' team-b ', 'team-a'])).toEqual(['team-a', 'team-b']);
    expect(namespaceScopes(['team-a', '*'])).toEqual(['*']);
  });
});

describe('nomadOptionsFromFlags', () => {
  it('splits repeated and comma-separated lists', () => {
    const o = nomadOptionsFromFlags({ nomad: 'http://n:4646', nomadNamespace: ['default,team-a', 'team-b'], nomadRegion: ['global, eu'], nomadService: ['web'], nomadTag: ['mesh'] }, {});
    expect(o).toMatchObject({ namespaces: ['default', 'team-a', 'team-b'], regions: ['global', 'eu'], services: ['web'], tags: ['mesh'], health: 'checks' });
  });

  it('falls back to the nomad CLI environment variables; flags win', () => {
    const env = {
      NOMAD_TOKEN: 'env-token',
      NOMAD_NAMESPACE: 'team-a',
      NOMAD_REGION: 'eu',
      NOMAD_CACERT: '/etc/nomad/ca.pem',
      NOMAD_CLIENT_CERT: '/etc/nomad/cli.pem',
      NOMAD_CLIENT_KEY: '/etc/nomad/cli-key.pem',
      NOMAD_TLS_SERVER_NAME: 'server.global.nomad',
      NOMAD_SKIP_VERIFY: 'true',
    };
    expect(nomadOptionsFromFlags({ nomad: 'https://n:4646' }, env)).toMatchObject({
      token: 'env-token',
      namespaces: ['team-a'],
      regions: ['eu'],
      tls: { caFile: '/etc/nomad/ca.pem', certFile: '/etc/nomad/cli.pem', keyFile: '/etc/nomad/cli-key.pem', serverName: 'server.global.nomad', insecureSkipVerify: true },
    });
    const flags = nomadOptionsFromFlags({ nomad: 'https://n:4646', nomadToken: 'flag-token', nomadNamespace: ['*'], nomadDomain: 'mesh.internal', nomadHealth: 'placed' }, env);
    expect(flags).toMatchObject({ token: 'flag-token', namespaces: ['*'], domain: 'mesh.internal', health: 'placed' });
  });

  it('refuses a bad health mode and a certificate without its key', () => {
    expect(() => nomadOptionsFromFlags({ nomad: 'x', nomadHealth: 'passing' }, {})).toThrow(/--nomad-health must be "checks" or "placed"/);
    expect(() => nomadOptionsFromFlags({ nomad: 'x', nomadCertFile: 'c.pem' }, {})).toThrow(/go together/);
  });
});

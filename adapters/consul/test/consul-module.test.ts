import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { ConfigSource, PlatformAdapter } from '@isthmus/core';
import { consulModule } from '../src/consul-module.js';
import { consulOptionsFromFlags } from '../src/flags.js';

describe('consulModule', () => {
  it('binds one platform adapter per datacenter, and a KV config source when asked', async () => {
    const container = new Container();
    await container.load(consulModule({ address: 'http://127.0.0.1:8500', datacenters: ['dc1', 'dc2'], kvPrefix: 'isthmus/' }));
    const adapters = container.getAll<PlatformAdapter>(PlatformAdapter);
    expect(adapters.map((a) => a.source)).toEqual(['consul/dc1', 'consul/dc2']);
    expect(container.getAll<ConfigSource>(ConfigSource).map((s) => s.source)).toEqual(['consul-kv/dc1']);
  });

  it('uses the agent\'s own datacenter when none is given', async () => {
    const container = new Container();
    await container.load(consulModule({ address: 'http://127.0.0.1:8500' }));
    expect(container.getAll<PlatformAdapter>(PlatformAdapter).map((a) => a.source)).toEqual(['consul/local']);
    expect(container.isBound(ConfigSource)).toBe(false);
  });
});

describe('consulOptionsFromFlags', () => {
  it('splits repeated and comma-separated lists', () => {
    const o = consulOptionsFromFlags({ consul: 'http://c:8500', consulDc: ['dc1,dc2', 'dc3'], consulService: ['web, api'], consulTag: ['mesh'] }, {});
    expect(o.datacenters).toEqual(['dc1', 'dc2', 'dc3']);
    expect(o.services).toEqual(['web', 'api']);
    expect(o.tags).toEqual(['mesh']);
  });

  it('falls back to the consul CLI environment variables; flags win', () => {
    const env = {
      CONSUL_HTTP_TOKEN: 'env-token',
      CONSUL_NAMESPACE: 'team-a',
      CONSUL_CACERT: '/etc/consul/ca.pem',
      CONSUL_TLS_SERVER_NAME: 'server.dc1.consul',
      CONSUL_HTTP_SSL_VERIFY: 'false',
    };
    const o = consulOptionsFromFlags({ consul: 'https://c:8501', consulNamespace: 'team-b' }, env);
    expect(o).toMatchObject({
      token: 'env-token',
      namespace: 'team-b',
      tls: { caFile: '/etc/consul/ca.pem', serverName: 'server.dc1.consul', insecureSkipVerify: true },
    });
  });

  it('refuses a bad connect mode and a certificate without its key', () => {
    expect(() => consulOptionsFromFlags({ consul: 'x', consulConnect: 'mesh' }, {})).toThrow(/--consul-connect must be "ignore" or "sidecar"/);
    expect(() => consulOptionsFromFlags({ consul: 'x', consulCertFile: 'c.pem' }, {})).toThrow(/go together/);
  });
});

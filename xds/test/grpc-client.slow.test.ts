import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBootstrap } from '../src/bootstrap.js';
import { XdsServer } from '../src/server.js';
import {
  CLUSTER_TYPE_URL,
  ENDPOINT_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_TYPE_URL,
} from '../src/resources/type-urls.js';
import { aRouteTable, aService, aSnapshot, aWorkload, canarySnapshot, GREETER, versionSubsets } from './helpers/builders.js';
import { greeterClient, startGreeter, tally, waitFor, type Greeter } from './helpers/greeter.js';

const TARGET = `xds:///${GREETER}:50051`;

// A real @grpc/grpc-js-xds client against our xDS server and two real greeter backends.
// The xDS client is per process (bootstrap read once), so this file runs one xDS server.
describe('proxyless gRPC (grpc-js-xds 1.14) against the xDS server', () => {
  let v1: Greeter;
  let v2: Greeter;
  let server: XdsServer;
  let registry: Registry;
  let client: grpc.Client;
  const snapshot = (opts: { split?: [number, number] } = {}) => canarySnapshot({ v1Port: v1.port, v2Port: v2.port, address: '127.0.0.1', ...opts });

  beforeAll(async () => {
    v1 = await startGreeter('v1');
    v2 = await startGreeter('v2');
    registry = new Registry();
    server = new XdsServer({ metrics: registry, serverId: 'isthmus-slow-test' });
    const port = await server.listen('127.0.0.1', 0);
    server.setSnapshot(snapshot().build());
    // Must be set before register() and the first xds: channel.
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(
      buildBootstrap({ nodeId: 'slow-test-client', serverUri: `127.0.0.1:${port}`, generator: 'grpc', namespace: 'default' }),
    );
    const xds = await import('@grpc/grpc-js-xds');
    xds.register();
    client = greeterClient(TARGET);
    await waitFor(async () => (await tally(client, 1, {}, 1)).errors === 0, 'the first call through xds:///');
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    await v1?.stop();
    await v2?.stop();
  });

  it('splits 95/5 between v1 and v2 over 2000 calls', async () => {
    const t = await tally(client, 2000);
    expect(t.errors, t.lastError).toBe(0);
    // Binomial(2000, 0.05): mean 100, sd ≈ 9.7; the band is about ±4.5 sd.
    expect(t.counts.v2 ?? 0).toBeGreaterThanOrEqual(56);
    expect(t.counts.v2 ?? 0).toBeLessThanOrEqual(144);
    expect((t.counts.v1 ?? 0) + (t.counts.v2 ?? 0)).toBe(2000);
  });

  it('sends x-device: iphone to v2 only', async () => {
    const t = await tally(client, 300, { 'x-device': 'iphone' });
    expect(t).toMatchObject({ counts: { v2: 300 }, errors: 0 });
  });

  it('ACKs every type it was sent: no NACK, all four types in sync', () => {
    const [proxy] = server.status();
    expect(proxy).toMatchObject({ id: 'slow-test-client', generator: 'grpc', namespace: 'default' });
    expect(proxy?.userAgent).toContain('gRPC Node');
    for (const type of [LISTENER_TYPE_URL, ROUTE_TYPE_URL, CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL]) {
      const st = proxy?.types[type];
      expect(st, type).toMatchObject({ status: 'ACKED' });
      expect(st?.ackedVersion, type).toBe(st?.sentVersion);
      expect(st?.lastError, type).toBeUndefined();
    }
  });

  it('follows a pushed change of the split to 0/100', async () => {
    server.setSnapshot(snapshot({ split: [0, 100] }).build());
    await waitFor(async () => (await tally(client, 20)).counts.v2 === 20, 'all calls on v2 after the push');
    expect(await tally(client, 200)).toMatchObject({ counts: { v2: 200 }, errors: 0 });
  });

  it('applies an injected fault (filter added by LDS, override by RDS) and its removal', async () => {
    const faulty = snapshot()
      .withRoutes(
        aRouteTable(GREETER, [
          {
            name: 'all',
            destinations: [{ host: GREETER, subset: 'v1', weight: 100 }],
            fault: { abort: { grpcStatus: grpc.status.RESOURCE_EXHAUSTED, percentage: { value: 100 } } },
          },
        ]),
      )
      .build();
    server.setSnapshot(faulty);
    await waitFor(async () => (await tally(client, 10)).errors === 10, 'every call aborted by the fault');
    const failed = await tally(client, 20);
    expect(failed.lastError).toContain('RESOURCE_EXHAUSTED');
    server.setSnapshot(
      snapshot().withRoutes(aRouteTable(GREETER, [{ name: 'all', destinations: [{ host: GREETER, subset: 'v1', weight: 100 }] }])).build(),
    );
    await waitFor(async () => (await tally(client, 10)).counts.v1 === 10, 'calls succeed on v1 once the fault is gone');
  });

  it('moves traffic to a new backend on an endpoint-only change (EDS pushed, nothing else)', async () => {
    const sent = () => Object.fromEntries(Object.entries(server.status()[0]?.types ?? {}).map(([t, st]) => [t, st.sentVersion]));
    server.setSnapshot(snapshot({ split: [0, 100] }).build());
    await waitFor(async () => (await tally(client, 20)).counts.v2 === 20, 'all calls on v2');
    const before = sent();
    const v2b = await startGreeter('v2b');
    try {
      server.setSnapshot(canarySnapshot({ v1Port: v1.port, v2Port: v2b.port, address: '127.0.0.1', split: [0, 100] }).build());
      await waitFor(async () => (await tally(client, 20)).counts.v2b === 20, 'all calls on the new v2 backend');
      const after = sent();
      expect(after[ENDPOINT_TYPE_URL]).not.toBe(before[ENDPOINT_TYPE_URL]);
      for (const type of [LISTENER_TYPE_URL, ROUTE_TYPE_URL, CLUSTER_TYPE_URL]) expect(after[type], type).toBe(before[type]);
    } finally {
      await v2b.stop();
    }
  });

  it('follows an endpoint turning UNHEALTHY and back (health omitted while HEALTHY: compact EDS)', async () => {
    // Both backends in the service's own cluster; gRPC EDS leaves HEALTHY (and weight 1) out,
    // so the change is a field appearing, then going away again: grpc-js must see both.
    const mesh = (v2Health: 'HEALTHY' | 'UNHEALTHY') =>
      aSnapshot()
        .withService(aService(GREETER).withPort('grpc', 50051).build())
        .withWorkloads(
          aWorkload(GREETER, 'greeter-v1').at('127.0.0.1').withPort('grpc', v1.port).withLabels({ version: 'v1' }).build(),
          aWorkload(GREETER, 'greeter-v2').at('127.0.0.1').withPort('grpc', v2.port).withLabels({ version: 'v2' }).withHealth(v2Health).build(),
        )
        .withDestinations(versionSubsets(GREETER))
        .withRoutes(aRouteTable(GREETER, [{ name: 'all', destinations: [{ host: GREETER, weight: 100 }] }]))
        .build();
    server.setSnapshot(mesh('HEALTHY'));
    await waitFor(async () => {
      const t = await tally(client, 40);
      return (t.counts.v1 ?? 0) > 0 && (t.counts.v2 ?? 0) > 0;
    }, 'calls on both backends');
    server.setSnapshot(mesh('UNHEALTHY'));
    await waitFor(async () => (await tally(client, 20)).counts.v1 === 20, 'v2 left out once UNHEALTHY');
    expect(await tally(client, 100)).toMatchObject({ counts: { v1: 100 }, errors: 0 });
    server.setSnapshot(mesh('HEALTHY'));
    await waitFor(async () => ((await tally(client, 40)).counts.v2 ?? 0) > 0, 'v2 back once HEALTHY');
  });

  it('a route change pushes only that route config; grpc-js keeps applying the one left out (SotW RDS, changed only)', async () => {
    const OTHER = 'other.default.svc.cluster.local';
    const mesh = (split: [number, number]) =>
      snapshot({ split })
        .withService(aService(OTHER).withPort('grpc', 50051).build())
        .withWorkloads(aWorkload(OTHER, 'other-v1').at('127.0.0.1').withPort('grpc', v1.port).withLabels({ version: 'v1' }).build())
        .withRoutes(aRouteTable(OTHER, [{ name: 'all', destinations: [{ host: OTHER, weight: 100 }] }]))
        .build();
    server.setSnapshot(mesh([100, 0]));
    const other = greeterClient(`xds:///${OTHER}:50051`);
    try {
      await waitFor(async () => (await tally(other, 5)).counts.v1 === 5, 'calls through the second target');
      await waitFor(async () => (await tally(client, 20)).counts.v1 === 20, 'greeter calls all on v1');
      const carried: number[] = [];
      const off = server.addCallbacks({ onResponse: (e) => void (e.typeUrl === ROUTE_TYPE_URL && e.trigger === 'push' && carried.push(e.resources)) });
      server.setSnapshot(mesh([0, 100]));
      await waitFor(async () => (await tally(client, 20)).counts.v2 === 20, 'greeter calls all on v2 after the push');
      off();
      // One ADS stream subscribes to both route configs; the push carried only the changed one.
      expect(server.status()[0]?.types[ROUTE_TYPE_URL]?.subscribed).toBe(2);
      expect(carried).toEqual([1]);
      expect(await tally(other, 50)).toMatchObject({ counts: { v1: 50 }, errors: 0 });
    } finally {
      other.close();
    }
  });

  it('counted no NACK at all', async () => {
    const nacks = await registry.getSingleMetric('isthmus_xds_nacks_total')?.get();
    expect(nacks?.values.reduce((s, v) => s + v.value, 0) ?? 0).toBe(0);
    const pushes = await registry.getSingleMetric('isthmus_xds_pushes_total')?.get();
    expect(pushes?.values.find((v) => v.labels.type === ROUTE_TYPE_URL)?.value).toBeGreaterThan(0);
  });
});

import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { XdsServer } from '../../src/server.js';
import type { NackEvent } from '../../src/callbacks/callbacks.js';
import {
  CLUSTER_TYPE_URL as CDS,
  ENDPOINT_TYPE_URL as EDS,
  LISTENER_TYPE_URL as LDS,
  ROUTE_TYPE_URL as RDS,
} from '../../src/resources/type-urls.js';
import { aRouteTable, aService, aWorkload, canarySnapshot, GREETER, versionSubsets } from '../helpers/builders.js';
import { AdsTestClient, type DecodedResponse } from '../helpers/ads-client.js';
import { recordingGenerators } from '../helpers/generate.js';
import { recordingLogger } from '../helpers/logger.js';

const LISTENER = `${GREETER}:50051`;
const CLUSTERS = [`outbound|50051||${GREETER}`, `outbound|50051|v1|${GREETER}`, `outbound|50051|v2|${GREETER}`];
const OTHER = 'other.default.svc.cluster.local';
const OTHER_CLUSTER = `outbound|50051||${OTHER}`;

/** The canary mesh plus a second service, `other`, whose endpoint can move. */
function twoServices(opts: { v2Port?: number; otherAddress?: string } = {}) {
  return canarySnapshot(opts.v2Port !== undefined ? { v2Port: opts.v2Port } : {})
    .withService(aService(OTHER).build())
    .withWorkloads(aWorkload(OTHER, 'other-1').at(opts.otherAddress ?? '10.0.9.1').build())
    .build();
}

/** Polls until `probe` returns a value (no fixed sleeps). */
async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return v?.value ?? 0;
}

describe('ADS state-of-the-world protocol', () => {
  let server: XdsServer;
  let registry: Registry;
  let port: number;
  let logger: ReturnType<typeof recordingLogger>;
  const clients: AdsTestClient[] = [];
  const connect = (id = 'proxy-a', metadata: Record<string, unknown> = { GENERATOR: 'grpc', NAMESPACE: 'default' }) => {
    const c = new AdsTestClient(port, { id, metadata });
    clients.push(c);
    return c;
  };

  /** Subscribes to the canary's LDS, RDS, CDS, EDS and ACKs each. */
  async function subscribeAll(c: AdsTestClient): Promise<Record<string, DecodedResponse>> {
    const out: Record<string, DecodedResponse> = {};
    for (const [type, names] of [[LDS, [LISTENER]], [RDS, [LISTENER]], [CDS, CLUSTERS], [EDS, CLUSTERS]] as const) {
      const r = await c.request(type, [...names]);
      expect(r.type_url).toBe(type);
      c.ack(r, [...names]);
      out[type] = r;
    }
    expect(await c.drainUntilBarrier()).toEqual([]);
    return out;
  }

  beforeEach(async () => {
    registry = new Registry();
    logger = recordingLogger();
    server = new XdsServer({ logger, metrics: registry, serverId: 'isthmus-test' });
    port = await server.listen('127.0.0.1', 0);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  it('sends nothing before the first snapshot, then answers the waiting request once', async () => {
    const c = connect();
    c.send({ typeUrl: LDS, names: [LISTENER] });
    const st = await until(() => server.status()[0]?.types[LDS], 'the request to be recorded');
    expect(st).toMatchObject({ status: 'REQUESTED', subscribed: 1 });
    expect(st.sentVersion).toBeUndefined();
    expect(await metric(registry, 'isthmus_xds_pushes_total')).toBe(0);

    server.setSnapshot(canarySnapshot().build());
    const r = await c.next();
    expect(r.type_url).toBe(LDS);
    expect(r.resources.map((x) => x.name)).toEqual([LISTENER]);
    expect(r.resources[0]?.['@type']).toBe(LDS);
    expect(r.control_plane?.identifier).toBe('isthmus-test');
    expect(await c.drainUntilBarrier()).toEqual([]);
    expect(server.status()[0]).toMatchObject({ id: 'proxy-a', generator: 'grpc', namespace: 'default' });
  });

  it('a type no generator serves is answered with no resources, and warned about once per stream', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    const unknown = 'type.googleapis.com/isthmus.test.NoSuchType';
    const r = await c.request(unknown, ['x']);
    expect([r.type_url, r.resources]).toEqual([unknown, []]);
    // A wider subscription is answered again (still nothing), without a second warning.
    c.ack(r, ['x', 'y']);
    const again = await c.next();
    expect([again.type_url, again.resources]).toEqual([unknown, []]);
    expect(await c.drainUntilBarrier()).toEqual([]);
    const warned = logger.at('warn').filter((l) => l.msg.startsWith('no generator for this type') && l.obj.type === unknown);
    expect(warned).toHaveLength(1);
    expect(warned[0]!.obj).toMatchObject({ proxy: 'proxy-a', generator: 'grpc', known: false });
  });

  it('pushes in the order CDS, EDS, LDS, RDS when a snapshot changes every type', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    await subscribeAll(c);
    const changed = canarySnapshot({ v1Port: 60001 })
      .withDestinations(versionSubsets(GREETER, { connectionPool: { maxRequests: 10 } }))
      .withRoutes(aRouteTable(GREETER, [{ destinations: [{ host: GREETER, weight: 100 }], fault: { abort: { grpcStatus: 8, percentage: { value: 10 } } } }]))
      .build();
    server.setSnapshot(changed);
    const order = [await c.next(), await c.next(), await c.next(), await c.next()].map((r) => r.type_url);
    expect(order).toEqual([CDS, EDS, LDS, RDS]);
  });

  it('pushes only EDS when only endpoints change', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    const first = await subscribeAll(c);
    server.setSnapshot(canarySnapshot({ v2Port: 60002 }).build());
    const pushed = await c.drainUntilBarrier();
    expect(pushed.map((r) => r.type_url)).toEqual([EDS]);
    expect(pushed[0]?.version_info).not.toBe(first[EDS]?.version_info);
    const ports = pushed[0]!.resources.flatMap((cla) =>
      (cla.endpoints ?? []).flatMap((e: any) => e.lb_endpoints.map((l: any) => l.endpoint.address.socket_address.port_value)),
    );
    expect(ports).toContain(60002);
  });

  it('pushes an endpoint change only to the proxies watching that service, with only the assignments that changed', async () => {
    server.setSnapshot(twoServices());
    const watcher = connect('watcher');
    const first = await watcher.request(EDS, CLUSTERS);
    watcher.ack(first, CLUSTERS);
    const bystander = connect('bystander');
    const theirs = await bystander.request(EDS, [OTHER_CLUSTER]);
    bystander.ack(theirs, [OTHER_CLUSTER]);
    await watcher.drainUntilBarrier();
    await bystander.drainUntilBarrier();

    server.setSnapshot(twoServices({ v2Port: 60002 }));
    const pushed = await watcher.drainUntilBarrier();
    expect(pushed).toHaveLength(1);
    // v2 moved: the service's assignment and the v2 subset's changed, v1's did not.
    expect(new Set(pushed[0]!.resources.map((r) => r.cluster_name))).toEqual(new Set([CLUSTERS[0], CLUSTERS[2]]));
    expect(pushed[0]!.version_info).not.toBe(first.version_info);
    expect(await bystander.drainUntilBarrier()).toEqual([]);
    watcher.ack(pushed[0]!, CLUSTERS);

    // version_info still names the whole set: a client reconnecting with it gets nothing more.
    const again = connect('watcher-again');
    again.send({ typeUrl: EDS, names: CLUSTERS, versionInfo: pushed[0]!.version_info });
    expect(await again.drainUntilBarrier()).toEqual([]);

    // Rounds that skip a proxy leave it up to date: the next change that reaches it arrives.
    server.setSnapshot(twoServices({ v2Port: 60002, otherAddress: '10.0.9.2' }));
    const other = await bystander.next();
    expect(other.resources.map((r) => r.cluster_name)).toEqual([OTHER_CLUSTER]);
    bystander.ack(other, [OTHER_CLUSTER]);
    expect(await watcher.drainUntilBarrier()).toEqual([]);
    server.setSnapshot(twoServices({ v2Port: 60003, otherAddress: '10.0.9.2' }));
    const next = await watcher.next();
    expect(new Set(next.resources.map((r) => r.cluster_name))).toEqual(new Set([CLUSTERS[0], CLUSTERS[2]]));
    expect(await bystander.drainUntilBarrier()).toEqual([]);
  });

  it('a push generates only the names the change reached; version_info still names the whole set', async () => {
    const { generators, asked } = recordingGenerators(EDS);
    const own = new XdsServer({ generators });
    const ownPort = await own.listen('127.0.0.1', 0);
    try {
      own.setSnapshot(twoServices());
      const names = [...CLUSTERS, OTHER_CLUSTER];
      const c = new AdsTestClient(ownPort, { id: 'scoped', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } });
      clients.push(c);
      const first = await c.request(EDS, names);
      c.ack(first, names);
      await c.drainUntilBarrier();
      asked.length = 0;
      own.setSnapshot(twoServices({ otherAddress: '10.0.9.2' }));
      const pushed = await c.next();
      expect(pushed.resources.map((r) => r.cluster_name)).toEqual([OTHER_CLUSTER]);
      expect(asked).toEqual([[OTHER_CLUSTER]]);
      c.ack(pushed, names);
      // The version names the whole set: a client reconnecting with it is sent nothing, one
      // with the previous version gets everything.
      const again = new AdsTestClient(ownPort, { id: 'scoped-again', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } });
      clients.push(again);
      again.send({ typeUrl: EDS, names, versionInfo: pushed.version_info });
      expect(await again.drainUntilBarrier()).toEqual([]);
      const stale = new AdsTestClient(ownPort, { id: 'scoped-stale', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } });
      clients.push(stale);
      stale.send({ typeUrl: EDS, names, versionInfo: first.version_info });
      const full = await stale.next();
      expect(full.version_info).toBe(pushed.version_info);
      expect(full.resources).toHaveLength(4);
    } finally {
      await own.close();
    }
  });

  it('after a NACK, or when the subscription grows, EDS goes out whole again', async () => {
    server.setSnapshot(twoServices());
    const c = connect();
    const first = await c.request(EDS, CLUSTERS);
    c.ack(first, CLUSTERS);
    server.setSnapshot(twoServices({ v2Port: 60002 }));
    const partial = await c.next();
    expect(partial.resources).toHaveLength(2);
    c.nack(partial, CLUSTERS, 'xDS response validation errors: [resource index 0: bad]', first.version_info);
    expect(await c.drainUntilBarrier()).toEqual([]);
    server.setSnapshot(twoServices({ v2Port: 60003 }));
    const whole = await c.next();
    expect(whole.resources.map((r) => r.cluster_name).sort()).toEqual([...CLUSTERS].sort());
    // The ACK subscribes to one more cluster: the answer carries all four.
    c.ack(whole, [...CLUSTERS, OTHER_CLUSTER]);
    const grown = await c.next();
    expect(grown.resources).toHaveLength(4);
  });

  it('pushes nothing for a snapshot with the same content', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    await subscribeAll(c);
    const pushes = await metric(registry, 'isthmus_xds_pushes_total', { type: LDS });
    server.setSnapshot(canarySnapshot().build());
    expect(await c.drainUntilBarrier()).toEqual([]);
    expect(await metric(registry, 'isthmus_xds_pushes_total', { type: LDS })).toBe(pushes);
  });

  it('on a NACK: logs, counts and records it, does not resend that version, sends the next one', async () => {
    const nacks: NackEvent[] = [];
    server.onNack((e) => nacks.push(e));
    server.setSnapshot(canarySnapshot().build());
    const c = connect('proxy-nack');
    const r = await c.request(LDS, [LISTENER]);
    const message = 'xDS response validation errors: [resource index 0: greeter: bad]';
    c.nack(r, [LISTENER], message);
    expect(await c.drainUntilBarrier()).toEqual([]);

    const st = server.status()[0]?.types[LDS];
    expect(st).toMatchObject({ status: 'NACKED', nackedVersion: r.version_info, lastError: message });
    expect(await metric(registry, 'isthmus_xds_nacks_total', { type: LDS })).toBe(1);
    expect(nacks).toHaveLength(1);
    expect(nacks[0]).toMatchObject({ proxyId: 'proxy-nack', typeUrl: LDS, nonce: r.nonce, rejectedVersion: r.version_info, errorDetail: { code: 14, message } });
    const line = logger.at('warn').find((l) => l.msg.includes('NACK'));
    expect(line?.obj).toMatchObject({ proxy: 'proxy-nack', type: LDS, nonce: r.nonce, errorDetail: { code: 14, message } });

    // A snapshot that leaves the listener as it was (only endpoints differ): still nothing.
    server.setSnapshot(canarySnapshot({ v1Port: 1234 }).build());
    expect(await c.drainUntilBarrier()).toEqual([]);
    // A listener that really changed goes out.
    server.setSnapshot(
      canarySnapshot()
        .withRoutes(aRouteTable(GREETER, [{ destinations: [{ host: GREETER, weight: 100 }], fault: { delay: { fixedDelayMs: 10, percentage: { value: 1 } } } }]))
        .build(),
    );
    const next = await c.next();
    expect(next.type_url).toBe(LDS);
    expect(next.version_info).not.toBe(r.version_info);
    c.ack(next, [LISTENER]);
    await until(() => server.status()[0]?.types[LDS]?.status === 'ACKED', 'the ACK');
  });

  it('gives a reconnecting client that holds the current version no push', async () => {
    server.setSnapshot(canarySnapshot().build());
    const a = connect('proxy-r');
    const lds = await a.request(LDS, [LISTENER]);
    a.ack(lds, [LISTENER]);
    const cds = await a.request(CDS, CLUSTERS);
    a.ack(cds, CLUSTERS);
    await a.drainUntilBarrier();
    a.close();
    await until(() => server.status().length === 0, 'the first stream to close');

    const b = connect('proxy-r');
    b.send({ typeUrl: LDS, names: [LISTENER], versionInfo: lds.version_info });
    b.send({ typeUrl: CDS, names: CLUSTERS, versionInfo: 'some-older-version' });
    const got = await b.drainUntilBarrier();
    expect(got.map((r) => r.type_url)).toEqual([CDS]);
    expect(got[0]?.version_info).toBe(cds.version_info);
    expect(server.status()[0]?.types[LDS]).toMatchObject({ status: 'ACKED', ackedVersion: lds.version_info, sentVersion: lds.version_info });
  });

  it('versions are content hashes: a second server with the same snapshot answers the same version_info', async () => {
    const snapshot = canarySnapshot().build();
    server.setSnapshot(snapshot);
    const other = new XdsServer();
    const otherPort = await other.listen('127.0.0.1', 0);
    try {
      other.setSnapshot(canarySnapshot().build());
      const a = connect();
      const b = new AdsTestClient(otherPort, { id: 'proxy-b', metadata: { GENERATOR: 'grpc' } });
      clients.push(b);
      for (const [type, names] of [[LDS, [LISTENER]], [RDS, [LISTENER]], [CDS, CLUSTERS], [EDS, CLUSTERS]] as const) {
        expect((await a.request(type, [...names])).version_info).toBe((await b.request(type, [...names])).version_info);
      }
    } finally {
      await other.close();
    }
  });

  it('answers an unknown type URL with an empty response and a warning, and keeps serving', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    const unknown = 'type.googleapis.com/envoy.config.nothing.v3.Nothing';
    const r = await c.request(unknown, ['x']);
    expect(r).toMatchObject({ type_url: unknown, resources: [] });
    expect(r.version_info).not.toBe('');
    expect(logger.at('warn').some((l) => l.obj.type === unknown)).toBe(true);
    c.ack(r, ['x']);
    expect((await c.request(LDS, [LISTENER])).resources).toHaveLength(1);
  });

  it('resends on re-subscription even when nothing changed', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    const all = await c.request(CDS, CLUSTERS);
    c.ack(all, [CLUSTERS[0]!]);
    const shrunk = await c.next();
    expect(shrunk.resources.map((x) => x.name)).toEqual([CLUSTERS[0]]);
    c.ack(shrunk, CLUSTERS);
    const again = await c.next();
    expect(again.resources.map((x) => x.name).sort()).toEqual([...CLUSTERS].sort());
    expect(again.version_info).toBe(all.version_info);
  });

  it('treats empty names as wildcard in the first request and unsubscribe-all later', async () => {
    server.setSnapshot(canarySnapshot().build());
    const envoyLike = connect('wild');
    const all = await envoyLike.request(CDS, []);
    expect(all.resources).toHaveLength(3);
    envoyLike.ack(all, []);
    expect(await envoyLike.drainUntilBarrier()).toEqual([]);
    expect(server.status()[0]?.types[CDS]).toMatchObject({ wildcard: true, status: 'ACKED' });

    const named = connect('named');
    const lds = await named.request(LDS, [LISTENER]);
    named.ack(lds, []);
    expect(await named.drainUntilBarrier()).toEqual([]);
    const st = server.status().find((p) => p.id === 'named')?.types[LDS];
    expect(st).toMatchObject({ wildcard: false, subscribed: 0 });
  });

  it('ignores requests that carry an older nonce', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    const first = await c.request(CDS, [CLUSTERS[0]!]);
    // A push overtakes the client's ACK: the ACK of `first` arrives with a stale nonce.
    server.setSnapshot(canarySnapshot().withDestinations(versionSubsets(GREETER, { connectionPool: { maxRequests: 5 } })).build());
    const second = await c.next();
    expect(second.nonce).not.toBe(first.nonce);
    c.ack(first, CLUSTERS);
    expect(await c.drainUntilBarrier()).toEqual([]);
    c.ack(second, CLUSTERS);
    expect((await c.next()).resources).toHaveLength(3);
  });

  it('serves an Envoy node (no GENERATOR) the sidecar shapes: wildcard LDS/CDS, RDS by port', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect('envoy-1', { NAMESPACE: 'default' });
    const lds = await c.request(LDS, []);
    expect(lds.resources.map((r) => r.name)).toEqual(['0.0.0.0_50051', 'virtualOutbound']);
    c.ack(lds, []);
    const cds = await c.request(CDS, []);
    expect(cds.resources.map((r) => r.name)).toEqual(['BlackHoleCluster', 'PassthroughCluster', ...[...CLUSTERS].sort()]);
    c.ack(cds, []);
    const rds = await c.request(RDS, ['50051']);
    expect(rds.resources.map((r) => r.name)).toEqual(['50051']);
    expect(rds.resources[0]!.virtual_hosts.map((v: any) => v.name)).toEqual([`${GREETER}:50051`, 'allow_any']);
    c.ack(rds, ['50051']);
    expect(await c.drainUntilBarrier()).toEqual([]);
    expect(logger.at('error')).toEqual([]);
  });

  it('tracks connected proxies and push bytes in metrics', async () => {
    server.setSnapshot(canarySnapshot().build());
    const a = connect('m1');
    const b = connect('m2');
    await a.request(LDS, [LISTENER]);
    await b.request(LDS, [LISTENER]);
    expect(await metric(registry, 'isthmus_xds_connected_proxies')).toBe(2);
    expect(await metric(registry, 'isthmus_xds_push_bytes_total', { type: LDS })).toBeGreaterThan(0);
    a.close();
    await until(() => server.status().length === 1, 'one stream to close');
    expect(await metric(registry, 'isthmus_xds_connected_proxies')).toBe(1);
  });

  it('observes push duration per proxy push', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    await subscribeAll(c);
    server.setSnapshot(canarySnapshot({ v2Port: 61000 }).build());
    await c.next();
    expect(await registry.getSingleMetricAsString('isthmus_xds_push_duration_seconds')).toContain('isthmus_xds_push_duration_seconds_count 1');
  });

  it('answers identical proxies identically', async () => {
    server.setSnapshot(canarySnapshot().build());
    const a = connect('s1');
    const b = connect('s2');
    const ra = await a.request(EDS, CLUSTERS);
    const rb = await b.request(EDS, CLUSTERS);
    expect(rb.version_info).toBe(ra.version_info);
    expect(rb.resources).toEqual(ra.resources);
  });
});

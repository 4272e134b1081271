import { compileSidecars, parseConfigText } from '@isthmus/core';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NackEvent } from '../../src/callbacks/callbacks.js';
import { XdsServer } from '../../src/server.js';
import {
  CLUSTER_TYPE_URL as CDS,
  ENDPOINT_TYPE_URL as EDS,
  LISTENER_TYPE_URL as LDS,
  ROUTE_TYPE_URL as RDS,
} from '../../src/resources/type-urls.js';
import { AdsTestClient } from '../helpers/ads-client.js';
import { aService, aWorkload, canarySnapshot, GREETER, versionSubsets } from '../helpers/builders.js';
import { DeltaTestClient } from '../helpers/delta-client.js';
import { recordingGenerators } from '../helpers/generate.js';
import { recordingLogger } from '../helpers/logger.js';

const DEFAULT = `outbound|50051||${GREETER}`;
const V1 = `outbound|50051|v1|${GREETER}`;
const V2 = `outbound|50051|v2|${GREETER}`;
const GRPC_NODE = { GENERATOR: 'grpc', NAMESPACE: 'default' };
const OTHER = 'other.default.svc.cluster.local';

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
  return m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l))?.value ?? 0;
}

const names = (r: { resources: { name: string }[] }) => r.resources.map((x) => x.name).sort();

describe('delta (incremental) xDS on ADS', () => {
  let server: XdsServer;
  let registry: Registry;
  let port: number;
  let logger: ReturnType<typeof recordingLogger>;
  const clients: { close(): void }[] = [];
  const connect = (id = 'delta-a', metadata: Record<string, unknown> = GRPC_NODE, path?: string) => {
    const c = new DeltaTestClient(port, { id, metadata }, path);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    registry = new Registry();
    logger = recordingLogger();
    server = new XdsServer({ logger, metrics: registry, serverId: 'isthmus-delta' });
    port = await server.listen('127.0.0.1', 0);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  it('wildcard: everything with per-resource versions, then only what changed, then removals', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    c.send({ typeUrl: CDS });
    const first = await c.next();
    expect(first.type_url).toBe(CDS);
    expect(names(first)).toEqual([DEFAULT, V1, V2].sort());
    expect(first.removed_resources).toEqual([]);
    expect(first.control_plane?.identifier).toBe('isthmus-delta');
    for (const r of first.resources) {
      expect(r.version).toMatch(/^[0-9a-f]{16}$/);
      expect(r.resource['@type']).toBe(CDS);
      expect(r.resource.name).toBe(r.name);
    }
    c.ack(first);
    expect(await c.drainUntilBarrier()).toEqual([]);
    expect(server.status()[0]).toMatchObject({ id: 'delta-a', protocol: 'delta', types: { [CDS]: { status: 'ACKED', wildcard: true } } });

    // A new service: only its cluster.
    server.setSnapshot(canarySnapshot().withService(aService(OTHER).withPort('grpc', 7000).build()).build());
    const added = await c.next();
    expect(names(added)).toEqual([`outbound|7000||${OTHER}`]);
    c.ack(added);
    // A DestinationRule without subsets (and the new service gone): v1, v2 and the new
    // cluster are removed; the default cluster is unchanged, so not sent.
    server.setSnapshot(canarySnapshot().withDestinations({ ...versionSubsets(GREETER), subsets: [], version: 'no-subsets' }).build());
    const removed = await c.next();
    expect(removed.removed_resources).toEqual([V1, V2, `outbound|7000||${OTHER}`].sort());
    expect(names(removed)).toEqual([]);
    c.ack(removed);
    expect(c.heldVersions(CDS)).toEqual({ [DEFAULT]: first.resources.find((r) => r.name === DEFAULT)!.version });
    expect(await c.drainUntilBarrier()).toEqual([]);
  });

  it('a type no generator serves is answered with no resources, and warned about once per stream', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    const unknown = 'type.googleapis.com/isthmus.test.NoSuchType';
    c.send({ typeUrl: unknown, subscribe: ['x'] });
    const r = await c.next();
    expect([r.type_url, r.resources, r.removed_resources]).toEqual([unknown, [], ['x']]);
    c.ack(r);
    // A wider subscription is answered again (`y` does not exist either), without a second warning.
    c.send({ typeUrl: unknown, subscribe: ['y'] });
    const again = await c.next();
    expect([again.type_url, again.removed_resources]).toEqual([unknown, ['y']]);
    c.ack(again);
    expect(await c.drainUntilBarrier()).toEqual([]);
    const warned = logger.at('warn').filter((l) => l.msg.startsWith('no generator for this type') && l.obj.type === unknown);
    expect(warned).toHaveLength(1);
    expect(warned[0]!.obj).toMatchObject({ proxy: 'delta-a', known: false });
  });

  it('an explicit * is a wildcard too; a policy change sends the clusters it changes only', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    c.send({ typeUrl: CDS, subscribe: ['*'] });
    const all = await c.next();
    expect(names(all)).toEqual([DEFAULT, V1, V2].sort());
    c.ack(all);
    // A circuit breaker on subset v2 only.
    server.setSnapshot(
      canarySnapshot()
        .withDestinations({
          ...versionSubsets(GREETER),
          subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { connectionPool: { maxRequests: 9 } } }],
          version: 'v2-limited',
        })
        .build(),
    );
    const changed = await c.next();
    expect(names(changed)).toEqual([V2]);
    expect(changed.removed_resources).toEqual([]);
  });

  it('named subscriptions: subscribe, unsubscribe, resubscribe; a missing name is reported removed once', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect();
    c.send({ typeUrl: EDS, subscribe: [V1, 'outbound|1|x|nowhere'] });
    const first = await c.next();
    expect(names(first)).toEqual([V1]);
    expect(first.removed_resources).toEqual(['outbound|1|x|nowhere']);
    c.ack(first);
    c.send({ typeUrl: EDS, subscribe: [V2] });
    const more = await c.next();
    expect(names(more)).toEqual([V2]);
    c.ack(more);
    c.send({ typeUrl: EDS, unsubscribe: [V1] });
    expect(await c.drainUntilBarrier()).toEqual([]);
    expect(server.status()[0]?.types[EDS]).toMatchObject({ subscribed: 2, wildcard: false });
    // Resubscribing: the client dropped V1, so it comes again even though unchanged.
    c.send({ typeUrl: EDS, subscribe: [V1] });
    const again = await c.next();
    expect(names(again)).toEqual([V1]);
    expect(again.resources[0]!.version).toBe(first.resources[0]!.version);
    c.ack(again);
    // An endpoint change of v2 only: V2's assignment only.
    server.setSnapshot(canarySnapshot({ v2Port: 60002 }).build());
    const pushed = await c.next();
    expect(names(pushed)).toEqual([V2]);
    expect(await c.drainUntilBarrier()).toEqual([]);
  });

  it('an endpoint change reaches its watchers only, round after round, however many proxies watch something else', async () => {
    const OTHER_CLUSTER = `outbound|50051||${OTHER}`;
    const mesh = (otherAddress: string, v2Port = 50062) =>
      canarySnapshot({ v2Port }).withService(aService(OTHER).build()).withWorkloads(aWorkload(OTHER, 'o1').at(otherAddress).build()).build();
    server.setSnapshot(mesh('10.0.9.1'));
    const watchers = [connect('w1'), connect('w2')];
    const bystanders = [connect('b1'), connect('b2'), connect('b3')];
    for (const c of watchers) {
      c.send({ typeUrl: EDS, subscribe: [V2, OTHER_CLUSTER] });
      c.ack(await c.next());
    }
    for (const c of bystanders) {
      c.send({ typeUrl: EDS, subscribe: [DEFAULT, V1] });
      c.ack(await c.next());
    }
    for (const [i, address] of ['10.0.9.2', '10.0.9.3', '10.0.9.4'].entries()) {
      server.setSnapshot(mesh(address, i >= 1 ? 50063 : 50062));
      for (const c of watchers) {
        const got = await c.drainUntilBarrier();
        // Round 1 (i = 1) also moves v2: both of the watcher's resources, still nothing else.
        expect(got.flatMap(names).sort()).toEqual(i === 1 ? [OTHER_CLUSTER, V2].sort() : [OTHER_CLUSTER]);
        for (const r of got) c.ack(r);
      }
      // v2 moving changes the whole service's assignment, which only bystanders hold.
      for (const c of bystanders) {
        const got = await c.drainUntilBarrier();
        expect(got.flatMap(names)).toEqual(i === 1 ? [DEFAULT] : []);
        for (const r of got) c.ack(r);
      }
    }
  });

  it('a push generates only the subscribed names the change reached; system_version_info is the snapshot version', async () => {
    const OTHER_CLUSTER = `outbound|50051||${OTHER}`;
    const { generators, asked } = recordingGenerators(EDS);
    const own = new XdsServer({ generators });
    const ownPort = await own.listen('127.0.0.1', 0);
    try {
      const mesh = (otherAddress: string) =>
        canarySnapshot().withService(aService(OTHER).build()).withWorkloads(aWorkload(OTHER, 'o1').at(otherAddress).build()).build();
      own.setSnapshot(mesh('10.0.9.1'));
      const c = new DeltaTestClient(ownPort, { id: 'scoped', metadata: GRPC_NODE });
      clients.push(c);
      c.send({ typeUrl: EDS, subscribe: [DEFAULT, V1, OTHER_CLUSTER] });
      const first = await c.next();
      expect(names(first)).toEqual([DEFAULT, OTHER_CLUSTER, V1].sort());
      c.ack(first);
      expect(asked).toEqual([[DEFAULT, OTHER_CLUSTER, V1].sort()]); // the request: every subscribed name
      const moved = mesh('10.0.9.2');
      own.setSnapshot(moved);
      const pushed = await c.drainUntilBarrier();
      expect(pushed.flatMap(names)).toEqual([OTHER_CLUSTER]);
      expect(pushed[0]!.system_version_info).toBe(moved.version);
      expect(asked.at(-1)).toEqual([OTHER_CLUSTER]); // the push: only what the change reached
      for (const r of pushed) c.ack(r);
    } finally {
      await own.close();
    }
  });

  it('a round of hundreds of streams is pushed in slices; a newer snapshot meanwhile finishes it first, so every stream ends on the newest', async () => {
    const OTHER_CLUSTER = `outbound|50051||${OTHER}`;
    const mesh = (address: string) => canarySnapshot().withService(aService(OTHER).build()).withWorkloads(aWorkload(OTHER, 'o1').at(address).build()).build();
    server.setSnapshot(mesh('10.0.9.1'));
    const many = Array.from({ length: 300 }, (_, i) => connect(`many-${i}`));
    for (const c of many) c.send({ typeUrl: EDS, subscribe: [OTHER_CLUSTER] });
    for (const c of many) c.ack(await c.next());
    const first = many[0]!.held.get(EDS)?.get(OTHER_CLUSTER);
    server.setSnapshot(mesh('10.0.9.2'));
    server.setSnapshot(mesh('10.0.9.3')); // the round for 10.0.9.2 may still be in progress
    const latecomer = connect('latecomer');
    latecomer.send({ typeUrl: EDS, subscribe: [OTHER_CLUSTER] });
    const newest = (await latecomer.next()).resources[0]!.version;
    expect(newest).not.toBe(first);
    for (const c of many) {
      // Pushes may still be on their way: apply until the newest arrives, then nothing else may.
      while (c.held.get(EDS)?.get(OTHER_CLUSTER) !== newest) c.ack(await c.next());
      for (const r of await c.drainUntilBarrier()) c.ack(r);
      expect(c.held.get(EDS)?.get(OTHER_CLUSTER)).toBe(newest);
    }
  });

  it('on reconnect, initial_resource_versions: nothing the client holds is sent again; stale and gone ones are', async () => {
    server.setSnapshot(canarySnapshot().build());
    const a = connect('delta-r');
    a.send({ typeUrl: CDS });
    const all = await a.next();
    a.ack(all);
    await a.drainUntilBarrier();
    a.close();
    await until(() => server.status().length === 0, 'the first stream to close');

    const b = connect('delta-r');
    b.send({ typeUrl: CDS, initialVersions: a.heldVersions(CDS) });
    expect(await b.drainUntilBarrier()).toEqual([]);
    expect(server.status()[0]?.types[CDS]).toMatchObject({ status: 'ACKED' });
    b.close();
    await until(() => server.status().length === 0, 'the second stream to close');

    const held = { ...a.heldVersions(CDS), [V1]: 'an-old-version', 'outbound|9|gone|gone.default.svc.cluster.local': 'x' };
    const c = connect('delta-r');
    c.send({ typeUrl: CDS, initialVersions: held });
    const fix = await c.next();
    expect(names(fix)).toEqual([V1]);
    expect(fix.removed_resources).toEqual(['outbound|9|gone|gone.default.svc.cluster.local']);
  });

  it('a NACK is recorded, logged and counted, the refused version is not sent again, the next one is', async () => {
    const nacks: NackEvent[] = [];
    server.onNack((e) => nacks.push(e));
    server.setSnapshot(canarySnapshot().build());
    const c = connect('delta-n');
    c.send({ typeUrl: CDS });
    c.ack(await c.next());
    server.setSnapshot(canarySnapshot().withDestinations(versionSubsets(GREETER, { connectionPool: { maxRequests: 3 } })).build());
    const bad = await c.next();
    const message = `xDS response validation errors: [resource index 0: ${V1}: bad]`;
    c.nack(bad, message);
    // The two clusters the error does not name go out again at once; the refused V1 does not.
    const resent = await c.next();
    expect(names(resent)).toEqual([DEFAULT, V2].sort());
    c.ack(resent);
    expect(await c.drainUntilBarrier()).toEqual([]);
    expect(nacks).toHaveLength(1);
    expect(nacks[0]).toMatchObject({ proxyId: 'delta-n', typeUrl: CDS, nonce: bad.nonce, errorDetail: { code: 3, message } });
    expect(await metric(registry, 'isthmus_xds_nacks_total', { type: CDS })).toBe(1);
    expect(server.status()[0]?.types[CDS]).toMatchObject({ status: 'ACKED' });
    expect(server.status()[0]?.types[CDS]?.nackedVersion).toBe(bad.system_version_info);
    expect(logger.at('warn').some((l) => l.msg.includes('NACK') && l.obj.proxy === 'delta-n')).toBe(true);

    // Another change that leaves the clusters as they are: the refused V1 is not resent.
    server.setSnapshot(
      canarySnapshot({ v1Port: 1 })
        .withService(aService(OTHER).withPort('grpc', 7000).build())
        .withDestinations(versionSubsets(GREETER, { connectionPool: { maxRequests: 3 } }))
        .build(),
    );
    const other = await c.next();
    expect(names(other)).toEqual([`outbound|7000||${OTHER}`]);
    c.ack(other);
    // New content for V1 goes out.
    server.setSnapshot(canarySnapshot().withDestinations(versionSubsets(GREETER, { connectionPool: { maxRequests: 4 } })).build());
    const next = await c.next();
    expect(names(next)).toContain(V1);
    c.ack(next);
    await until(() => server.status()[0]?.types[CDS]?.status === 'ACKED', 'the ACK');
  });

  it('a new Sidecar that hides a service removes its clusters from the proxies it applies to', async () => {
    const base = () => canarySnapshot().withService(aService(OTHER).inNamespace('other').withPort('grpc', 7000).build());
    server.setSnapshot(base().build());
    const c = connect('delta-sc', { GENERATOR: 'grpc', NAMESPACE: 'default' });
    c.send({ typeUrl: CDS });
    const all = await c.next();
    expect(names(all)).toContain(`outbound|7000||${OTHER}`);
    c.ack(all);
    const { sidecars } = compileSidecars(
      parseConfigText('apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: { name: default, namespace: default }\nspec:\n  egress: [{ hosts: ["./*"] }]\n', 's.yaml').objects,
    );
    server.setSnapshot(base().withSidecars(sidecars).build());
    const pushed = await c.next();
    expect(pushed.removed_resources).toEqual([`outbound|7000||${OTHER}`]);
    expect(pushed.resources).toEqual([]);
  });

  it('answers the first request even when there is nothing (so a client can finish initializing)', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect('delta-empty', GRPC_NODE);
    c.send({ typeUrl: RDS, subscribe: [] });
    const r = await c.next();
    // Wildcard RDS for gRPC: every route config.
    expect(names(r)).toEqual([`${GREETER}:50051`]);
    const d = connect('delta-unknown', GRPC_NODE);
    d.send({ typeUrl: 'type.googleapis.com/envoy.config.nothing.v3.Nothing' });
    const empty = await d.next();
    expect(empty).toMatchObject({ resources: [], removed_resources: [] });
  });

  it('waits for the first snapshot, then answers', async () => {
    const c = connect();
    c.send({ typeUrl: LDS, subscribe: [`${GREETER}:50051`] });
    await until(() => server.status()[0]?.types[LDS], 'the request');
    server.setSnapshot(canarySnapshot().build());
    const r = await c.next();
    expect(names(r)).toEqual([`${GREETER}:50051`]);
  });

  it('serves an Envoy sidecar over delta ADS: wildcard LDS and CDS, RDS by port', async () => {
    server.setSnapshot(canarySnapshot().build());
    const c = connect('envoy-delta', { NAMESPACE: 'default' });
    c.send({ typeUrl: CDS });
    const cds = await c.next();
    expect(names(cds)).toEqual(['BlackHoleCluster', 'PassthroughCluster', DEFAULT, V1, V2].sort());
    c.ack(cds);
    c.send({ typeUrl: LDS });
    const lds = await c.next();
    expect(names(lds)).toEqual(['0.0.0.0_50051', 'virtualOutbound']);
    c.ack(lds);
    c.send({ typeUrl: RDS, subscribe: ['50051'] });
    const rds = await c.next();
    expect(names(rds)).toEqual(['50051']);
    c.ack(rds);
    expect(await c.drainUntilBarrier()).toEqual([]);
  });
});

describe('single-type xDS services', () => {
  let server: XdsServer;
  let port: number;
  const closers: { close(): void }[] = [];
  beforeEach(async () => {
    server = new XdsServer({ logger: recordingLogger() });
    port = await server.listen('127.0.0.1', 0);
    server.setSnapshot(canarySnapshot().build());
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) c.close();
    await server.close();
  });

  it.each([
    ['ClusterDiscoveryService/StreamClusters', CDS, [DEFAULT, V1, V2].sort()],
    ['ListenerDiscoveryService/StreamListeners', LDS, [`${GREETER}:50051`]],
    ['RouteDiscoveryService/StreamRoutes', RDS, [`${GREETER}:50051`]],
    ['EndpointDiscoveryService/StreamEndpoints', EDS, [DEFAULT, V1, V2].sort()],
  ])('SotW %s serves its type', async (method, typeUrl, expected) => {
    const pkg = { CDS: 'cluster', LDS: 'listener', RDS: 'route', EDS: 'endpoint' }[
      ({ [CDS]: 'CDS', [LDS]: 'LDS', [RDS]: 'RDS', [EDS]: 'EDS' } as Record<string, 'CDS' | 'LDS' | 'RDS' | 'EDS'>)[typeUrl]!
    ];
    const c = new AdsTestClient(port, { id: 'single', metadata: GRPC_NODE }, `/envoy.service.${pkg}.v3.${method}`);
    closers.push(c);
    const r = await c.request(typeUrl, typeUrl === LDS || typeUrl === RDS ? [`${GREETER}:50051`] : []);
    expect(r.type_url).toBe(typeUrl);
    expect(r.resources.map((x) => x.name ?? x.cluster_name).sort()).toEqual(expected);
  });

  it('a single-type stream ignores requests for another type', async () => {
    const c = new AdsTestClient(port, { id: 'single', metadata: GRPC_NODE }, '/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters');
    closers.push(c);
    c.send({ typeUrl: LDS, names: [`${GREETER}:50051`] });
    const r = await c.request(CDS, []);
    expect(r.type_url).toBe(CDS);
  });

  it('delta DeltaClusters serves clusters incrementally', async () => {
    const c = new DeltaTestClient(port, { id: 'single-delta', metadata: GRPC_NODE }, '/envoy.service.cluster.v3.ClusterDiscoveryService/DeltaClusters');
    closers.push(c);
    c.send({ typeUrl: CDS });
    const r = await c.next();
    expect(names(r)).toEqual([DEFAULT, V1, V2].sort());
    c.ack(r);
    server.setSnapshot(canarySnapshot().withService(aService(OTHER).withPort('grpc', 7000).build()).build());
    expect(names(await c.next())).toEqual([`outbound|7000||${OTHER}`]);
    expect(server.status().map((s) => s.protocol)).toEqual(['delta']);
  });
});

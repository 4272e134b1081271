import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resourceStatus } from '../../src/csds/csds.js';
import { protoDepsDir } from '../../src/protos/root.js';
import { XdsServer } from '../../src/server.js';
import type { EncodedResource } from '../../src/resources/encoded.js';
import { CLUSTER_TYPE_URL as CDS, LISTENER_TYPE_URL as LDS } from '../../src/resources/type-urls.js';
import { AdsTestClient } from '../helpers/ads-client.js';
import { aRouteTable, canarySnapshot, GREETER, versionSubsets } from '../helpers/builders.js';
import { DeltaTestClient } from '../helpers/delta-client.js';
import { recordingLogger } from '../helpers/logger.js';

const LISTENER = `${GREETER}:50051`;
const V1 = `outbound|50051|v1|${GREETER}`;
const V2 = `outbound|50051|v2|${GREETER}`;
const DEFAULT = `outbound|50051||${GREETER}`;
const GRPC_NODE = { GENERATOR: 'grpc', NAMESPACE: 'default' };

/** A real grpc-js client for envoy.service.status.v3.ClientStatusDiscoveryService, from the .proto files. */
type CsdsClient = grpc.Client & {
  FetchClientStatus(req: object, cb: (err: grpc.ServiceError | null, res: any) => void): void;
  StreamClientStatus(): grpc.ClientDuplexStream<object, any>;
};
let CsdsCtor: new (address: string, creds: grpc.ChannelCredentials) => CsdsClient;

beforeAll(() => {
  const deps = protoDepsDir();
  const definition = protoLoader.loadSync('envoy/service/status/v3/csds.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d)),
  });
  const pkg = grpc.loadPackageDefinition(definition) as any;
  CsdsCtor = pkg.envoy.service.status.v3.ClientStatusDiscoveryService;
});

function fetchStatus(client: CsdsClient, req: object): Promise<any> {
  return new Promise((resolve, reject) => client.FetchClientStatus(req, (err, res) => (err ? reject(err) : resolve(res))));
}

/** generic_xds_configs as `<short type> <name>` → [config_status, client_status]. */
function table(config: any): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {};
  for (const c of config.generic_xds_configs) {
    // The test clients' barrier requests are a type of their own.
    if (c.type_url.includes('isthmus.test.Barrier')) continue;
    const short = c.type_url === LDS ? 'LDS' : c.type_url === CDS ? 'CDS' : c.type_url;
    out[`${short} ${c.name}`] = [c.config_status, c.client_status];
  }
  return out;
}

describe('CSDS (ClientStatusDiscoveryService)', () => {
  let server: XdsServer;
  let port: number;
  let csds: CsdsClient;
  const closers: { close(): void }[] = [];

  beforeEach(async () => {
    server = new XdsServer({ logger: recordingLogger() });
    port = await server.listen('127.0.0.1', 0);
    csds = new CsdsCtor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    closers.push(csds);
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) c.close();
    await server.close();
  });

  it('reports per resource SYNCED/ACKED, NOT_SENT/DOES_NOT_EXIST, STALE/REQUESTED and ERROR/NACKED with the error', async () => {
    server.setSnapshot(canarySnapshot().build());
    const a = new AdsTestClient(port, { id: 'proxy-a', metadata: GRPC_NODE });
    closers.push(a);
    const lds = await a.request(LDS, [LISTENER, 'nowhere.default.svc.cluster.local:1']);
    a.ack(lds, [LISTENER, 'nowhere.default.svc.cluster.local:1']);
    const cds = await a.request(CDS, [V1, V2]);
    // CDS is not answered yet: sent, not ACKed.
    await a.drainUntilBarrier();

    const d = new DeltaTestClient(port, { id: 'proxy-d', metadata: GRPC_NODE });
    closers.push(d);
    d.send({ typeUrl: CDS, subscribe: [DEFAULT, V1] });
    const bad = await d.next();
    d.nack(bad, `xDS response validation errors: [resource index 0: ${V1}: bad lb policy]`);
    await d.drainUntilBarrier();

    const res = await fetchStatus(csds, { node_matchers: [{ node_id: { exact: 'proxy-a' } }] });
    expect(res.config).toHaveLength(1);
    const config = res.config[0];
    expect(config.node.id).toBe('proxy-a');
    expect(table(config)).toEqual({
      [`CDS ${V1}`]: ['STALE', 'REQUESTED'],
      [`CDS ${V2}`]: ['STALE', 'REQUESTED'],
      [`LDS ${LISTENER}`]: ['SYNCED', 'ACKED'],
      'LDS nowhere.default.svc.cluster.local:1': ['NOT_SENT', 'DOES_NOT_EXIST'],
    });
    const listener = config.generic_xds_configs.find((c: any) => c.name === LISTENER);
    expect(listener.version_info).toMatch(/^[0-9a-f]{16}$/);
    // The resource itself, as an Any of its type.
    expect(listener.xds_config.type_url).toBe(LDS);
    expect(listener.xds_config.value.length).toBeGreaterThan(0);

    a.ack(cds, [V1, V2]);
    await a.drainUntilBarrier();
    const after = await fetchStatus(csds, { node_matchers: [{ node_id: { exact: 'proxy-a' } }], exclude_resource_contents: true });
    expect(table(after.config[0])[`CDS ${V1}`]).toEqual(['SYNCED', 'ACKED']);
    expect(after.config[0].generic_xds_configs.every((c: any) => c.xds_config === null)).toBe(true);

    const delta = await fetchStatus(csds, { node_matchers: [{ node_id: { prefix: 'proxy-d' } }] });
    expect(delta.config.map((c: any) => c.node.id)).toEqual(['proxy-d']);
    const rows = table(delta.config[0]);
    expect(rows[`CDS ${V1}`]).toEqual(['ERROR', 'NACKED']);
    // The other resource of the refused response was not named by the error: sent again and not refused.
    expect(rows[`CDS ${DEFAULT}`]?.[1]).not.toBe('NACKED');
    const refused = delta.config[0].generic_xds_configs.find((c: any) => c.name === V1);
    expect(refused.error_state.details).toContain('bad lb policy');
    expect(refused.error_state.version_info).toMatch(/^[0-9a-f]{16}$/);
    expect(Number(refused.error_state.last_update_attempt.seconds)).toBeGreaterThan(0);
  });

  it('without matchers reports every proxy; a newer config not pushed yet shows as STALE', async () => {
    server.setSnapshot(canarySnapshot().build());
    const a = new AdsTestClient(port, { id: 'p1', metadata: GRPC_NODE });
    const b = new AdsTestClient(port, { id: 'p2', metadata: GRPC_NODE });
    closers.push(a, b);
    for (const c of [a, b]) c.ack(await c.request(LDS, [LISTENER]), [LISTENER]);
    await a.drainUntilBarrier();
    await b.drainUntilBarrier();
    const all = await fetchStatus(csds, {});
    expect(all.config.map((c: any) => c.node.id)).toEqual(['p1', 'p2']);
    expect(await fetchStatus(csds, { node_matchers: [{ node_id: { exact: 'nobody' } }] })).toMatchObject({ config: [] });
    expect((await fetchStatus(csds, { node_matchers: [{ node_id: { safe_regex: { regex: 'p[2-9]' } } }] })).config.map((c: any) => c.node.id)).toEqual(['p2']);
  });

  it('StreamClientStatus answers every request with the current status', async () => {
    server.setSnapshot(canarySnapshot().build());
    const a = new AdsTestClient(port, { id: 'streamed', metadata: GRPC_NODE });
    closers.push(a);
    const lds = await a.request(LDS, [LISTENER]);
    a.ack(lds, [LISTENER]);
    await a.drainUntilBarrier();
    const stream = csds.StreamClientStatus();
    stream.on('error', () => undefined);
    const responses: any[] = [];
    const nextResponse = () =>
      new Promise<any>((resolve) => {
        const have = responses.shift();
        if (have) return resolve(have);
        stream.once('data', resolve);
      });
    stream.write({ node_matchers: [{ node_id: { exact: 'streamed' } }] });
    expect(table((await nextResponse()).config[0])[`LDS ${LISTENER}`]).toEqual(['SYNCED', 'ACKED']);
    // A route change adds a fault filter to the listener: pushed, not ACKed yet.
    server.setSnapshot(
      canarySnapshot()
        .withDestinations(versionSubsets(GREETER))
        .withRoutes(aRouteTable(GREETER, [{ destinations: [{ host: GREETER, weight: 100 }], fault: { abort: { grpcStatus: 14, percentage: { value: 1 } } } }]))
        .build(),
    );
    await a.next();
    stream.write({ node_matchers: [{ node_id: { exact: 'streamed' } }] });
    expect(table((await nextResponse()).config[0])[`LDS ${LISTENER}`]).toEqual(['STALE', 'REQUESTED']);
    stream.end();
  });
});

describe('resourceStatus', () => {
  const current = (version: string) => ({ name: 'r', version }) as EncodedResource;
  const at = new Date(0);
  it.each([
    { name: 'never sent, exists', r: { name: 'r' }, cur: current('1'), want: ['NOT_SENT', 'REQUESTED'] },
    { name: 'never sent, does not exist', r: { name: 'r' }, cur: undefined, want: ['NOT_SENT', 'DOES_NOT_EXIST'] },
    { name: 'sent, not answered', r: { name: 'r', sentVersion: '1' }, cur: current('1'), want: ['STALE', 'REQUESTED'] },
    { name: 'ACKed, current', r: { name: 'r', sentVersion: '1', ackedVersion: '1' }, cur: current('1'), want: ['SYNCED', 'ACKED'] },
    { name: 'ACKed, newer not pushed yet', r: { name: 'r', sentVersion: '1', ackedVersion: '1' }, cur: current('2'), want: ['STALE', 'ACKED'] },
    { name: 'refused the last sent', r: { name: 'r', sentVersion: '2', ackedVersion: '1', nacked: { version: '2', error: 'x', at } }, cur: current('2'), want: ['ERROR', 'NACKED'] },
    { name: 'delta: went back to the old one, refused the current', r: { name: 'r', sentVersion: '1', ackedVersion: '1', nacked: { version: '2', error: 'x', at } }, cur: current('2'), want: ['ERROR', 'NACKED'] },
    { name: 'refused an older one, the newer is ACKed', r: { name: 'r', sentVersion: '3', ackedVersion: '3', nacked: { version: '2', error: 'x', at } }, cur: current('3'), want: ['SYNCED', 'ACKED'] },
  ])('$name', ({ r, cur, want }) => {
    const s = resourceStatus('t', r, cur);
    expect([s.configStatus, s.clientStatus]).toEqual(want);
    if ('nacked' in r) expect(s.errorState).toMatchObject({ details: 'x', versionInfo: '2' });
  });
});

import { describe, expect, it } from 'vitest';
import type { TypeState } from '../../src/protocol/ack.js';
import { changedOnly } from '../../src/protocol/sotw-server.js';
import type { EncodedResource } from '../../src/resources/encoded.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, ROUTE_TYPE_URL } from '../../src/resources/type-urls.js';

const res = (name: string, version: string): EncodedResource =>
  ({ name, version, typeUrl: 't', resource: {}, framed: new Uint8Array(), warnings: [] }) as EncodedResource;
const acked: TypeState = { status: 'ACKED', wildcard: false, names: new Set(['a', 'b', 'c']), forceSend: false, sentVersion: 'v1', ackedVersion: 'v1' };
const sent = new Map([
  ['a', '1'],
  ['b', '1'],
  ['c', '1'],
]);
const names = (rs: readonly EncodedResource[]) => rs.map((r) => r.name);

describe('changedOnly (what a SotW push carries)', () => {
  const list = [res('a', '1'), res('b', '2'), res('c', '1')];

  it.each([
    ['EDS: only the changed assignment', ENDPOINT_TYPE_URL, acked, sent, list, false, ['b']],
    ['RDS to a gRPC client: only the changed route config', ROUTE_TYPE_URL, acked, sent, list, true, ['b']],
    ['RDS to an Envoy sidecar: the whole set', ROUTE_TYPE_URL, acked, sent, list, false, ['a', 'b', 'c']],
    ['CDS (all required): the whole set', CLUSTER_TYPE_URL, acked, sent, list, true, ['a', 'b', 'c']],
    ['after a NACK: the whole set', ENDPOINT_TYPE_URL, { ...acked, status: 'NACKED' }, sent, list, false, ['a', 'b', 'c']],
    ['a resend owed (re-subscription): the whole set', ENDPOINT_TYPE_URL, { ...acked, forceSend: true }, sent, list, false, ['a', 'b', 'c']],
    ['a resource went away: the whole set', ENDPOINT_TYPE_URL, acked, sent, [res('a', '1'), res('b', '2')], false, ['a', 'b']],
    ['a new resource: only it', ENDPOINT_TYPE_URL, acked, new Map([['a', '1']]), [res('a', '1'), res('d', '1')], false, ['d']],
    ['nothing changed: the whole set', ENDPOINT_TYPE_URL, acked, sent, [res('a', '1'), res('b', '1'), res('c', '1')], false, ['a', 'b', 'c']],
  ] as const)('%s', (_what, type, state, sentMap, current, grpc, want) => {
    expect(names(changedOnly(type, { state: state as TypeState, sent: sentMap }, current, grpc))).toEqual(want);
  });
});

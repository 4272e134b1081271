import { describe, expect, it } from 'vitest';
import { onDeltaRequest, type DeltaRequestView, type RequestKind, type TypeState } from '../../src/protocol/ack.js';
import {
  deltaDiff,
  forget,
  initialResources,
  MAX_INFLIGHT,
  onDeltaAck,
  onDeltaNack,
  onDeltaSent,
  type DeltaResources,
} from '../../src/protocol/delta.js';
import type { EncodedResource } from '../../src/resources/encoded.js';

const res = (name: string, version: string): EncodedResource =>
  ({ name, version, typeUrl: 't', resource: {}, framed: new Uint8Array(), warnings: [] }) as EncodedResource;
const req = (r: Partial<DeltaRequestView> = {}): DeltaRequestView => ({ subscribe: [], unsubscribe: [], nonce: '', ...r });
const state = (s: Partial<TypeState> = {}): TypeState => ({ status: 'REQUESTED', wildcard: false, names: new Set(['a']), forceSend: false, ...s });
const sent = (s: Partial<TypeState> = {}) => state({ sentVersion: 's1', sentNonce: 'n1', ...s });
const nack = { code: 3, message: 'bad a' };

describe('onDeltaRequest (subscription increments + the shared ACK/NACK rules)', () => {
  const rows: {
    name: string;
    prev: TypeState | undefined;
    req: DeltaRequestView;
    kind: RequestKind;
    expect: Partial<Omit<TypeState, 'names'>> & { names?: string[] };
  }[] = [
    { name: 'first request subscribing to nothing is a (legacy) wildcard', prev: undefined, req: req(), kind: 'INITIAL', expect: { wildcard: true, names: [], status: 'REQUESTED' } },
    { name: 'first request with names', prev: undefined, req: req({ subscribe: ['a', 'b'] }), kind: 'INITIAL', expect: { wildcard: false, names: ['a', 'b'] } },
    { name: 'first request with * and names', prev: undefined, req: req({ subscribe: ['*', 'a'] }), kind: 'INITIAL', expect: { wildcard: true, names: ['a'] } },
    { name: 'subscribe adds names, whatever the nonce', prev: sent(), req: req({ subscribe: ['b'], nonce: 'old' }), kind: 'STALE', expect: { names: ['a', 'b'] } },
    { name: 'unsubscribe removes names', prev: sent({ names: new Set(['a', 'b']) }), req: req({ unsubscribe: ['a'] }), kind: 'UPDATE', expect: { names: ['b'] } },
    { name: 'later empty subscribe keeps the wildcard', prev: sent({ wildcard: true, names: new Set() }), req: req({ nonce: 'n1' }), kind: 'ACK', expect: { wildcard: true } },
    { name: 'unsubscribing * ends the wildcard', prev: sent({ wildcard: true, names: new Set(['a']) }), req: req({ unsubscribe: ['*'] }), kind: 'UPDATE', expect: { wildcard: false, names: ['a'] } },
    { name: 'subscribing * later starts a wildcard', prev: sent(), req: req({ subscribe: ['*'] }), kind: 'UPDATE', expect: { wildcard: true, names: ['a'] } },
    { name: 'ACK of the latest response accepts the version sent with it', prev: sent(), req: req({ nonce: 'n1' }), kind: 'ACK', expect: { status: 'ACKED', ackedVersion: 's1', handledNonce: 'n1' } },
    { name: 'NACK keeps the accepted version and records the error', prev: sent({ ackedVersion: 's0' }), req: req({ nonce: 'n1', errorDetail: nack }), kind: 'NACK', expect: { status: 'NACKED', nackedVersion: 's1', ackedVersion: 's0', lastError: 'bad a' } },
    { name: 'ACK with a subscription change at once', prev: sent(), req: req({ nonce: 'n1', subscribe: ['c'] }), kind: 'ACK', expect: { status: 'ACKED', names: ['a', 'c'] } },
    { name: 'an answer to an older response is stale', prev: sent({ sentNonce: 'n2' }), req: req({ nonce: 'n1', errorDetail: nack }), kind: 'STALE', expect: { status: 'REQUESTED' } },
    { name: 'a repeated answer only updates the subscription', prev: sent({ handledNonce: 'n1', status: 'ACKED' }), req: req({ nonce: 'n1', subscribe: ['z'] }), kind: 'UPDATE', expect: { status: 'ACKED', names: ['a', 'z'] } },
  ];
  it.each(rows)('$name', ({ prev, req: r, kind, expect: want }) => {
    const got = onDeltaRequest(prev, r);
    expect(got.kind).toBe(kind);
    const { names, ...rest } = want;
    if (names) expect([...got.state.names].sort()).toEqual(names);
    for (const [k, v] of Object.entries(rest)) expect(got.state[k as keyof TypeState], k).toEqual(v);
  });
});

describe('delta per-resource bookkeeping', () => {
  const wildcard = { wildcard: true, names: new Set<string>() };
  const named = (...n: string[]) => ({ wildcard: false, names: new Set(n) });
  const names = (rs: EncodedResource[]) => rs.map((r) => r.name);

  it('a new client gets everything; a reconnecting one only what it lacks, and removals for what is gone', () => {
    const current = [res('a', '1'), res('b', '1')];
    expect(names(deltaDiff(initialResources(), current, wildcard).send)).toEqual(['a', 'b']);
    const back = initialResources({ a: '1', b: '0', gone: '7' });
    expect(back.acked).toEqual(new Map([['a', '1'], ['b', '0'], ['gone', '7']]));
    const d = deltaDiff(back, current, wildcard);
    expect(names(d.send)).toEqual(['b']);
    expect(d.remove).toEqual(['gone']);
  });

  it('named: a missing name is reported once; a name outside the subscription is never removed', () => {
    let r = initialResources({ other: '1' });
    const d = deltaDiff(r, [res('a', '1')], named('a', 'missing'));
    expect(d.remove).toEqual(['missing']);
    r = onDeltaSent(r, 'n1', d.send, d.remove);
    expect(deltaDiff(r, [res('a', '1')], named('a', 'missing'))).toEqual({ send: [], remove: [] });
    // Once it exists it is sent, and reported again if it goes away.
    r = onDeltaSent(r, 'n2', [res('missing', '1')], []);
    expect(deltaDiff(r, [res('a', '1')], named('a', 'missing')).remove).toEqual(['missing']);
  });

  it('after sending, the client holds it (in flight); an ACK confirms everything up to its nonce', () => {
    let r = onDeltaSent(initialResources(), 'n1', [res('a', '1')], []);
    r = onDeltaSent(r, 'n2', [res('b', '1')], []);
    expect(r.client).toEqual(new Map([['a', '1'], ['b', '1']]));
    expect(r.acked.size).toBe(0);
    r = onDeltaAck(r, 'n2');
    expect(r.acked).toEqual(new Map([['a', '1'], ['b', '1']]));
    expect(r.inflight).toEqual([]);
    expect(onDeltaAck(r, 'unknown')).toBe(r);
  });

  it('a NACK puts back what the client had and remembers the refused versions, which are not sent again', () => {
    let r: DeltaResources = initialResources({ a: '1' });
    r = onDeltaSent(r, 'n1', [res('a', '2'), res('b', '1')], []);
    const when = new Date('2026-11-26T20:00:00Z');
    r = onDeltaNack(r, 'n1', 'bad', when);
    expect(r.client).toEqual(new Map([['a', '1']]));
    expect(r.nacked.get('a')).toEqual({ version: '2', error: 'bad', at: when });
    expect(deltaDiff(r, [res('a', '2'), res('b', '1')], wildcard).send).toEqual([]);
    // A new version of a goes out again and clears the refusal.
    const d = deltaDiff(r, [res('a', '3'), res('b', '1')], wildcard);
    expect(names(d.send)).toEqual(['a']);
    r = onDeltaSent(r, 'n2', d.send, d.remove);
    expect(r.nacked.has('a')).toBe(false);
  });

  it('a NACK of a removal keeps the resource as held', () => {
    let r = initialResources({ a: '1' });
    r = onDeltaSent(r, 'n1', [], ['a']);
    expect(r.client.has('a')).toBe(false);
    r = onDeltaNack(r, 'n1', 'no');
    expect(r.client.get('a')).toBe('1');
  });

  it('forget drops every trace of a name (unsubscribed: the client dropped it)', () => {
    let r = onDeltaSent(initialResources({ a: '1' }), 'n1', [res('b', '1')], []);
    r = onDeltaNack(r, 'n1', 'x');
    r = forget(r, ['a', 'b']);
    expect([r.client.size, r.acked.size, r.nacked.size]).toEqual([0, 0, 0]);
    expect(forget(r, [])).toBe(r);
  });

  it('a client that never answers holds at most MAX_INFLIGHT responses; the newest can still be ACKed', () => {
    const r = initialResources();
    for (let k = 1; k <= MAX_INFLIGHT + 10; k++) onDeltaSent(r, `n${k}`, [res('a', String(k))], []);
    expect(r.inflight.length).toBe(MAX_INFLIGHT);
    expect(r.inflight[0]!.nonce).toBe('n11');
    expect(r.client.get('a')).toBe(String(MAX_INFLIGHT + 10));
    // An answer to a forgotten response is an unknown nonce: nothing changes.
    onDeltaAck(r, 'n1');
    expect([r.inflight.length, r.acked.size]).toEqual([MAX_INFLIGHT, 0]);
    onDeltaAck(r, `n${MAX_INFLIGHT + 10}`);
    expect(r.inflight).toEqual([]);
    expect(r.acked.get('a')).toBe(String(MAX_INFLIGHT + 10));
  });

  it("one stream's refusals and names told missing never show up on another's", () => {
    const streams = [initialResources(), initialResources(), initialResources()];
    const [a, b, c] = streams as [DeltaResources, DeltaResources, DeltaResources];
    onDeltaNack(onDeltaSent(a, 'n1', [res('x', '1')], []), 'n1', 'bad x');
    onDeltaSent(b, 'n1', [], ['gone']);
    expect(a.nacked.get('x')?.version).toBe('1');
    expect([...b.toldMissing]).toEqual(['gone']);
    expect([b.nacked.size, a.toldMissing.size, c.nacked.size, c.toldMissing.size]).toEqual([0, 0, 0, 0]);
    // A fresh stream after all that still starts with nothing refused or missing.
    const d = initialResources();
    expect([d.nacked.size, d.toldMissing.size]).toEqual([0, 0]);
    expect(deltaDiff(c, [res('x', '1')], wildcard).send.map((r) => r.name)).toEqual(['x']);
  });
});

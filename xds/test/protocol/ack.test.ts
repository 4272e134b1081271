import { describe, expect, it } from 'vitest';
import { decidePush, onRequest, onSent, type RequestKind, type RequestView, type TypeState } from '../../src/protocol/ack.js';

const req = (r: Partial<RequestView> = {}): RequestView => ({ versionInfo: '', nonce: '', names: [], ...r });
const state = (s: Partial<TypeState> = {}): TypeState => ({
  status: 'REQUESTED',
  wildcard: false,
  names: new Set(['a']),
  forceSend: false,
  ...s,
});
const sent = (s: Partial<TypeState> = {}) => state({ sentVersion: 'v1', sentNonce: 'n1', ...s });
const nack = { code: 14, message: 'xDS response validation errors: [resource index 0: a: bad]' };

describe('onRequest (ACK/NACK rules)', () => {
  const rows: {
    name: string;
    prev: TypeState | undefined;
    req: RequestView;
    kind: RequestKind;
    expect: Partial<Omit<TypeState, 'names'>> & { names?: string[] };
  }[] = [
    { name: 'first request with names', prev: undefined, req: req({ names: ['a', 'b'] }), kind: 'INITIAL', expect: { status: 'REQUESTED', wildcard: false, names: ['a', 'b'] } },
    { name: 'first request with no names is a wildcard', prev: undefined, req: req(), kind: 'INITIAL', expect: { wildcard: true, names: [] } },
    { name: 'first request with * is a wildcard', prev: undefined, req: req({ names: ['*', 'a'] }), kind: 'INITIAL', expect: { wildcard: true, names: ['a'] } },
    { name: 'reconnecting client states the version it holds', prev: undefined, req: req({ names: ['a'], versionInfo: 'v7' }), kind: 'INITIAL', expect: { clientVersion: 'v7', status: 'REQUESTED' } },
    { name: 'ACK of the latest response', prev: sent(), req: req({ names: ['a'], versionInfo: 'v1', nonce: 'n1' }), kind: 'ACK', expect: { status: 'ACKED', ackedVersion: 'v1', handledNonce: 'n1', forceSend: false } },
    { name: 'NACK records the refused version and the error', prev: sent({ ackedVersion: 'v0' }), req: req({ names: ['a'], versionInfo: 'v0', nonce: 'n1', errorDetail: nack }), kind: 'NACK', expect: { status: 'NACKED', nackedVersion: 'v1', ackedVersion: 'v0', lastError: nack.message, handledNonce: 'n1' } },
    { name: 'NACK from a client that never accepted anything', prev: sent(), req: req({ names: ['a'], nonce: 'n1', errorDetail: nack }), kind: 'NACK', expect: { status: 'NACKED', nackedVersion: 'v1', ackedVersion: undefined } },
    { name: 'error_detail with code 0 and no message is an ACK', prev: sent(), req: req({ names: ['a'], versionInfo: 'v1', nonce: 'n1', errorDetail: { code: 0, message: '' } }), kind: 'ACK', expect: { status: 'ACKED' } },
    { name: 'older nonce is stale and changes nothing', prev: sent({ sentNonce: 'n2' }), req: req({ names: ['a', 'z'], nonce: 'n1', errorDetail: nack }), kind: 'STALE', expect: { status: 'REQUESTED', names: ['a'], sentNonce: 'n2' } },
    { name: 'empty nonce after a response was sent is stale', prev: sent(), req: req({ names: ['a', 'b'] }), kind: 'STALE', expect: { names: ['a'] } },
    { name: 'subscription change before any response', prev: state(), req: req({ names: ['a', 'b'] }), kind: 'UPDATE', expect: { status: 'REQUESTED', names: ['a', 'b'], forceSend: true } },
    { name: 'names grow with an ACK: resend even if unchanged', prev: sent(), req: req({ names: ['a', 'b'], versionInfo: 'v1', nonce: 'n1' }), kind: 'ACK', expect: { status: 'ACKED', forceSend: true } },
    { name: 'names shrink: no forced resend', prev: sent({ names: new Set(['a', 'b']) }), req: req({ names: ['a'], versionInfo: 'v1', nonce: 'n1' }), kind: 'ACK', expect: { names: ['a'], forceSend: false } },
    { name: 're-subscription of a dropped name', prev: sent({ names: new Set(['a']), handledNonce: 'n1', status: 'ACKED' }), req: req({ names: ['a', 'b'], versionInfo: 'v1', nonce: 'n1' }), kind: 'UPDATE', expect: { names: ['a', 'b'], forceSend: true, status: 'ACKED' } },
    { name: 'repeat of an already recorded NACK only updates names', prev: sent({ status: 'NACKED', nackedVersion: 'v1', handledNonce: 'n1', lastError: 'x' }), req: req({ names: ['a', 'c'], nonce: 'n1', errorDetail: nack }), kind: 'UPDATE', expect: { status: 'NACKED', lastError: 'x', forceSend: true } },
    { name: 'later empty names on a named subscription: unsubscribe all', prev: sent(), req: req({ names: [], versionInfo: 'v1', nonce: 'n1' }), kind: 'ACK', expect: { wildcard: false, names: [] } },
    { name: 'later empty names on a wildcard subscription: still wildcard', prev: sent({ wildcard: true, names: new Set() }), req: req({ versionInfo: 'v1', nonce: 'n1' }), kind: 'ACK', expect: { wildcard: true, forceSend: false } },
    { name: 'switching to wildcard forces a response', prev: sent(), req: req({ names: ['*'], versionInfo: 'v1', nonce: 'n1' }), kind: 'ACK', expect: { wildcard: true, forceSend: true } },
  ];

  it.each(rows)('$name', ({ prev, req: r, kind, expect: want }) => {
    const got = onRequest(prev, r);
    expect(got.kind).toBe(kind);
    const { names, ...rest } = want;
    if (names) expect([...got.state.names].sort()).toEqual(names);
    for (const [k, v] of Object.entries(rest)) expect(got.state[k as keyof TypeState], k).toEqual(v);
  });
});

describe('decidePush', () => {
  const rows: { name: string; state: TypeState; version: string; push: boolean; after?: Partial<TypeState> }[] = [
    { name: 'never sent: send', state: state(), version: 'v1', push: true },
    { name: 'same version as sent: nothing', state: sent(), version: 'v1', push: false },
    { name: 'new version: send', state: sent(), version: 'v2', push: true },
    { name: 'NACKed version is not sent again', state: sent({ status: 'NACKED', nackedVersion: 'v1' }), version: 'v1', push: false },
    { name: 'after a NACK, new content is sent', state: sent({ status: 'NACKED', nackedVersion: 'v1' }), version: 'v2', push: true },
    { name: 'names grew: send the same version again', state: sent({ forceSend: true }), version: 'v1', push: true },
    { name: 'reconnect holding the current version: nothing, counted as ACKed', state: state({ clientVersion: 'v1' }), version: 'v1', push: false, after: { status: 'ACKED', sentVersion: 'v1', ackedVersion: 'v1', clientVersion: undefined } },
    { name: 'reconnect holding an old version: send', state: state({ clientVersion: 'v0' }), version: 'v1', push: true },
    { name: 'unsubscribed from everything: nothing', state: sent({ names: new Set(), forceSend: true }), version: 'v2', push: false, after: { forceSend: false } },
    { name: 'wildcard with no names: send', state: state({ wildcard: true, names: new Set() }), version: 'v1', push: true },
  ];

  it.each(rows)('$name', ({ state: s, version, push, after }) => {
    const got = decidePush(s, version);
    expect(got.push).toBe(push);
    for (const [k, v] of Object.entries(after ?? {})) expect(got.state[k as keyof TypeState], k).toEqual(v);
  });

  it('onSent records version and nonce and clears the forced resend', () => {
    const s = onSent(state({ forceSend: true, clientVersion: 'v0' }), 'v2', 'n9');
    expect(s).toMatchObject({ sentVersion: 'v2', sentNonce: 'n9', forceSend: false });
    expect(s.clientVersion).toBeUndefined();
  });
});

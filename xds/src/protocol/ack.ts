/**
 * The SotW ACK/NACK rules for one type on one stream, as pure functions (table-tested in
 * test/protocol/ack.test.ts). Versions are opaque content hashes, compared for equality.
 */

/** CSDS vocabulary. */
export type SyncStatus = 'REQUESTED' | 'ACKED' | 'NACKED';

/**
 * INITIAL: first request of the type on this stream. ACK / NACK: answers our latest
 * response. UPDATE: changes the subscription only (nothing sent yet, or that response was
 * already answered). STALE: carries an older nonce; ignored, the next request brings the
 * current subscription.
 */
export type RequestKind = 'INITIAL' | 'ACK' | 'NACK' | 'UPDATE' | 'STALE';

export interface RequestView {
  readonly versionInfo: string;
  readonly nonce: string;
  readonly names: readonly string[];
  readonly errorDetail?: { readonly code: number; readonly message: string };
}

export interface TypeState {
  readonly status: SyncStatus;
  /** Subscribed to everything of the type (empty names in the first request, or `*`). */
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
  /** version_info and nonce of our latest response. */
  readonly sentVersion?: string;
  readonly sentNonce?: string;
  readonly ackedVersion?: string;
  readonly nackedVersion?: string;
  readonly lastError?: string;
  /** The version a reconnecting client says it holds (first request of a new stream). */
  readonly clientVersion?: string;
  /** Nonce already answered by an ACK/NACK: later requests with it only change names. */
  readonly handledNonce?: string;
  /** Respond even when nothing changed: the client subscribed to more names. */
  readonly forceSend: boolean;
}

export function isNack(req: RequestView): boolean {
  return !!req.errorDetail && (req.errorDetail.code !== 0 || req.errorDetail.message !== '');
}

export function onRequest(prev: TypeState | undefined, req: RequestView): { kind: RequestKind; state: TypeState } {
  const star = req.names.includes('*');
  const names = new Set(req.names.filter((n) => n !== '*'));
  if (!prev) {
    const state: TypeState = {
      status: 'REQUESTED',
      wildcard: star || req.names.length === 0,
      names,
      forceSend: false,
      ...(req.versionInfo ? { clientVersion: req.versionInfo } : {}),
    };
    return { kind: 'INITIAL', state };
  }
  if (req.nonce !== (prev.sentNonce ?? '')) return { kind: 'STALE', state: prev };
  // Later empty names: a wildcard stays wildcard (Envoy ACKs that way); a named subscription ends.
  const wildcard = star || (prev.wildcard && req.names.length === 0);
  const grew = (wildcard && !prev.wildcard) || [...names].some((n) => !prev.names.has(n));
  const base: TypeState = { ...prev, wildcard, names, forceSend: prev.forceSend || grew };
  if (prev.sentNonce === undefined || prev.handledNonce === req.nonce) return { kind: 'UPDATE', state: base };
  if (isNack(req)) {
    return {
      kind: 'NACK',
      state: {
        ...base,
        status: 'NACKED',
        handledNonce: req.nonce,
        ...(prev.sentVersion !== undefined ? { nackedVersion: prev.sentVersion } : {}),
        ...(req.versionInfo ? { ackedVersion: req.versionInfo } : {}),
        lastError: req.errorDetail?.message ?? '',
      },
    };
  }
  return { kind: 'ACK', state: { ...base, status: 'ACKED', handledNonce: req.nonce, ackedVersion: req.versionInfo } };
}

/**
 * Whether to send `version` (the response we would send now). Never after an
 * unsubscribe-all; always after the names grew (the client dropped what it unsubscribed);
 * otherwise only when it differs from what we last sent — a NACKed version is not sent
 * again — or, on a new stream, from what the client says it already holds.
 */
export function decidePush(state: TypeState, version: string): { push: boolean; state: TypeState } {
  if (!state.wildcard && state.names.size === 0) return { push: false, state: { ...state, forceSend: false } };
  if (state.forceSend) return { push: true, state };
  if (state.sentVersion !== undefined) return { push: version !== state.sentVersion, state };
  if (state.clientVersion === version) {
    const { clientVersion: _c, ...rest } = state;
    return { push: false, state: { ...rest, status: 'ACKED', sentVersion: version, ackedVersion: version } };
  }
  return { push: true, state };
}

export function onSent(state: TypeState, version: string, nonce: string): TypeState {
  const { clientVersion: _c, ...rest } = state;
  return { ...rest, sentVersion: version, sentNonce: nonce, forceSend: false };
}

/**
 * The ACK/NACK rules for one type on one stream, as pure functions shared by the SotW and
 * delta protocol servers (table-tested in test/protocol/ack.test.ts). Versions are opaque
 * content hashes, compared for equality.
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

/** Whether `names` (a request's list, without `*`) is exactly `set`. */
function sameAs(set: ReadonlySet<string>, names: readonly string[]): boolean {
  if (names.length !== set.size) return false;
  for (const n of names) if (!set.has(n)) return false;
  return true;
}

export function isNack(req: RequestView): boolean {
  return !!req.errorDetail && (req.errorDetail.code !== 0 || req.errorDetail.message !== '');
}

/**
 * The ACK/NACK part of a request (its nonce and error_detail), shared by SotW and delta:
 * `prev` is the state before the request, `change` the request's subscription (applied
 * over `prev` in the state returned). STALE: the nonce is not the one of our latest response
 * (the answer is ignored). UPDATE: nothing sent yet, or that response was already
 * answered. ACK / NACK: answers our latest response.
 */
export interface AnswerView {
  readonly nonce: string;
  readonly errorDetail?: { readonly code: number; readonly message: string };
  /** The version an ACK accepts: SotW's version_info; delta: the version we sent with that nonce. */
  readonly ackVersion: string;
  /** The version a NACKing client still holds: SotW's version_info (empty: none); delta: undefined (unchanged). */
  readonly heldVersion: string | undefined;
}

export function onAnswer(
  prev: TypeState,
  change: SubscriptionChange,
  a: AnswerView,
): { kind: Exclude<RequestKind, 'INITIAL'>; state: TypeState } {
  if (a.nonce !== (prev.sentNonce ?? '')) return { kind: 'STALE', state: { ...prev, ...change } };
  if (prev.sentNonce === undefined || prev.handledNonce === a.nonce) return { kind: 'UPDATE', state: { ...prev, ...change } };
  if (a.errorDetail && (a.errorDetail.code !== 0 || a.errorDetail.message !== '')) {
    return {
      kind: 'NACK',
      state: {
        ...prev,
        ...change,
        status: 'NACKED',
        handledNonce: a.nonce,
        ...(prev.sentVersion !== undefined ? { nackedVersion: prev.sentVersion } : {}),
        ...(a.heldVersion ? { ackedVersion: a.heldVersion } : {}),
        lastError: a.errorDetail.message,
      },
    };
  }
  // (One object per ACK: thousands of streams answer every push.)
  return { kind: 'ACK', state: { ...prev, ...change, status: 'ACKED', handledNonce: a.nonce, ackedVersion: a.ackVersion } };
}

/** What a request changes of the subscription, applied over the previous state by onAnswer. */
export interface SubscriptionChange {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
  readonly forceSend?: boolean;
}

export function onRequest(prev: TypeState | undefined, req: RequestView): { kind: RequestKind; state: TypeState } {
  const star = req.names.includes('*');
  if (!prev) {
    const names = new Set(req.names.filter((n) => n !== '*'));
    const state: TypeState = {
      status: 'REQUESTED',
      wildcard: star || req.names.length === 0,
      names,
      forceSend: false,
      ...(req.versionInfo ? { clientVersion: req.versionInfo } : {}),
    };
    return { kind: 'INITIAL', state };
  }
  // SotW: a request with an older nonce is ignored whole; the next one brings the current subscription.
  if (req.nonce !== (prev.sentNonce ?? '')) return { kind: 'STALE', state: prev };
  // Later empty names: a wildcard stays wildcard (Envoy ACKs that way); a named subscription ends.
  const wildcard = star || (prev.wildcard && req.names.length === 0);
  // An ACK names what it names before: the set is shared, not rebuilt (TypeState is never mutated).
  const names = sameAs(prev.names, req.names) ? prev.names : new Set(req.names.filter((n) => n !== '*'));
  const grew = (wildcard && !prev.wildcard) || (names !== prev.names && [...names].some((n) => !prev.names.has(n)));
  return onAnswer(prev, { wildcard, names, forceSend: prev.forceSend || grew }, {
    nonce: req.nonce,
    ...(req.errorDetail ? { errorDetail: req.errorDetail } : {}),
    ackVersion: req.versionInfo,
    heldVersion: req.versionInfo,
  });
}

/** A delta (incremental) request as the shared rules see it. */
export interface DeltaRequestView {
  readonly subscribe: readonly string[];
  readonly unsubscribe: readonly string[];
  readonly nonce: string;
  readonly errorDetail?: { readonly code: number; readonly message: string };
}

/**
 * Delta xDS: the subscription is changed by every request, whatever its nonce
 * (subscribe/unsubscribe are increments, never stale); the nonce and error_detail are an
 * ACK/NACK judged by the same rules as SotW (onAnswer). Wildcard: the first request of
 * a type subscribing to nothing (legacy) or anything subscribing to `*`; unsubscribing
 * `*` ends it. An ACK accepts the version we sent with that nonce; a NACK leaves the
 * accepted version as it was.
 */
export function onDeltaRequest(prev: TypeState | undefined, req: DeltaRequestView): { kind: RequestKind; state: TypeState } {
  const subscribe = req.subscribe.length === 0 ? req.subscribe : req.subscribe.filter((n) => n !== '*');
  if (!prev) {
    const wildcard = (req.subscribe.includes('*') || req.subscribe.length === 0) && !req.unsubscribe.includes('*');
    const names = new Set(subscribe.filter((n) => !req.unsubscribe.includes(n)));
    return { kind: 'INITIAL', state: { status: 'REQUESTED', wildcard, names, forceSend: false } };
  }
  // An ACK changes no names: the set is shared, not copied (TypeState is never mutated).
  const names = subscribe.length === 0 && req.unsubscribe.length === 0 ? prev.names : new Set(prev.names);
  if (names !== prev.names) {
    const grown = names as Set<string>;
    for (const n of subscribe) grown.add(n);
    for (const n of req.unsubscribe) grown.delete(n);
  }
  const wildcard = (prev.wildcard || req.subscribe.includes('*')) && !req.unsubscribe.includes('*');
  // A pure subscription change carries no nonce.
  if (req.nonce === '') return { kind: 'UPDATE', state: { ...prev, wildcard, names } };
  return onAnswer(prev, { wildcard, names }, {
    nonce: req.nonce,
    ...(req.errorDetail ? { errorDetail: req.errorDetail } : {}),
    ackVersion: prev.sentVersion ?? '',
    heldVersion: undefined,
  });
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
  if (state.clientVersion === undefined) return { ...state, sentVersion: version, sentNonce: nonce, forceSend: false };
  const { clientVersion: _c, ...rest } = state;
  return { ...rest, sentVersion: version, sentNonce: nonce, forceSend: false };
}

import type { EncodedResource } from '../resources/encoded.js';

/**
 * Delta (incremental) xDS: what one stream knows about one type's resources on the
 * client, as pure functions (table-tested in test/protocol/delta.test.ts). Versions are
 * the resources' own content hashes, so "the client has it" is an equality check.
 * The subscription itself (wildcard, names) and the ACK/NACK status live in TypeState
 * (ack.ts), shared with SotW.
 */
export interface DeltaResources {
  /**
   * name → version the client holds as far as we know: what it said on reconnect
   * (initial_resource_versions), then what we sent (in flight included) minus what we removed.
   */
  readonly client: ReadonlyMap<string, string>;
  /** name → version the client confirmed (ACKed, or stated on reconnect). */
  readonly acked: ReadonlyMap<string, string>;
  /** name → the version the client refused, not sent again until it changes. */
  readonly nacked: ReadonlyMap<string, { readonly version: string; readonly error: string }>;
  /** Responses not answered yet, in the order sent. */
  readonly inflight: readonly Inflight[];
  /** Subscribed names we told the client (removed_resources) do not exist. */
  readonly toldMissing: ReadonlySet<string>;
}

export interface Inflight {
  readonly nonce: string;
  readonly sent: ReadonlyMap<string, string>;
  readonly removed: readonly string[];
  /** What `client` said of each sent or removed name before this response. */
  readonly previous: ReadonlyMap<string, string | undefined>;
}

/** The subscription a diff is for. */
export interface DeltaScope {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
}

/** A new stream: the client holds what it says (reconnect) or nothing. */
export function initialResources(initialVersions: Readonly<Record<string, string>> = {}): DeltaResources {
  const held = new Map(Object.entries(initialVersions).filter(([name, v]) => name !== '' && v !== ''));
  return { client: held, acked: new Map(held), nacked: new Map(), inflight: [], toldMissing: new Set() };
}

/** The client dropped these names (unsubscribed, or no longer covered by a wildcard): forget them. */
export function forget(res: DeltaResources, names: Iterable<string>): DeltaResources {
  const list = [...names];
  if (list.length === 0) return res;
  const client = new Map(res.client);
  const acked = new Map(res.acked);
  const nacked = new Map(res.nacked);
  const toldMissing = new Set(res.toldMissing);
  for (const n of list) {
    client.delete(n);
    acked.delete(n);
    nacked.delete(n);
    toldMissing.delete(n);
  }
  return { ...res, client, acked, nacked, toldMissing };
}

/**
 * What to send so the client matches `current` (the resources that exist for its
 * subscription): each resource whose version it does not hold (unless it refused exactly
 * that version), and in `remove` every name it holds that no longer exists, plus named
 * subscriptions to resources that do not exist, once (so it need not wait for a timer).
 */
export function deltaDiff(res: DeltaResources, current: readonly EncodedResource[], scope: DeltaScope): { send: EncodedResource[]; remove: string[] } {
  const send: EncodedResource[] = [];
  const existing = new Set<string>();
  for (const r of current) {
    existing.add(r.name);
    if (res.client.get(r.name) === r.version) continue;
    if (res.nacked.get(r.name)?.version === r.version) continue;
    send.push(r);
  }
  const remove = new Set<string>();
  for (const name of res.client.keys()) {
    if (existing.has(name)) continue;
    if (scope.wildcard || scope.names.has(name)) remove.add(name);
  }
  if (!scope.wildcard) {
    for (const name of scope.names) if (!existing.has(name) && !res.toldMissing.has(name)) remove.add(name);
  }
  return { send, remove: [...remove].sort() };
}

export function onDeltaSent(res: DeltaResources, nonce: string, send: readonly EncodedResource[], remove: readonly string[]): DeltaResources {
  const client = new Map(res.client);
  const nacked = new Map(res.nacked);
  const toldMissing = new Set(res.toldMissing);
  const previous = new Map<string, string | undefined>();
  const sent = new Map<string, string>();
  for (const r of send) {
    previous.set(r.name, client.get(r.name));
    sent.set(r.name, r.version);
    client.set(r.name, r.version);
    nacked.delete(r.name);
    toldMissing.delete(r.name);
  }
  for (const name of remove) {
    previous.set(name, client.get(name));
    toldMissing.add(name);
    client.delete(name);
    nacked.delete(name);
  }
  return { ...res, client, nacked, toldMissing, inflight: [...res.inflight, { nonce, sent, removed: [...remove], previous }] };
}

/** An ACK of `nonce`: it and every earlier response are applied. Unknown nonces change nothing. */
export function onDeltaAck(res: DeltaResources, nonce: string): DeltaResources {
  const at = res.inflight.findIndex((i) => i.nonce === nonce);
  if (at < 0) return res;
  const acked = new Map(res.acked);
  for (const i of res.inflight.slice(0, at + 1)) {
    for (const [name, version] of i.sent) acked.set(name, version);
    for (const name of i.removed) acked.delete(name);
  }
  return { ...res, acked, inflight: res.inflight.slice(at + 1) };
}

/**
 * A NACK of `nonce`: the client kept what it had before that response, as far as we can
 * tell; the refused versions are remembered (and not sent again) with the error.
 */
export function onDeltaNack(res: DeltaResources, nonce: string, error: string): DeltaResources {
  const at = res.inflight.findIndex((i) => i.nonce === nonce);
  if (at < 0) return res;
  const record = res.inflight[at]!;
  const client = new Map(res.client);
  const nacked = new Map(res.nacked);
  for (const [name, version] of record.sent) {
    nacked.set(name, { version, error });
    if (client.get(name) !== version) continue;
    const before = record.previous.get(name);
    if (before === undefined) client.delete(name);
    else client.set(name, before);
  }
  for (const name of record.removed) {
    const before = record.previous.get(name);
    if (before !== undefined && !client.has(name)) client.set(name, before);
  }
  // Earlier responses were answered before this one (answers come in order).
  const acked = new Map(res.acked);
  for (const i of res.inflight.slice(0, at)) {
    for (const [name, version] of i.sent) acked.set(name, version);
    for (const name of i.removed) acked.delete(name);
  }
  return { ...res, client, nacked, acked, inflight: res.inflight.slice(at + 1) };
}

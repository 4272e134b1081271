import type { EncodedResource } from '../resources/encoded.js';

/**
 * Delta (incremental) xDS: what one stream knows about one type's resources on the
 * client, and how each event changes it (table-tested in test/protocol/delta.test.ts).
 * Versions are the resources' own content hashes, so "the client has it" is an equality
 * check. The subscription itself (wildcard, names) and the ACK/NACK status live in
 * TypeState (ack.ts), shared with SotW. A DeltaResources belongs to one stream's type
 * entry and the functions below update it in place (and return it): with thousands of
 * streams, copying its maps on every send and ACK was most of a push's garbage.
 */
export interface DeltaResources {
  /**
   * name → version the client holds as far as we know: what it said on reconnect
   * (initial_resource_versions), then what we sent (in flight included) minus what we removed.
   */
  readonly client: Map<string, string>;
  /** name → version the client confirmed (ACKed, or stated on reconnect). */
  readonly acked: Map<string, string>;
  /** name → the version the client refused (with its error and when), not sent again until it changes. */
  nacked: ReadonlyMap<string, Refusal>;
  /** Responses not answered yet, in the order sent (at most MAX_INFLIGHT). */
  readonly inflight: Inflight[];
  /** Subscribed names we told the client (removed_resources) do not exist. */
  toldMissing: ReadonlySet<string>;
}

export interface Refusal {
  readonly version: string;
  readonly error: string;
  readonly at: Date;
}

/**
 * Shared by every DeltaResources until its first refusal or first name told missing
 * (then it gets its own): most streams never have either, and an empty Map and Set per
 * stream and type were ≈ 0.35 KB and two more objects for every major GC to mark.
 */
const NO_REFUSALS: ReadonlyMap<string, Refusal> = new Map();
const NONE_MISSING: ReadonlySet<string> = new Set();

function refuse(res: DeltaResources, name: string, refusal: Refusal): void {
  if (res.nacked === NO_REFUSALS) res.nacked = new Map();
  (res.nacked as Map<string, Refusal>).set(name, refusal);
}

/** Forgets a refusal of `name` (a new version of it goes out, or the client dropped it). */
export function unrefuse(res: DeltaResources, name: string): void {
  if (res.nacked !== NO_REFUSALS) (res.nacked as Map<string, Refusal>).delete(name);
}

function markMissing(res: DeltaResources, name: string): void {
  if (res.toldMissing === NONE_MISSING) res.toldMissing = new Set();
  (res.toldMissing as Set<string>).add(name);
}

function unmarkMissing(res: DeltaResources, name: string): void {
  if (res.toldMissing !== NONE_MISSING) (res.toldMissing as Set<string>).delete(name);
}

/**
 * One response awaiting its answer. Arrays, not maps: a push sends one or two resources to
 * each of thousands of streams, and two maps per response were most of its garbage.
 */
export interface Inflight {
  readonly nonce: string;
  /** The resources sent (their names and versions; the cache's own objects, held until answered). */
  readonly sent: readonly Pick<EncodedResource, 'name' | 'version'>[];
  readonly removed: readonly string[];
  /** What `client` said of each sent name, then of each removed name, before this response (in that order). */
  readonly previous: readonly (string | undefined)[];
}

/**
 * Unanswered responses kept per stream and type. Real clients answer every response in
 * order, so a few are in flight at most; one that never answers must not grow the list
 * (and hold the resources it names) without bound. Past the cap the oldest is forgotten:
 * a late answer to it is an unknown nonce, ignored; what the client holds is unaffected.
 */
export const MAX_INFLIGHT = 64;

/** The names a response sent. */
export function sentNames(i: Inflight): string[] {
  return i.sent.map((r) => r.name);
}

/** The subscription a diff is for. */
export interface DeltaScope {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
}

/** A new stream: the client holds what it says (reconnect) or nothing. */
export function initialResources(initialVersions: Readonly<Record<string, string>> = {}): DeltaResources {
  const held = new Map(Object.entries(initialVersions).filter(([name, v]) => name !== '' && v !== ''));
  return { client: held, acked: new Map(held), nacked: NO_REFUSALS, inflight: [], toldMissing: NONE_MISSING };
}

/** The client dropped these names (unsubscribed, or no longer covered by a wildcard): forget them. */
export function forget(res: DeltaResources, names: Iterable<string>): DeltaResources {
  for (const n of names) {
    res.client.delete(n);
    res.acked.delete(n);
    unrefuse(res, n);
    unmarkMissing(res, n);
  }
  return res;
}

/**
 * What to send so the client matches `current` (the resources that exist for its
 * subscription): each resource whose version it does not hold (unless it refused exactly
 * that version), and in `remove` every name it holds that no longer exists, plus named
 * subscriptions to resources that do not exist, once (so it need not wait for a timer).
 */
export function deltaDiff(res: DeltaResources, current: readonly EncodedResource[], scope: DeltaScope): { send: EncodedResource[]; remove: string[] } {
  const send: EncodedResource[] = [];
  for (const r of current) {
    if (res.client.get(r.name) === r.version) continue;
    if (res.nacked.get(r.name)?.version === r.version) continue;
    send.push(r);
  }
  // A push diffs one or two resources: a name set is built only for large lists.
  const existing = current.length > 8 ? new Set(current.map((r) => r.name)) : undefined;
  const exists = (name: string) => (existing ? existing.has(name) : current.some((r) => r.name === name));
  const remove: string[] = [];
  for (const name of res.client.keys()) {
    if (exists(name)) continue;
    if (scope.wildcard || scope.names.has(name)) remove.push(name);
  }
  if (!scope.wildcard) {
    for (const name of scope.names) if (!exists(name) && !res.toldMissing.has(name) && !res.client.has(name)) remove.push(name);
  }
  return { send, remove: remove.length > 1 ? remove.sort() : remove };
}

export function onDeltaSent(res: DeltaResources, nonce: string, send: readonly EncodedResource[], remove: readonly string[]): DeltaResources {
  const previous: (string | undefined)[] = [];
  for (const r of send) {
    previous.push(res.client.get(r.name));
    res.client.set(r.name, r.version);
    unrefuse(res, r.name);
    unmarkMissing(res, r.name);
  }
  for (const name of remove) {
    previous.push(res.client.get(name));
    markMissing(res, name);
    res.client.delete(name);
    unrefuse(res, name);
  }
  // (`send` is this response's own array: kept as it is, not copied.)
  res.inflight.push({ nonce, sent: send, removed: remove, previous });
  if (res.inflight.length > MAX_INFLIGHT) res.inflight.shift();
  return res;
}

/** Responses up to index `through` were applied by the client: what they sent is confirmed. */
function confirm(res: DeltaResources, through: number): void {
  for (let k = 0; k <= through; k++) {
    const i = res.inflight[k]!;
    for (const r of i.sent) res.acked.set(r.name, r.version);
    for (const name of i.removed) res.acked.delete(name);
  }
}

/** An ACK of `nonce`: it and every earlier response are applied. Unknown nonces change nothing. */
export function onDeltaAck(res: DeltaResources, nonce: string): DeltaResources {
  const at = res.inflight.findIndex((i) => i.nonce === nonce);
  if (at < 0) return res;
  confirm(res, at);
  res.inflight.splice(0, at + 1);
  return res;
}

/**
 * A NACK of `nonce`: the client kept what it had before that response, as far as we can
 * tell; the refused versions are remembered (and not sent again) with the error.
 */
export function onDeltaNack(res: DeltaResources, nonce: string, error: string, when: Date = new Date()): DeltaResources {
  const at = res.inflight.findIndex((i) => i.nonce === nonce);
  if (at < 0) return res;
  const record = res.inflight[at]!;
  const { sent, removed, previous } = record;
  for (let k = 0; k < sent.length; k++) {
    const { name, version } = sent[k]!;
    refuse(res, name, { version, error, at: when });
    if (res.client.get(name) !== version) continue;
    const before = previous[k];
    if (before === undefined) res.client.delete(name);
    else res.client.set(name, before);
  }
  for (let k = 0; k < removed.length; k++) {
    const name = removed[k]!;
    const before = previous[sent.length + k];
    if (before !== undefined && !res.client.has(name)) res.client.set(name, before);
  }
  // Earlier responses were answered before this one (answers come in order).
  confirm(res, at - 1);
  res.inflight.splice(0, at + 1);
  return res;
}

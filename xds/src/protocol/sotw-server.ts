import type * as grpc from '@grpc/grpc-js';
import type { XdsProxy } from '../proxy.js';
import type { EncodedResource } from '../resources/encoded.js';
import { RESOURCE_TYPES } from '../resources/index.js';
import { decidePush, onRequest, onSent, type RequestView, type TypeState } from './ack.js';
import type { DiscoveryRequestObject } from './ads-service.js';
import { encodeDiscoveryResponse, responseVersion, versionWith } from './response.js';
import { StreamServer } from './stream-server.js';
import {
  namesInError,
  orderTypes,
  XdsStream,
  type ResourceRecord,
  type StreamBookkeeping,
} from './stream.js';

export type { ProxyStatus, TypeStatus } from './stream.js';

export type AdsCall = grpc.ServerDuplexStream<DiscoveryRequestObject, Buffer>;

interface TypeEntry {
  state: TypeState;
  /** Source epoch when this type was last generated for the stream (0: never). */
  evaluatedEpoch: number;
  /** name → version of our latest response (replaced on every response, never changed: shared). */
  sent: ReadonlyMap<string, string>;
  /** name → version of the response the client last ACKed. */
  acked: ReadonlyMap<string, string>;
  /** name → refused version and error (the resources the NACK names, else the whole response); replaced, never changed. */
  nacked: ReadonlyMap<string, { version: string; error: string; at: Date }>;
}

/** What a type entry starts with (and `nacked` goes back to on an ACK): one shared empty map, not three per stream and type. */
const NOTHING: ReadonlyMap<string, never> = new Map<string, never>();

class SotwStream extends XdsStream {
  readonly types = new Map<string, TypeEntry>();
  constructor(
    streamId: string,
    readonly call: AdsCall,
    peer: string,
    fixedType: string | undefined,
  ) {
    super(streamId, peer, 'sotw', fixedType);
  }
}

function view(req: DiscoveryRequestObject): RequestView {
  const detail = req.error_detail;
  return {
    versionInfo: req.version_info ?? '',
    nonce: req.response_nonce ?? '',
    // proto-loader/protobufjs may leave an empty repeated field undefined (an unsubscribe).
    names: req.resource_names ?? [],
    ...(detail ? { errorDetail: { code: detail.code ?? 0, message: detail.message ?? '' } } : {}),
  };
}

/**
 * State-of-the-world protocol server (ADS and the single-type Stream* services): per
 * stream it remembers the node (sent only in the first request), per type the
 * subscription and what was sent, ACKed and NACKed, and asks the ResourceSource what to
 * send. It knows nothing of the mesh.
 */
export class SotwServer extends StreamServer<DiscoveryRequestObject, TypeEntry, SotwStream> {
  protected readonly logLabel = '';

  protected newStream(streamId: string, call: AdsCall, fixedType: string | undefined): SotwStream {
    return new SotwStream(streamId, call, call.getPeer(), fixedType);
  }

  /** A type also answers when the protocol owes the client a resend (re-subscription). */
  protected override shouldPush(proxy: XdsProxy, typeUrl: string, entry: TypeEntry): boolean {
    return entry.state.forceSend || super.shouldPush(proxy, typeUrl, entry);
  }

  /** A partial push checks the subscribed names itself (namesChangedSince): not twice. */
  protected override pushVisits(proxy: XdsProxy, typeUrl: string, entry: TypeEntry): boolean {
    return this.partialApplies(proxy, typeUrl, entry.state) || super.pushVisits(proxy, typeUrl, entry);
  }

  /** Per stream, type and resource: what was sent, ACKed and NACKed (CSDS). */
  bookkeeping(): StreamBookkeeping[] {
    return [...this.streams.values()]
      .filter((s) => s.proxy)
      .map((s) => ({
        streamId: s.streamId,
        protocol: 'sotw' as const,
        proxy: s.proxy!,
        connectedAt: s.connectedAt,
        types: orderTypes(s.types.keys()).map((typeUrl) => {
          const e = s.types.get(typeUrl)!;
          const names = new Set([...e.state.names, ...e.sent.keys(), ...e.acked.keys(), ...e.nacked.keys()]);
          const resources: ResourceRecord[] = [...names].sort().map((name) => {
            const sentVersion = e.sent.get(name);
            const ackedVersion = e.acked.get(name);
            const nacked = e.nacked.get(name);
            return { name, ...(sentVersion !== undefined ? { sentVersion } : {}), ...(ackedVersion !== undefined ? { ackedVersion } : {}), ...(nacked ? { nacked } : {}) };
          });
          return { typeUrl, state: e.state, resources };
        }),
      }));
  }

  protected onRequest(stream: SotwStream, req: DiscoveryRequestObject): void {
    if (stream.closed) return;
    const begun = this.begin(stream, req.node, req.type_url);
    if (!begun) return;
    const { proxy, typeUrl } = begun;
    const prev = stream.types.get(typeUrl);
    const request = view(req);
    const { kind, state } = onRequest(prev?.state, request);
    const sameSubscription = prev !== undefined && sameSubscriptionAs(prev.state, state);
    this.callbacks.emit('onRequest', stream, typeUrl, kind);
    if (kind === 'STALE') {
      this.logger.debug({ proxy: proxy.id, type: typeUrl, nonce: request.nonce }, 'stale xDS request ignored');
      return;
    }
    const entry: TypeEntry = prev ?? { state, evaluatedEpoch: 0, sent: NOTHING, acked: NOTHING, nacked: NOTHING };
    entry.state = state;
    stream.types.set(typeUrl, entry);
    // (An ACK names what it named before, the same set: the index need not hear of it.)
    if (!prev || !sameSubscription || prev.evaluatedEpoch === 0) this.track(stream, typeUrl, entry);
    if (kind === 'ACK') {
      // `sent` is replaced on every response, never changed: share it.
      entry.acked = entry.sent;
      entry.nacked = NOTHING;
    }
    if (kind === 'NACK') {
      const errorDetail = request.errorDetail ?? { code: 0, message: '' };
      const at = new Date();
      // (Refusals add up until an ACK; the map is replaced, never changed.)
      const nacked = new Map(entry.nacked);
      for (const name of namesInError(errorDetail.message, entry.sent.keys())) {
        nacked.set(name, { version: entry.sent.get(name)!, error: errorDetail.message, at });
      }
      entry.nacked = nacked;
      this.logger.warn(
        { proxy: proxy.id, type: typeUrl, nonce: request.nonce, version: state.nackedVersion, errorDetail },
        'xDS NACK: the proxy rejected a response',
      );
      this.callbacks.emit('onNack', {
        stream,
        proxyId: proxy.id,
        typeUrl,
        nonce: request.nonce,
        ...(state.nackedVersion !== undefined ? { rejectedVersion: state.nackedVersion } : {}),
        ...(request.versionInfo ? { acceptedVersion: request.versionInfo } : {}),
        errorDetail,
      });
    }
    if (!this.source.ready()) return;
    // An answer to our latest response, with nothing new for it since: the response we would
    // build is the one just answered (decidePush would send nothing). Skip generating it.
    if ((kind === 'ACK' || kind === 'NACK') && sameSubscription && !this.shouldPush(proxy, typeUrl, entry)) return;
    this.respond(stream, typeUrl, entry, 'request');
  }

  /** Generates, decides and sends one type to one stream; true when something was sent. */
  protected respond(stream: SotwStream, typeUrl: string, entry: TypeEntry, trigger: 'request' | 'push'): boolean {
    const proxy = stream.proxy!;
    if (trigger === 'push') {
      const partial = this.partialPush(stream, typeUrl, entry);
      if (partial !== undefined) return partial;
    }
    const list = this.generate(stream, typeUrl, entry, entry.state.wildcard ? undefined : entry.state.names);
    const version = responseVersion(list);
    const decision = decidePush(entry.state, version);
    if (!decision.push && decision.state.status === 'ACKED' && entry.state.status !== 'ACKED') {
      // A reconnecting client already holds this version: it counts as sent and ACKed.
      entry.sent = new Map(list.map((r) => [r.name, r.version]));
      entry.acked = new Map(entry.sent);
    }
    entry.state = decision.state;
    if (!decision.push) return false;
    const carried = trigger === 'push' ? changedOnly(typeUrl, entry, list, proxy.generator === 'grpc') : list;
    return this.send(stream, typeUrl, entry, version, new Map(list.map((r) => [r.name, r.version])), carried, trigger);
  }

  /**
   * A push of a type whose responses may carry only what changed (changedOnly), to a client
   * in a plain ACKed state: only the subscribed names the change reached are generated; the
   * others keep the versions last sent (they cannot differ), and version_info is the sent
   * one updated for what changed (versionWith). Undefined when this does not apply (the
   * full path decides): a wildcard, a NACK or resend owed, names not told apart, or a
   * reached resource that went away.
   */
  private partialPush(stream: SotwStream, typeUrl: string, entry: TypeEntry): boolean | undefined {
    const proxy = stream.proxy!;
    const { state } = entry;
    if (!this.partialApplies(proxy, typeUrl, state)) return undefined;
    const reached = this.source.namesChangedSince(proxy, typeUrl, entry.evaluatedEpoch, state.names);
    if (!reached || reached.size === state.names.size) return undefined;
    const changed = reached.size === 0 ? [] : (this.source.resources(proxy, typeUrl, reached) ?? []);
    if (changed.length < reached.size) {
      const present = new Set(changed.map((r) => r.name));
      for (const name of reached) if (entry.sent.has(name) && !present.has(name)) return undefined;
    }
    entry.evaluatedEpoch = this.source.epoch;
    let version = state.sentVersion;
    let sent: Map<string, string> | undefined;
    const carried: EncodedResource[] = [];
    for (const r of changed) {
      const before = entry.sent.get(r.name);
      if (before === r.version) continue;
      version = versionWith(version, r.name, before, r.version);
      (sent ??= copy(entry.sent)).set(r.name, r.version);
      carried.push(r);
    }
    if (!sent) return false;
    const decision = decidePush(state, version);
    entry.state = decision.state;
    if (!decision.push) return false;
    return this.send(stream, typeUrl, entry, version, sent, carried, 'push');
  }

  /** Whether a push of this type to this client may go the partial way (see partialPush). */
  private partialApplies(proxy: XdsProxy, typeUrl: string, state: TypeState): state is TypeState & { sentVersion: string } {
    return carriesChangedOnly(typeUrl, proxy.generator === 'grpc') && !state.wildcard && state.status === 'ACKED' && !state.forceSend && state.sentVersion !== undefined;
  }

  private send(
    stream: SotwStream,
    typeUrl: string,
    entry: TypeEntry,
    version: string,
    sent: ReadonlyMap<string, string>,
    carried: readonly EncodedResource[],
    trigger: 'request' | 'push',
  ): boolean {
    const nonce = stream.nextNonce();
    const body = encodeDiscoveryResponse({
      versionInfo: version,
      typeUrl,
      nonce,
      resources: carried,
      ...(this.controlPlaneId ? { controlPlaneId: this.controlPlaneId } : {}),
    });
    if (!this.write(stream, body)) return false;
    entry.state = onSent(entry.state, version, nonce);
    entry.sent = sent;
    this.reportSent({ stream, typeUrl, version, nonce, resources: carried.length, bytes: body.length, trigger }, { of: sent.size });
    return true;
  }
}

/** A copy of a small map (forEach: no entry arrays, as `new Map(map)` makes). */
function copy<K, V>(map: ReadonlyMap<K, V>): Map<K, V> {
  const out = new Map<K, V>();
  map.forEach((v, k) => out.set(k, v));
  return out;
}

function sameSubscriptionAs(a: TypeState, b: TypeState): boolean {
  if (a.wildcard !== b.wildcard || a.names.size !== b.names.size) return false;
  if (a.names === b.names) return true;
  for (const n of a.names) if (!b.names.has(n)) return false;
  return true;
}

/** Whether this type's SotW pushes to this kind of client may leave out what did not change (ResourceType.sotwPushChangedOnly). */
function carriesChangedOnly(typeUrl: string, grpcClient: boolean): boolean {
  const rule = RESOURCE_TYPES.get(typeUrl)?.sotwPushChangedOnly;
  return rule === true || (rule === 'grpc' && grpcClient);
}

/**
 * What a push carries: for a type whose clients keep what a response leaves out (EDS,
 * ResourceType.sotwPushChangedOnly), only the resources whose version the client was not
 * sent — version_info still names the whole set, so an ACK or a reconnect means "holds all
 * of it". The whole set instead after a NACK (as before: the client may lack more than we
 * think), when the protocol owes a resend (re-subscription) or when a resource went away.
 */
export function changedOnly(typeUrl: string, entry: Pick<TypeEntry, 'state' | 'sent'>, list: readonly EncodedResource[], grpcClient = false): readonly EncodedResource[] {
  if (!carriesChangedOnly(typeUrl, grpcClient)) return list;
  if (entry.state.status === 'NACKED' || entry.state.forceSend || entry.state.sentVersion === undefined) return list;
  // A resource sent before and missing now (it went away): the whole set.
  let present = 0;
  for (const r of list) if (entry.sent.has(r.name)) present++;
  if (present < entry.sent.size) return list;
  const changed = list.filter((r) => entry.sent.get(r.name) !== r.version);
  return changed.length > 0 ? changed : list;
}

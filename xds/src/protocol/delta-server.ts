import type * as grpc from '@grpc/grpc-js';
import { onDeltaRequest, onSent, type DeltaRequestView, type TypeState } from './ack.js';
import type { DeltaDiscoveryRequestObject } from './ads-service.js';
import { deltaDiff, forget, initialResources, onDeltaAck, onDeltaNack, onDeltaSent, sentNames, unrefuse, type DeltaResources } from './delta.js';
import type { XdsProxy } from '../proxy.js';
import { encodeDeltaDiscoveryResponse } from './response.js';
import { StreamServer, subscribedNames } from './stream-server.js';
import {
  namesInError,
  orderTypes,
  XdsStream,
  type ResourceRecord,
  type StreamBookkeeping,
} from './stream.js';

export type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequestObject, Buffer>;

interface DeltaEntry {
  state: TypeState;
  resources: DeltaResources;
  /** Source epoch when this type was last generated for the stream (0: never). */
  evaluatedEpoch: number;
  /** Answer even with nothing to send: the first request of a client that holds nothing. */
  mustRespond: boolean;
}

class DeltaStream extends XdsStream {
  readonly types = new Map<string, DeltaEntry>();
  constructor(
    streamId: string,
    readonly call: DeltaCall,
    peer: string,
    fixedType: string | undefined,
  ) {
    super(streamId, peer, 'delta', fixedType);
  }
}

function view(req: DeltaDiscoveryRequestObject): DeltaRequestView {
  const detail = req.error_detail;
  return {
    // protobufjs leaves empty repeated fields undefined.
    subscribe: req.resource_names_subscribe ?? [],
    unsubscribe: req.resource_names_unsubscribe ?? [],
    nonce: req.response_nonce ?? '',
    ...(detail ? { errorDetail: { code: detail.code ?? 0, message: detail.message ?? '' } } : {}),
  };
}

/**
 * Delta (incremental) protocol server: DeltaAggregatedResources and the single-type
 * Delta* services. Per stream and type it keeps the subscription and ACK/NACK status
 * (the same TypeState and rules as SotW, ack.ts) and what the client holds per resource
 * (delta.ts), and sends only what differs: changed resources with their own versions,
 * and `removed_resources` for names the client holds that are gone. A reconnecting
 * client's `initial_resource_versions` count as held, so nothing it has is sent again.
 */
export class DeltaServer extends StreamServer<DeltaDiscoveryRequestObject, DeltaEntry, DeltaStream> {
  protected readonly logLabel = 'delta ';

  protected newStream(streamId: string, call: DeltaCall, fixedType: string | undefined): DeltaStream {
    return new DeltaStream(streamId, call, call.getPeer(), fixedType);
  }

  /** Per stream, type and resource: what was sent, ACKed and NACKed (CSDS). */
  bookkeeping(): StreamBookkeeping[] {
    return [...this.streams.values()]
      .filter((s) => s.proxy)
      .map((s) => ({
        streamId: s.streamId,
        protocol: 'delta' as const,
        proxy: s.proxy!,
        connectedAt: s.connectedAt,
        types: orderTypes(s.types.keys()).map((typeUrl) => {
          const e = s.types.get(typeUrl)!;
          const r = e.resources;
          const names = new Set([...e.state.names, ...r.client.keys(), ...r.acked.keys(), ...r.nacked.keys()]);
          const resources: ResourceRecord[] = [...names].sort().map((name) => {
            const sentVersion = r.client.get(name);
            const ackedVersion = r.acked.get(name);
            const n = r.nacked.get(name);
            return {
              name,
              ...(sentVersion !== undefined ? { sentVersion } : {}),
              ...(ackedVersion !== undefined ? { ackedVersion } : {}),
              ...(n ? { nacked: { version: n.version, error: n.error, at: n.at } } : {}),
            };
          });
          return { typeUrl, state: e.state, resources };
        }),
      }));
  }

  /** A named subscription is checked name by name in respond (namesChangedSince): not twice. */
  protected override pushVisits(proxy: XdsProxy, typeUrl: string, entry: DeltaEntry): boolean {
    return (!entry.state.wildcard && !entry.mustRespond) || super.pushVisits(proxy, typeUrl, entry);
  }

  protected onRequest(stream: DeltaStream, req: DeltaDiscoveryRequestObject): void {
    if (stream.closed) return;
    const begun = this.begin(stream, req.node, req.type_url);
    if (!begun) return;
    const { proxy, typeUrl } = begun;
    const request = view(req);
    const prev = stream.types.get(typeUrl);
    const { kind, state } = onDeltaRequest(prev?.state, request);
    this.callbacks.emit('onRequest', stream, typeUrl, kind);
    let entry: DeltaEntry;
    let moved = true;
    if (!prev) {
      const initial = req.initial_resource_versions ?? {};
      entry = {
        state,
        resources: initialResources(initial),
        evaluatedEpoch: 0,
        mustRespond: Object.keys(initial).length === 0,
      };
      stream.types.set(typeUrl, entry);
    } else {
      entry = prev;
      const before = prev.state;
      entry.state = state;
      moved = state.names !== before.names || state.wildcard !== before.wildcard;
      if (moved) {
        // Names the client no longer subscribes to (and no wildcard covers) are dropped on its side.
        const dropped = [...entry.resources.client.keys(), ...entry.resources.nacked.keys(), ...entry.resources.toldMissing].filter(
          (n) => !state.wildcard && !state.names.has(n),
        );
        entry.resources = forget(entry.resources, dropped);
      }
    }
    // (An ACK leaves the subscription as it was: the index need not hear of it.)
    if (moved) this.track(stream, typeUrl, entry);
    let resend = false;
    if (request.nonce !== '') {
      if (request.errorDetail && (request.errorDetail.code !== 0 || request.errorDetail.message !== '')) {
        resend = this.onNack(stream, typeUrl, entry, request.nonce, request.errorDetail, kind === 'NACK');
      } else {
        entry.resources = onDeltaAck(entry.resources, request.nonce);
      }
    }
    if (!this.source.ready()) return;
    const subscriptionChanged = request.subscribe.length > 0 || request.unsubscribe.length > 0;
    if (!prev || subscriptionChanged || resend || entry.mustRespond || this.source.changedSince(proxy, typeUrl, entry.evaluatedEpoch, subscribedNames(state))) {
      this.respond(stream, typeUrl, entry, 'request');
    }
  }

  private onNack(
    stream: DeltaStream,
    typeUrl: string,
    entry: DeltaEntry,
    nonce: string,
    errorDetail: { code: number; message: string },
    latest: boolean,
  ): boolean {
    const proxy = stream.proxy!;
    const record = entry.resources.inflight.find((i) => i.nonce === nonce);
    if (!record) {
      this.logger.debug({ proxy: proxy.id, type: typeUrl, nonce }, 'delta NACK for an unknown nonce ignored');
      return false;
    }
    const names = sentNames(record);
    const refused = new Set(namesInError(errorDetail.message, names));
    // Every resource of the response goes back to what the client had; only the ones the
    // error names are remembered as refused (the others are sent again).
    onDeltaNack(entry.resources, nonce, errorDetail.message);
    for (const name of names) if (!refused.has(name)) unrefuse(entry.resources, name);
    this.logger.warn(
      { proxy: proxy.id, type: typeUrl, nonce, resources: [...refused], errorDetail, protocol: 'delta' },
      'xDS NACK: the proxy rejected a response',
    );
    this.callbacks.emit('onNack', {
      stream,
      proxyId: proxy.id,
      typeUrl,
      nonce,
      ...(latest && entry.state.nackedVersion !== undefined ? { rejectedVersion: entry.state.nackedVersion } : {}),
      ...(entry.state.ackedVersion !== undefined ? { acceptedVersion: entry.state.ackedVersion } : {}),
      errorDetail,
    });
    // The resources of that response the error does not name go out again at once.
    return names.some((n) => !refused.has(n)) || record.removed.length > 0;
  }

  /**
   * Generates, diffs and sends one type to one stream; true when something was sent. A
   * push looks only at the subscribed names the changes since the stream's last look may
   * have reached: the others were reconciled then and cannot differ.
   */
  protected respond(stream: DeltaStream, typeUrl: string, entry: DeltaEntry, trigger: 'request' | 'push'): boolean {
    const proxy = stream.proxy!;
    const { state } = entry;
    const reached =
      trigger === 'push' && !state.wildcard && !entry.mustRespond
        ? this.source.namesChangedSince(proxy, typeUrl, entry.evaluatedEpoch, state.names)
        : undefined;
    if (reached?.size === 0) {
      entry.evaluatedEpoch = this.source.epoch;
      return false;
    }
    const names = state.wildcard ? undefined : (reached ?? state.names);
    const list = this.generate(stream, typeUrl, entry, names);
    const { send, remove } = deltaDiff(entry.resources, list, names ? { wildcard: false, names } : state);
    // Informational in delta (each resource carries its own version): the snapshot's
    // content version, the same on every replica, as Istio sends its push version.
    const version = this.source.version;
    if (send.length === 0 && remove.length === 0 && !entry.mustRespond) {
      if (state.sentVersion === undefined && state.status === 'REQUESTED') {
        // A reconnecting client already holds everything: as good as sent and ACKed.
        entry.state = { ...state, status: 'ACKED', sentVersion: version, ackedVersion: version };
      }
      return false;
    }
    const nonce = stream.nextNonce();
    const body = encodeDeltaDiscoveryResponse({
      systemVersionInfo: version,
      typeUrl,
      nonce,
      resources: send,
      removed: remove,
      ...(this.controlPlaneId ? { controlPlaneId: this.controlPlaneId } : {}),
    });
    if (!this.write(stream, body)) return false;
    entry.mustRespond = false;
    entry.resources = onDeltaSent(entry.resources, nonce, send, remove);
    entry.state = onSent(state, version, nonce);
    this.reportSent({ stream, typeUrl, version, nonce, resources: send.length, bytes: body.length, trigger }, { removed: remove.length, protocol: 'delta' });
    return true;
  }
}

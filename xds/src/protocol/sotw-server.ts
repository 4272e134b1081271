import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type * as grpc from '@grpc/grpc-js';
import type { CallbackChain, StreamInfo } from '../callbacks/callbacks.js';
import type { XdsLogger } from '../logger.js';
import { proxyFromNode, type XdsProxy } from '../proxy.js';
import { RESOURCE_TYPES } from '../resources/index.js';
import { PUSH_ORDER } from '../resources/type-urls.js';
import type { Json } from '../protos/struct.js';
import { decidePush, onRequest, onSent, type RequestView, type SyncStatus, type TypeState } from './ack.js';
import type { DiscoveryRequestObject } from './ads-service.js';
import { encodeDiscoveryResponse, responseVersion } from './response.js';
import type { ResourceSource } from './source.js';

export type AdsCall = grpc.ServerDuplexStream<DiscoveryRequestObject, Buffer>;

/** One type on one stream, as /debug/syncz and proxy-status show it. */
export interface TypeStatus {
  readonly typeUrl: string;
  readonly status: SyncStatus;
  readonly wildcard: boolean;
  readonly subscribed: number;
  readonly sentVersion?: string;
  readonly sentNonce?: string;
  readonly ackedVersion?: string;
  readonly nackedVersion?: string;
  readonly lastError?: string;
}

export interface ProxyStatus {
  readonly id: string;
  readonly streamId: string;
  readonly peer: string;
  readonly connectedAt: string;
  readonly generator: string;
  readonly namespace: string;
  readonly userAgent: string;
  readonly metadata: Readonly<Record<string, Json>>;
  /** By type URL. */
  readonly types: Readonly<Record<string, TypeStatus>>;
}

interface TypeEntry {
  state: TypeState;
  /** Source epoch when this type was last generated for the stream (0: never). */
  evaluatedEpoch: number;
}

class AdsStream implements StreamInfo {
  proxy: XdsProxy | undefined;
  readonly connectedAt = new Date();
  readonly types = new Map<string, TypeEntry>();
  readonly warned = new Set<string>();
  private readonly noncePrefix = randomBytes(3).toString('hex');
  private nonceSeq = 0;
  closed = false;

  constructor(
    readonly streamId: string,
    readonly call: AdsCall,
    readonly peer: string,
  ) {}

  nextNonce(): string {
    return `${this.noncePrefix}-${++this.nonceSeq}`;
  }
}

function orderTypes(types: Iterable<string>): string[] {
  const all = [...types];
  const known = PUSH_ORDER.filter((t) => all.includes(t));
  return [...known, ...all.filter((t) => !PUSH_ORDER.includes(t)).sort()];
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
 * ADS state-of-the-world protocol server: per stream it remembers the node (sent only in
 * the first request), per type the subscription and what was sent, ACKed and NACKed, and
 * asks the ResourceSource what to send. It knows nothing of the mesh.
 */
export class SotwServer {
  private readonly streams = new Map<string, AdsStream>();
  private streamSeq = 0;

  constructor(
    private readonly source: ResourceSource,
    private readonly callbacks: CallbackChain,
    private readonly logger: XdsLogger,
    private readonly controlPlaneId?: string,
  ) {}

  /** The grpc-js handler for StreamAggregatedResources. */
  readonly handle = (call: AdsCall): void => {
    const stream = new AdsStream(`${++this.streamSeq}`, call, call.getPeer());
    this.streams.set(stream.streamId, stream);
    this.callbacks.emit('onStreamOpen', stream);
    call.on('data', (req: DiscoveryRequestObject) => {
      try {
        this.onRequest(stream, req);
      } catch (err) {
        this.logger.error({ proxy: stream.proxy?.id, err: String(err) }, 'xDS request handling failed');
      }
    });
    call.on('end', () => {
      this.close(stream);
      call.end();
    });
    call.on('cancelled', () => this.close(stream));
    call.on('error', (err: Error) => {
      this.logger.debug({ proxy: stream.proxy?.id, err: err.message }, 'xDS stream error');
      this.close(stream);
    });
    call.on('close', () => this.close(stream));
  };

  get streamCount(): number {
    return this.streams.size;
  }

  /**
   * Pushes what a new snapshot changed to every stream, per stream in the order CDS, EDS,
   * LDS, RDS. Types whose inputs did not change are skipped without generating anything.
   */
  pushAll(startedAt = performance.now()): void {
    for (const stream of this.streams.values()) {
      const proxy = stream.proxy;
      if (!proxy) continue;
      let pushed = false;
      for (const typeUrl of orderTypes(stream.types.keys())) {
        const entry = stream.types.get(typeUrl);
        if (!entry) continue;
        if (!entry.state.forceSend && !this.source.changedSince(proxy, typeUrl, entry.evaluatedEpoch)) continue;
        if (this.respond(stream, typeUrl, entry, 'push')) pushed = true;
      }
      if (pushed) this.callbacks.emit('onPushComplete', stream, (performance.now() - startedAt) / 1000);
    }
  }

  /** Ends every stream (server shutdown). */
  closeAll(): void {
    for (const stream of [...this.streams.values()]) {
      this.close(stream);
      try {
        stream.call.end();
      } catch {
        // Already gone.
      }
    }
  }

  status(): ProxyStatus[] {
    return [...this.streams.values()]
      .filter((s) => s.proxy)
      .map((s) => {
        const proxy = s.proxy!;
        const types: Record<string, TypeStatus> = {};
        for (const [typeUrl, { state }] of s.types) {
          types[typeUrl] = {
            typeUrl,
            status: state.status,
            wildcard: state.wildcard,
            subscribed: state.names.size,
            ...(state.sentVersion !== undefined ? { sentVersion: state.sentVersion } : {}),
            ...(state.sentNonce !== undefined ? { sentNonce: state.sentNonce } : {}),
            ...(state.ackedVersion !== undefined ? { ackedVersion: state.ackedVersion } : {}),
            ...(state.nackedVersion !== undefined ? { nackedVersion: state.nackedVersion } : {}),
            ...(state.lastError !== undefined ? { lastError: state.lastError } : {}),
          };
        }
        return {
          id: proxy.id,
          streamId: s.streamId,
          peer: s.peer,
          connectedAt: s.connectedAt.toISOString(),
          generator: proxy.generator,
          namespace: proxy.namespace,
          userAgent: proxy.userAgent,
          metadata: proxy.metadata,
          types,
        };
      });
  }

  private onRequest(stream: AdsStream, req: DiscoveryRequestObject): void {
    if (stream.closed) return;
    if (!stream.proxy) {
      // Clients send the node in the first request of a stream only.
      stream.proxy = proxyFromNode(req.node);
      this.logger.info(
        { proxy: stream.proxy.id, generator: stream.proxy.generator, peer: stream.peer, userAgent: stream.proxy.userAgent },
        'xDS stream opened',
      );
    }
    const proxy = stream.proxy;
    const typeUrl = req.type_url ?? '';
    if (!typeUrl) {
      this.logger.warn({ proxy: proxy.id }, 'xDS request without type_url ignored');
      return;
    }
    const prev = stream.types.get(typeUrl);
    const request = view(req);
    const { kind, state } = onRequest(prev?.state, request);
    this.callbacks.emit('onRequest', stream, typeUrl, kind);
    if (kind === 'STALE') {
      this.logger.debug({ proxy: proxy.id, type: typeUrl, nonce: request.nonce }, 'stale xDS request ignored');
      return;
    }
    const entry: TypeEntry = prev ?? { state, evaluatedEpoch: 0 };
    entry.state = state;
    stream.types.set(typeUrl, entry);
    if (kind === 'NACK') {
      const errorDetail = request.errorDetail ?? { code: 0, message: '' };
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
    this.respond(stream, typeUrl, entry, 'request');
  }

  /** Generates, decides and sends one type to one stream; true when something was sent. */
  private respond(stream: AdsStream, typeUrl: string, entry: TypeEntry, trigger: 'request' | 'push'): boolean {
    const proxy = stream.proxy!;
    const resources = this.source.resources(proxy, typeUrl, entry.state.wildcard ? undefined : entry.state.names);
    entry.evaluatedEpoch = this.source.epoch;
    if (!resources && !stream.warned.has(typeUrl)) {
      stream.warned.add(typeUrl);
      this.logger.warn(
        { proxy: proxy.id, type: typeUrl, generator: proxy.generator, known: RESOURCE_TYPES.has(typeUrl) },
        'no generator for this type and proxy: answering with no resources',
      );
    }
    const list = resources ?? [];
    const version = responseVersion(list);
    const decision = decidePush(entry.state, version);
    entry.state = decision.state;
    if (!decision.push) return false;
    const nonce = stream.nextNonce();
    const body = encodeDiscoveryResponse({
      versionInfo: version,
      typeUrl,
      nonce,
      resources: list,
      ...(this.controlPlaneId ? { controlPlaneId: this.controlPlaneId } : {}),
    });
    try {
      stream.call.write(body);
    } catch (err) {
      // The client went away between its last request and this push.
      this.logger.debug({ proxy: proxy.id, err: String(err) }, 'xDS write failed');
      this.close(stream);
      return false;
    }
    entry.state = onSent(entry.state, version, nonce);
    this.callbacks.emit('onResponse', {
      stream,
      typeUrl,
      version,
      nonce,
      resources: list.length,
      bytes: body.length,
      trigger,
    });
    this.logger.debug({ proxy: proxy.id, type: typeUrl, version, nonce, resources: list.length, trigger }, 'xDS response sent');
    return true;
  }

  private close(stream: AdsStream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.streamId);
    this.callbacks.emit('onStreamClosed', stream);
    this.logger.info({ proxy: stream.proxy?.id, peer: stream.peer }, 'xDS stream closed');
  }
}

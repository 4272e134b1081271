import * as grpc from '@grpc/grpc-js';
import { ADS_DELTA_PATH } from '../../src/protocol/ads-service.js';
import { messageType } from '../../src/protos/root.js';
import { jsonToStruct } from '../../src/protos/struct.js';

export interface DecodedDeltaResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  /** Resource wrappers: name, version, and the resource decoded from its Any (with `@type`). */
  resources: { name: string; version: string; resource: Record<string, any> }[];
  removed_resources: string[];
  control_plane?: { identifier?: string };
}

export interface DeltaRequest {
  typeUrl: string;
  subscribe?: string[];
  unsubscribe?: string[];
  initialVersions?: Record<string, string>;
  nonce?: string;
  errorDetail?: { code: number; message: string };
}

let barrierSeq = 0;

/**
 * A delta xDS client over grpc-js with the real Envoy protos (grpc-js-xds speaks only
 * SotW): sends DeltaDiscoveryRequests on DeltaAggregatedResources (or a single-type
 * Delta* method), queues DeltaDiscoveryResponses, and keeps the client-side view of
 * what it holds, as Envoy does.
 */
export class DeltaTestClient {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<object, DecodedDeltaResponse>;
  private readonly queue: DecodedDeltaResponse[] = [];
  private readonly waiters: ((r: DecodedDeltaResponse) => void)[] = [];
  private sentNode = false;
  /** type → name → version the client holds after applying responses. */
  readonly held = new Map<string, Map<string, string>>();
  ended = false;

  constructor(
    port: number,
    private readonly node: { id: string; metadata?: Record<string, unknown> } = { id: 'delta-proxy', metadata: { NAMESPACE: 'default' } },
    path = ADS_DELTA_PATH,
  ) {
    const requestType = messageType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
    const responseType = messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(
      path,
      (req: object) => Buffer.from(requestType.encode(requestType.fromObject(req)).finish()),
      (buf: Buffer) =>
        responseType.toObject(responseType.decode(buf), { json: true, enums: String, longs: Number, arrays: true, defaults: true }) as DecodedDeltaResponse,
    );
    this.call.on('data', (r: DecodedDeltaResponse) => {
      const w = this.waiters.shift();
      if (w) w(r);
      else this.queue.push(r);
    });
    this.call.on('error', () => {
      this.ended = true;
    });
    this.call.on('end', () => {
      this.ended = true;
    });
  }

  send(r: DeltaRequest): void {
    const req: Record<string, unknown> = {
      type_url: r.typeUrl,
      resource_names_subscribe: r.subscribe ?? [],
      resource_names_unsubscribe: r.unsubscribe ?? [],
      initial_resource_versions: r.initialVersions ?? {},
      response_nonce: r.nonce ?? '',
    };
    if (r.errorDetail) req.error_detail = r.errorDetail;
    if (!this.sentNode) {
      req.node = { id: this.node.id, metadata: jsonToStruct(this.node.metadata ?? {}) };
      this.sentNode = true;
    }
    this.call.write(req);
  }

  /** Applies a response to `held` (as Envoy would after accepting it) and ACKs it. */
  ack(res: DecodedDeltaResponse): void {
    this.apply(res);
    this.send({ typeUrl: res.type_url, nonce: res.nonce });
  }

  apply(res: DecodedDeltaResponse): void {
    const held = this.held.get(res.type_url) ?? new Map<string, string>();
    for (const r of res.resources) held.set(r.name, r.version);
    for (const n of res.removed_resources) held.delete(n);
    this.held.set(res.type_url, held);
  }

  nack(res: DecodedDeltaResponse, message: string): void {
    this.send({ typeUrl: res.type_url, nonce: res.nonce, errorDetail: { code: 3, message } });
  }

  heldVersions(typeUrl: string): Record<string, string> {
    return Object.fromEntries([...(this.held.get(typeUrl) ?? new Map())].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  next(timeoutMs = 15_000): Promise<DecodedDeltaResponse> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(done);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(new Error('no DeltaDiscoveryResponse arrived'));
      }, timeoutMs);
      const done = (r: DecodedDeltaResponse) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(done);
    });
  }

  /**
   * Proves nothing else is queued or in flight: subscribes to a never-seen type, which the
   * server answers (the client holds nothing of it), and returns what came before.
   */
  async drainUntilBarrier(): Promise<DecodedDeltaResponse[]> {
    const typeUrl = `type.googleapis.com/isthmus.test.Barrier${++barrierSeq}`;
    this.send({ typeUrl, subscribe: ['x'] });
    const before: DecodedDeltaResponse[] = [];
    for (;;) {
      const r = await this.next();
      if (r.type_url === typeUrl) return before;
      before.push(r);
    }
  }

  close(): void {
    this.call.end();
    this.client.close();
  }
}

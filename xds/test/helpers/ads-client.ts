import * as grpc from '@grpc/grpc-js';
import { ADS_SOTW_PATH } from '../../src/protocol/ads-service.js';
import { messageType } from '../../src/protos/root.js';
import { jsonToStruct } from '../../src/protos/struct.js';

export interface DecodedResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  /** Resources decoded from their Any, with `@type`. */
  resources: Record<string, any>[];
  control_plane?: { identifier?: string };
}

export interface Request {
  typeUrl: string;
  names?: string[];
  versionInfo?: string;
  nonce?: string;
  errorDetail?: { code: number; message: string };
}

let barrierSeq = 0;

/**
 * A minimal ADS client over grpc-js with the real Envoy protos: sends DiscoveryRequests,
 * queues DiscoveryResponses. Node metadata goes through jsonToStruct: protobufjs's Struct
 * takes camelCase (`stringValue`), snake_case would encode as empty.
 */
export class AdsTestClient {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<object, DecodedResponse>;
  private readonly queue: DecodedResponse[] = [];
  private readonly waiters: ((r: DecodedResponse) => void)[] = [];
  private sentNode = false;
  ended = false;

  constructor(
    port: number,
    private readonly node: { id: string; metadata?: Record<string, unknown> } = { id: 'test-proxy', metadata: { GENERATOR: 'grpc' } },
    /** ADS by default; a single-type method such as `/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters`. */
    path = ADS_SOTW_PATH,
  ) {
    const requestType = messageType('envoy.service.discovery.v3.DiscoveryRequest');
    const responseType = messageType('envoy.service.discovery.v3.DiscoveryResponse');
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(
      path,
      (req: object) => Buffer.from(requestType.encode(requestType.fromObject(req)).finish()),
      (buf: Buffer) =>
        responseType.toObject(responseType.decode(buf), { json: true, enums: String, longs: Number, arrays: true }) as DecodedResponse,
    );
    this.call.on('data', (r: DecodedResponse) => {
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

  send(r: Request): void {
    const req: Record<string, unknown> = {
      type_url: r.typeUrl,
      resource_names: r.names ?? [],
      version_info: r.versionInfo ?? '',
      response_nonce: r.nonce ?? '',
    };
    if (r.errorDetail) req.error_detail = r.errorDetail;
    if (!this.sentNode) {
      // Like real clients: the node only in the first request of the stream.
      req.node = { id: this.node.id, metadata: jsonToStruct(this.node.metadata ?? {}) };
      this.sentNode = true;
    }
    this.call.write(req);
  }

  ack(res: DecodedResponse, names: string[]): void {
    this.send({ typeUrl: res.type_url, names, versionInfo: res.version_info, nonce: res.nonce });
  }

  nack(res: DecodedResponse, names: string[], message: string, acceptedVersion = ''): void {
    this.send({ typeUrl: res.type_url, names, versionInfo: acceptedVersion, nonce: res.nonce, errorDetail: { code: 14, message } });
  }

  /** The next response (generous timeout: it fails the test rather than hanging it). */
  next(timeoutMs = 15_000): Promise<DecodedResponse> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(done);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(new Error('no DiscoveryResponse arrived'));
      }, timeoutMs);
      const done = (r: DecodedResponse) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(done);
    });
  }

  /** Subscribes and returns the first response. */
  async request(typeUrl: string, names: string[], versionInfo = ''): Promise<DecodedResponse> {
    this.send({ typeUrl, names, versionInfo });
    return this.next();
  }

  /**
   * Proves nothing else is queued or in flight: asks for a never-seen type, which the
   * server always answers, and returns the responses that came before that answer.
   * The server handles a stream's requests in order and writes synchronously, so a push
   * it decided on earlier is always ahead of the barrier's answer.
   */
  async drainUntilBarrier(): Promise<DecodedResponse[]> {
    const typeUrl = `type.googleapis.com/isthmus.test.Barrier${++barrierSeq}`;
    this.send({ typeUrl, names: ['x'] });
    const before: DecodedResponse[] = [];
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

import * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/protos/root.js';
import { jsonToStruct } from '../../src/protos/struct.js';

export interface TestNode {
  id: string;
  metadata?: Record<string, unknown>;
}

let barrierSeq = 0;

/**
 * What the SotW and delta test clients share: one bidi xDS stream over grpc-js with the
 * real Envoy protos, responses queued in order, the node sent in the first request only
 * (as real clients do), and a barrier that proves nothing else is in flight. Node metadata
 * goes through jsonToStruct: protobufjs's Struct takes camelCase (`stringValue`), snake_case
 * would encode as empty.
 */
export abstract class XdsTestStream<Res extends { type_url: string }> {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<object, Res>;
  private readonly queue: Res[] = [];
  private readonly waiters: ((r: Res) => void)[] = [];
  private sentNode = false;
  /** How a timeout names what did not arrive. */
  private readonly responseName: string;
  ended = false;

  constructor(
    port: number,
    private readonly node: TestNode,
    path: string,
    messages: { request: string; response: string; defaults?: boolean },
  ) {
    const requestType = messageType(messages.request);
    const responseType = messageType(messages.response);
    this.responseName = messages.response.split('.').at(-1)!;
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(
      path,
      (req: object) => Buffer.from(requestType.encode(requestType.fromObject(req)).finish()),
      (buf: Buffer) =>
        responseType.toObject(responseType.decode(buf), { json: true, enums: String, longs: Number, arrays: true, defaults: messages.defaults ?? false }) as Res,
    );
    this.call.on('data', (r: Res) => {
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

  /** A request that subscribes to `name` of a type the server has never seen (it always answers it). */
  protected abstract barrierRequest(typeUrl: string, name: string): void;

  /** Writes a request (in proto field names), with the node if it is the stream's first. */
  protected write(req: Record<string, unknown>): void {
    if (!this.sentNode) {
      req.node = { id: this.node.id, metadata: jsonToStruct(this.node.metadata ?? {}) };
      this.sentNode = true;
    }
    this.call.write(req);
  }

  /** The next response (generous timeout: it fails the test rather than hanging it). */
  next(timeoutMs = 15_000): Promise<Res> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(done);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(new Error(`no ${this.responseName} arrived`));
      }, timeoutMs);
      const done = (r: Res) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(done);
    });
  }

  /**
   * Proves nothing else is queued or in flight: asks for a never-seen type, which the
   * server always answers, and returns the responses that came before that answer.
   * The server handles a stream's requests in order and writes synchronously, so a push
   * it decided on earlier is always ahead of the barrier's answer.
   */
  async drainUntilBarrier(): Promise<Res[]> {
    const typeUrl = `type.googleapis.com/isthmus.test.Barrier${++barrierSeq}`;
    this.barrierRequest(typeUrl, 'x');
    const before: Res[] = [];
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

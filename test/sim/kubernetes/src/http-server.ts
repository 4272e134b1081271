import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { ApiError, errorFor, pathNotFound, tooOld } from './errors.js';
import type { FaultSet, RequestInfo } from './faults.js';
import { sendError, startStream } from './response.js';
import { isWatch, parseRoute, type RestApi } from './rest.js';
import type { Store } from './store.js';
import type { WatchSettings } from './watch.js';

/**
 * The HTTP front: listening (HTTP, or HTTPS with a certificate; `down`/`up` on the same port), and the request pipeline
 * every API call goes through: record it, add latency, apply arrival faults (reset, hang,
 * status, gone), delay or dribble the answer, check the bearer token, parse the body,
 * then hand it to the REST layer. Control requests under `/_sim/` skip faults and auth.
 */

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  /** performance.now() at arrival. */
  readonly at: number;
  readonly watch: boolean;
  /** The HTTP status sent (unset while a request hangs or when its socket was reset). */
  readonly status?: number;
}

export interface FrontendConfig {
  token: string | undefined;
  latencyMs: number;
}

/** PEM certificate (chain) and key to serve HTTPS with. */
export interface ServingCertificate {
  readonly cert: string;
  readonly key: string;
}

/** Requests remembered (oldest forgotten first), so a long-running simulator does not grow without bound. */
const MAX_RECORDS = 100_000;

/** Largest request body apiserver takes (3 MiB). */
const MAX_BODY = 3 * 1024 * 1024;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class HttpFrontend {
  private readonly log: Mutable<RequestRecord>[] = [];
  private server: Server | TlsServer | undefined;
  private readonly sockets = new Set<Socket>();
  /** Requests a `hang` holds, by fault id: they go on when it goes. */
  private readonly parked = new Map<number, Set<() => void>>();
  private boundPort = 0;

  constructor(
    private readonly host: string,
    readonly config: FrontendConfig,
    private readonly faults: FaultSet,
    private readonly rest: RestApi,
    private readonly store: Store,
    private readonly watchSettings: WatchSettings,
    private readonly control: (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => void,
    /** Serve HTTPS with this; plain HTTP without. */
    readonly tls?: ServingCertificate,
  ) {}

  /** Requests seen so far, with the status sent (a watch's 200 as soon as its stream started). */
  records(): RequestRecord[] {
    return this.log.map((r) => ({ ...r, query: { ...r.query } }));
  }

  get port(): number {
    return this.boundPort;
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  async listen(port = this.boundPort): Promise<void> {
    if (this.server) return;
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const server = this.tls ? createTlsServer({ cert: this.tls.cert, key: this.tls.key }, handler) : createServer(handler);
    // Watches and hung requests stay open as long as the client wants: no server-side cut.
    server.requestTimeout = 0;
    server.keepAliveTimeout = 65_000;
    // 'connection' is the TCP socket under TLS too (handshaking ones included): destroying it ends the TLS session.
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
  }

  /** Stops listening and cuts every connection (watches and hung requests included). */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = (req.method ?? 'GET').toUpperCase();
    const watch = isWatch(url.searchParams);
    const record: Mutable<RequestRecord> = { method, path: url.pathname, query: Object.fromEntries(url.searchParams), at: performance.now(), watch };
    if (url.pathname.startsWith('/_sim/')) {
      this.control(req, res, url, await readBody(req));
      return;
    }
    this.log.push(record);
    if (this.log.length > MAX_RECORDS) this.log.splice(0, this.log.length - MAX_RECORDS);
    try {
      if (this.config.latencyMs > 0) await sleep(this.config.latencyMs);
      const route = parseRoute(url.pathname);
      const info: RequestInfo = { method, path: url.pathname, watch, listOrWatch: method === 'GET' && route?.kind === 'resource' && (route.name === undefined || watch) };
      const ARRIVAL = ['reset', 'hang', 'status', 'gone'] as const;
      let arrival = this.faults.take(info, ARRIVAL);
      while (arrival?.fault.kind === 'hang') {
        // Not answered until the hang is removed (or the client, or down(), closes the socket).
        await this.park(arrival.id, res);
        if (res.destroyed) return;
        arrival = this.faults.take(info, ARRIVAL);
      }
      const fault = arrival?.fault;
      if (fault?.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      const slow = this.faults.take(info, ['slow'])?.fault;
      if (slow?.kind === 'slow') await sleep(slow.delayMs);
      const dribble = this.faults.take(info, ['dribble'])?.fault;
      const chunkDelayMs = dribble?.kind === 'dribble' ? dribble.chunkDelayMs : 0;
      if (res.destroyed) return;
      if (fault?.kind === 'status') throw errorFor(fault.code, fault.reason, fault.message, fault.retryAfterSeconds);
      if (fault?.kind === 'gone') return this.gone(res, url, watch);
      this.authorize(req);
      if (!route) {
        if (['/healthz', '/livez', '/readyz'].includes(url.pathname)) {
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
          return;
        }
        throw pathNotFound();
      }
      const text = await readBody(req);
      const contentType = String(req.headers['content-type'] ?? '');
      const body = parseBody(method, contentType, text);
      this.rest.handle({ method, route, query: url.searchParams, path: url.pathname, body, contentType, serverAddress: `${this.host}:${this.boundPort}` }, res, chunkDelayMs);
    } catch (err) {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      sendError(res, err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
    } finally {
      // Every answer (watch streams and dribbled bodies too) writes its head synchronously.
      if (res.headersSent) record.status = res.statusCode;
    }
  }

  /** Holds a request until release(faultId), or until its socket closes. */
  private park(faultId: number, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      let waiting = this.parked.get(faultId);
      if (!waiting) this.parked.set(faultId, (waiting = new Set()));
      const held = waiting;
      const go = () => {
        held.delete(go);
        resolve();
      };
      held.add(go);
      res.once('close', go);
    });
  }

  /** Lets the requests a `hang` holds go on. */
  release(faultId: number): void {
    for (const go of [...(this.parked.get(faultId) ?? [])]) go();
    this.parked.delete(faultId);
  }

  releaseAll(): void {
    for (const id of [...this.parked.keys()]) this.release(id);
  }

  /** A `gone` fault: 410 for a list, or for a watch as the simulator's goneMode says. */
  private gone(res: ServerResponse, url: URL, watch: boolean): void {
    const rv = Number(url.searchParams.get('resourceVersion') || this.store.resourceVersion);
    const err = tooOld(rv, this.store.resourceVersion + 1);
    if (watch && this.watchSettings.goneMode === 'event') {
      startStream(res);
      res.end(JSON.stringify({ type: 'ERROR', object: err.status() }) + '\n');
      return;
    }
    sendError(res, err);
  }

  private authorize(req: IncomingMessage): void {
    const token = this.config.token;
    if (token === undefined) return;
    if (req.headers.authorization !== `Bearer ${token}`) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => (size > MAX_BODY ? reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728')) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** JSON bodies only: apiserver's YAML and protobuf encodings are not simulated (415). */
function parseBody(method: string, contentType: string, text: string): unknown {
  if (text.trim() === '' || method === 'GET') return undefined;
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  if ((method === 'POST' || method === 'PUT') && media !== '' && media !== 'application/json' && media !== '*/*') {
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}


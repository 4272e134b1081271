import { readFile } from 'node:fs/promises';
import { request as httpRequest, type Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import {
  createPlatformAgent,
  describeNetworkError,
  parseIndexHeader,
  parsePlatformAddress,
  readResponseBody,
  readTokenFileSync,
  retryAfterHeader,
  type BlockingQueryError,
  type BlockingResponse,
} from '@isthmus/core';
import type { NomadConnectionOptions } from './options.js';

/** Why a Nomad request failed. `http` carries the status; the rest had no usable answer. */
export type NomadErrorKind = 'network' | 'timeout' | 'http' | 'invalid';

export class NomadRequestError extends Error implements BlockingQueryError {
  constructor(
    readonly kind: NomadErrorKind,
    message: string,
    readonly status?: number,
    /** From `Retry-After` on 429/503 (a rate-limiting proxy or Nomad's RPC limits). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'NomadRequestError';
  }
}

/** A raw answer: the status, Nomad's query-meta headers, the body text. */
export interface NomadResponse extends BlockingResponse {
  readonly status: number;
  /** `X-Nomad-Index`; undefined when absent or not a number. */
  readonly index: number | undefined;
  /** `X-Nomad-KnownLeader: false` means the answer may be stale. */
  readonly knownLeader: boolean;
  readonly retryAfterMs?: number;
  readonly body: string;
}

export interface GetOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs: number;
}

/** An open NDJSON stream: its lines, in order, until it ends (normally or not). */
export interface NomadLineStream {
  readonly lines: AsyncIterable<string>;
  /** Cuts the stream (the `lines` iteration then ends). */
  close(): void;
}

const MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Typed HTTP access to Nomad's HTTP API on node:http(s): `X-Nomad-Token` and `?region=` on
 * every request, TLS with a CA / client certificate / server name, keep-alive, a hard
 * timeout and abort, and an NDJSON line reader for `/v1/event/stream`. Node's global
 * `fetch` cannot take a CA or a client certificate without undici's Agent (a dependency
 * Isthmus does not have), and Nomad clusters commonly run mutual TLS; see
 * docs/decisions/003-nomad-http-client.md.
 */
export class NomadClient {
  readonly baseUrl: URL;
  private readonly agent: HttpAgent | HttpsAgent;
  private token: string | undefined;
  private readonly scope: Record<string, string>;
  private readonly open = new Set<ClientRequest>();

  constructor(private readonly options: NomadConnectionOptions & { readonly region?: string }) {
    this.baseUrl = parseAddress(options.address);
    this.token = options.token;
    if (options.tokenFile) this.token = readTokenFileSync(options.tokenFile, 'nomad');
    this.scope = options.region ? { region: options.region } : {};
    this.agent = createPlatformAgent(this.baseUrl, options.tls, 'nomad');
  }

  /** `scheme://host:port` for logs (never the token). */
  get address(): string {
    return this.baseUrl.origin;
  }

  /** Re-reads the token file (after a 403: the token may have been rotated). True when it changed. */
  async refreshToken(): Promise<boolean> {
    if (!this.options.tokenFile) return false;
    try {
      const next = (await readFile(this.options.tokenFile, 'utf8')).trim() || undefined;
      if (next === this.token) return false;
      this.token = next;
      return true;
    } catch {
      return false;
    }
  }

  /** GET `path` with `query` (plus region). Resolves with any HTTP status; rejects only without one. */
  get(path: string, query: Readonly<Record<string, string>>, opts: GetOptions): Promise<NomadResponse> {
    const what = `GET ${path}`;
    return new Promise<NomadResponse>((resolve, reject) => {
      let settled = false;
      const done = () => {
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.open.delete(req);
      };
      const fail = (err: NomadRequestError) => {
        if (settled) return;
        done();
        req.destroy();
        reject(err);
      };
      const onAbort = () => fail(new NomadRequestError('network', `${what}: aborted`));
      const req = this.request(path, query, (res) => {
        readResponseBody(res).then(
          (body) => {
            if (settled) return;
            done();
            resolve({
              status: res.statusCode ?? 0,
              index: parseIndexHeader(res.headers['x-nomad-index']),
              knownLeader: res.headers['x-nomad-knownleader'] !== 'false',
              body,
              ...retryAfterHeader(res),
            });
          },
          (err: Error) => fail(new NomadRequestError('network', `${what}: ${err.message}`)),
        );
      });
      const timer = setTimeout(() => fail(new NomadRequestError('timeout', `${what}: no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      req.on('error', (err) => fail(new NomadRequestError('network', `${what}: ${describeNetworkError(err, this.address, 'Nomad')}`)));
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      req.end();
    });
  }

  /**
   * Opens a long-lived NDJSON stream. Resolves once Nomad answers 200 (within `timeoutMs`);
   * any other answer rejects with its status and text. The caller owns the idle timeout.
   */
  stream(path: string, query: Readonly<Record<string, string>>, opts: GetOptions): Promise<NomadLineStream> {
    const what = `GET ${path}`;
    return new Promise<NomadLineStream>((resolve, reject) => {
      let settled = false;
      const settle = () => {
        settled = true;
        clearTimeout(timer);
      };
      const fail = (err: NomadRequestError) => {
        if (settled) return;
        settle();
        opts.signal?.removeEventListener('abort', onAbort);
        req.destroy();
        this.open.delete(req);
        reject(err);
      };
      const onAbort = () => {
        if (!settled) fail(new NomadRequestError('network', `${what}: aborted`));
        else req.destroy();
      };
      const req = this.request(path, query, (res) => {
        if (res.statusCode !== 200) {
          readResponseBody(res).then(
            (body) => fail(httpError({ status: res.statusCode ?? 0, body, ...retryAfterHeader(res) }, what)),
            (err: Error) => fail(new NomadRequestError('network', `${what}: ${err.message}`)),
          );
          return;
        }
        settle();
        const close = () => {
          req.destroy();
          res.destroy();
        };
        req.once('close', () => {
          this.open.delete(req);
          opts.signal?.removeEventListener('abort', onAbort);
        });
        resolve({ lines: ndjsonLines(res), close });
      }, false);
      const timer = setTimeout(() => fail(new NomadRequestError('timeout', `${what}: no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      req.on('error', (err) => fail(new NomadRequestError('network', `${what}: ${describeNetworkError(err, this.address, 'Nomad')}`)));
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      req.end();
    });
  }

  /** Closes idle keep-alive connections and cuts every request still open. */
  close(): void {
    for (const req of this.open) req.destroy();
    this.open.clear();
    this.agent.destroy();
  }

  private request(path: string, query: Readonly<Record<string, string>>, onResponse: (res: IncomingMessage) => void, gzip = true): ClientRequest {
    const url = new URL(this.baseUrl.pathname.replace(/\/$/, '') + path, this.baseUrl);
    for (const [k, v] of Object.entries({ ...this.scope, ...query })) url.searchParams.set(k, v);
    // The event stream is never compressed (Nomad drops gzip for it): ask for none.
    const headers: Record<string, string> = { accept: 'application/json', ...(gzip ? { 'accept-encoding': 'gzip' } : {}) };
    if (this.token) headers['x-nomad-token'] = this.token;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', headers, agent: this.agent }, onResponse);
    this.open.add(req);
    req.once('close', () => this.open.delete(req));
    return req;
  }
}

/** Throws a NomadRequestError for anything but 2xx. */
export function expectOk(res: NomadResponse, what: string): void {
  if (res.status >= 200 && res.status < 300) return;
  throw httpError(res, what);
}

function httpError(res: { status: number; body: string; retryAfterMs?: number }, what: string): NomadRequestError {
  const text = res.body.trim().slice(0, 300) || `HTTP ${res.status}`;
  const hint =
    res.status === 403
      ? ' (check the ACL token: --nomad-token / --nomad-token-file; it needs namespace:read-job)'
      : res.status === 429
        ? ' (Nomad is rate limiting this client)'
        : '';
  return new NomadRequestError('http', `${what}: HTTP ${res.status}: ${text}${hint}`, res.status, res.retryAfterMs);
}

export function parseAddress(address: string): URL {
  return parsePlatformAddress(address, 'nomad');
}

/**
 * The lines of an NDJSON body as they arrive (a line may span chunks; a chunk may hold many
 * lines). Ends when the body ends, throws when the connection breaks mid-body.
 */
export async function* ndjsonLines(body: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of body) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line !== '') yield line;
      nl = pending.indexOf('\n');
    }
    if (pending.length > MAX_LINE_BYTES) throw new Error(`event stream line longer than ${MAX_LINE_BYTES} bytes`);
  }
  const last = (pending + decoder.end()).trim();
  if (last !== '') yield last;
}

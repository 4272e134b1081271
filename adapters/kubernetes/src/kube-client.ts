import { request as httpRequest, type Agent, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { describeNetworkError, readResponseBody, retryAfterHeader } from '@isthmus/core';
import type { KubeStatus } from './kube-types.js';
import { describeTlsError } from './tls-error.js';
import { readTokenFile, tokenFileOf } from './token-file.js';

/*
 * A small HTTP client for the API server: one request, or one watch stream, at a time,
 * each bounded by a timeout and abortable at any point.
 *
 * Why not client-node's `ListWatch` / `Watch` (1.4.0): the informer sends neither
 * `allowWatchBookmarks` nor `timeoutSeconds` and has no list timeout; `Watch` creates its
 * AbortController inside and returns it only once the response headers arrived (its 30 s
 * timeout signal is overwritten on the next line), so a watch to a server that accepts and
 * never answers can be neither timed out nor cancelled by `stop()`; and a non-200 answer
 * loses the Status body that says *why* (the RBAC message of a 403). client-node still
 * does what is hard to get right: reading kubeconfigs and the in-cluster account, and every
 * auth method (tokens, token files, exec plugins, OIDC, client certificates) and TLS/proxy
 * setup, through `KubeConfig.applyToHTTPSOptions` before each request.
 */

export type KubeErrorKind =
  /** The server answered with an error status (a Status body, usually). */
  | 'http'
  /** Connection refused, reset, DNS ... */
  | 'network'
  /** No answer in time (list page, status write, or watch headers). */
  | 'timeout'
  /** A watch stayed silent longer than its inactivity timeout. */
  | 'idle'
  /** The answer was not what the API promises (bad JSON, no items). */
  | 'invalid'
  /** Cancelled by the caller. */
  | 'aborted';

export class KubeApiError extends Error {
  constructor(
    readonly kind: KubeErrorKind,
    message: string,
    /** HTTP status, or the `code` of an ERROR watch event's Status. */
    readonly status?: number,
    /** The Status `reason` (Forbidden, NotFound, Expired, TooManyRequests ...). */
    readonly reason?: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }

  /** An error from a Status object (an HTTP error body, or an ERROR watch event). */
  static fromStatus(s: KubeStatus, httpStatus: number | undefined, retryAfterMs?: number): KubeApiError {
    const code = typeof s.code === 'number' && s.code > 0 ? s.code : (httpStatus ?? 0);
    const reason = typeof s.reason === 'string' && s.reason ? s.reason : undefined;
    const retry = retryAfterMs ?? (typeof s.details?.retryAfterSeconds === 'number' ? s.details.retryAfterSeconds * 1000 : undefined);
    const text = typeof s.message === 'string' && s.message ? s.message : 'no message';
    return new KubeApiError('http', `HTTP ${code}${reason ? ` ${reason}` : ''}: ${text}`, code, reason, retry);
  }
}

export interface RequestOpts {
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** JSON body (serialised here). */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface WatchOpts {
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Until the response headers arrive. */
  readonly connectTimeoutMs: number;
  /** A stream silent this long (no event, no bookmark) is abandoned with an `idle` error. */
  readonly idleTimeoutMs: number;
  readonly signal: AbortSignal;
  /** Each event line; throwing ends the watch with that error (an ERROR event, a bad object). */
  readonly onEvent: (type: string, object: unknown) => void;
  /** The server accepted the watch (200). */
  readonly onOpen?: () => void;
}

/** Longest watch line kept in memory (one object; apiserver's own limit is ~3 MiB per object). */
const MAX_LINE = 64 * 1024 * 1024;

export class KubeClient {
  /** `https://host:port` (with a path prefix when the kubeconfig has one). */
  readonly server: string;
  private readonly base: string;

  constructor(private readonly kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubernetes: the kubeconfig has no current cluster');
    this.server = cluster.server;
    this.base = cluster.server.replace(/\/+$/, '');
  }

  /** One request; resolves with the parsed JSON body of a 2xx answer, rejects with a KubeApiError. */
  async request<T = unknown>(method: string, path: string, o: RequestOpts): Promise<T> {
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    // Large lists compress well (apiserver gzips answers over 128 KiB when asked); watches stay plain.
    const headers: OutgoingHttpHeaders = {
      'Accept-Encoding': 'gzip',
      ...(payload === undefined ? {} : { 'Content-Type': o.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
    };
    const { req, agent } = await this.open(method, path, o.query, headers);
    return new Promise<T>((resolve, reject) => {
      const finish = settleOnce(req, agent, o.signal, reject);
      const timer = setTimeout(() => finish.fail(new KubeApiError('timeout', `${method} ${path}: no answer within ${o.timeoutMs} ms`)), o.timeoutMs);
      finish.onEnd(() => clearTimeout(timer));
      req.on('response', (res) => {
        readResponseBody(res).then(
          (text) => {
            const status = res.statusCode ?? 0;
            const body = parseJson(text);
            if (status >= 200 && status < 300) {
              if (body === undefined && text.trim() !== '') return finish.fail(new KubeApiError('invalid', `${method} ${path}: the answer is not JSON`, status));
              finish.done(() => resolve(body as T));
              return;
            }
            finish.fail(httpError(res, body, text));
          },
          (err: unknown) => finish.fail(new KubeApiError('network', `${method} ${path}: ${(err as Error).message}`)),
        );
      });
      req.on('error', (err) => finish.fail(this.networkError(err, `${method} ${path}`)));
      req.end(payload);
    });
  }

  /**
   * One watch stream: resolves when the server ends it cleanly (timeoutSeconds, a restart),
   * rejects with a KubeApiError on any failure, including silence past `idleTimeoutMs`.
   */
  async watch(path: string, o: WatchOpts): Promise<void> {
    const { req, agent } = await this.open('GET', path, { ...o.query, watch: 'true' }, {});
    return new Promise<void>((resolve, reject) => {
      const finish = settleOnce(req, agent, o.signal, reject);
      let timer = setTimeout(() => finish.fail(new KubeApiError('timeout', `watch ${path}: no answer within ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
      finish.onEnd(() => clearTimeout(timer));
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => finish.fail(new KubeApiError('idle', `watch ${path}: silent for ${o.idleTimeoutMs} ms`)), o.idleTimeoutMs);
      };
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          readResponseBody(res).then(
            (text) => finish.fail(httpError(res, parseJson(text), text)),
            (err: unknown) => finish.fail(new KubeApiError('network', `watch ${path}: ${(err as Error).message}`)),
          );
          return;
        }
        arm();
        o.onOpen?.();
        let buf = '';
        const line = (text: string) => {
          if (text.trim() === '') return;
          const event = parseJson(text) as { type?: unknown; object?: unknown } | undefined;
          if (!event || typeof event.type !== 'string') throw new KubeApiError('invalid', `watch ${path}: not a watch event: ${text.slice(0, 200)}`);
          o.onEvent(event.type, event.object);
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (finish.ended) return;
          arm();
          buf += chunk;
          try {
            for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
              const text = buf.slice(0, i);
              buf = buf.slice(i + 1);
              line(text);
              if (finish.ended) return;
            }
            if (buf.length > MAX_LINE) throw new KubeApiError('invalid', `watch ${path}: an event line longer than ${MAX_LINE} bytes`);
          } catch (err) {
            finish.fail(err instanceof KubeApiError ? err : new KubeApiError('invalid', `watch ${path}: ${(err as Error).message}`));
          }
        });
        res.on('close', () => {
          if (finish.ended) return;
          if (!res.complete) return finish.fail(new KubeApiError('network', `watch ${path}: connection closed mid-stream`));
          try {
            line(buf);
          } catch (err) {
            return finish.fail(err instanceof KubeApiError ? err : new KubeApiError('invalid', (err as Error).message));
          }
          finish.done(resolve);
        });
        res.on('error', (err) => finish.fail(this.networkError(err, `watch ${path}`)));
      });
      req.on('error', (err) => finish.fail(this.networkError(err, `watch ${path}`)));
      req.end();
    });
  }

  /**
   * Applies the kubeconfig (auth headers, TLS agent) — per request, so rotated tokens and
   * exec credentials are picked up; a token file (in-cluster) is read afresh here, as
   * client-node keeps its copy for a minute (token-file.ts).
   */
  private async open(
    method: string,
    path: string,
    query: Readonly<Record<string, string | undefined>> | undefined,
    extra: OutgoingHttpHeaders,
  ): Promise<{ req: ClientRequest; agent: Agent | undefined }> {
    const opts: RequestOptions = { headers: {} };
    try {
      await this.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new KubeApiError('invalid', `cannot apply the kubeconfig's credentials: ${(err as Error).message}`);
    }
    const tokenFile = tokenFileOf(this.kc.getCurrentUser());
    if (tokenFile) {
      try {
        opts.headers = { ...opts.headers, Authorization: `Bearer ${await readTokenFile(tokenFile)}` };
      } catch (err) {
        throw new KubeApiError('invalid', `cannot read the bearer token: ${(err as Error).message}`);
      }
    }
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const agent = typeof opts.agent === 'object' ? (opts.agent as Agent) : undefined;
    const headers: OutgoingHttpHeaders = { Accept: 'application/json', ...(opts.headers as OutgoingHttpHeaders), ...extra };
    const options = { method, agent, headers, ...(opts.auth ? { auth: opts.auth } : {}) };
    const req = url.protocol === 'https:' ? httpsRequest(url, options) : httpRequest(url, options);
    return { req, agent };
  }

  private networkError(err: NodeJS.ErrnoException, what: string): KubeApiError {
    const text = describeTlsError(err, this.kc.getCurrentCluster()) ?? describeNetworkError(err, new URL(this.base).host, 'the API server');
    return new KubeApiError('network', `${what}: ${text}`);
  }
}

interface Settle {
  /** True once the request succeeded, failed or was aborted. */
  readonly ended: boolean;
  done(then: () => void): void;
  fail(err: KubeApiError): void;
  onEnd(fn: () => void): void;
}

/**
 * Settles a request once: on success, failure or abort the request and its agent are
 * destroyed (kubeconfig agents are per request), timers cleared, and `reject` called once.
 */
function settleOnce(req: ClientRequest, agent: Agent | undefined, signal: AbortSignal | undefined, reject: (e: KubeApiError) => void): Settle {
  const hooks: (() => void)[] = [];
  const s = {
    ended: false,
    onEnd: (fn: () => void) => hooks.push(fn),
    done(then: () => void) {
      if (s.ended) return;
      end();
      then();
    },
    fail(err: KubeApiError) {
      if (s.ended) return;
      end();
      req.destroy();
      reject(err);
    },
  };
  const onAbort = () => s.fail(new KubeApiError('aborted', 'request cancelled'));
  const end = () => {
    s.ended = true;
    signal?.removeEventListener('abort', onAbort);
    for (const h of hooks) h();
    agent?.destroy();
  };
  if (signal?.aborted) queueMicrotask(onAbort);
  else signal?.addEventListener('abort', onAbort, { once: true });
  return s;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function httpError(res: IncomingMessage, body: unknown, text: string): KubeApiError {
  const status = res.statusCode ?? 0;
  const { retryAfterMs } = retryAfterHeader(res);
  if (body && typeof body === 'object' && !Array.isArray(body)) return KubeApiError.fromStatus(body as KubeStatus, status, retryAfterMs);
  const snippet = text.trim().slice(0, 200);
  return new KubeApiError('http', `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${snippet ? `: ${snippet}` : ''}`, status, undefined, retryAfterMs);
}

import { readFile } from 'node:fs/promises';
import { request as httpRequest, type Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import {
  createPlatformAgent,
  describeNetworkError,
  parseIndexHeader,
  parsePlatformAddress,
  readResponseBody,
  readTokenFileSync,
  retryAfterHeader,
} from '@isthmus/core';
import type { ConsulConnectionOptions } from './options.js';

/**
 * Why a Consul request failed. `http` carries the status; `acl` is an answer emptied by
 * ACL filtering (Consul filters instead of failing); the rest had no usable answer.
 */
export type ConsulErrorKind = 'network' | 'timeout' | 'http' | 'invalid' | 'acl';

export class ConsulRequestError extends Error {
  constructor(
    readonly kind: ConsulErrorKind,
    message: string,
    readonly status?: number,
    /** From `Retry-After` on 429/503 (Consul's rate limiter). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ConsulRequestError';
  }
}

/** A raw answer: the status, Consul's headers, the body text. */
export interface ConsulResponse {
  readonly status: number;
  /** `X-Consul-Index`; undefined when absent or not a number. */
  readonly index: number | undefined;
  /** `X-Consul-KnownLeader: false` means the answer may be stale. */
  readonly knownLeader: boolean;
  /** `X-Consul-Results-Filtered-By-ACLs: true`: the token could not see everything. */
  readonly filteredByAcls: boolean;
  /** From `Retry-After` (Consul's rate limiter answers 429/503 with it). */
  readonly retryAfterMs?: number;
  readonly body: string;
}

export interface GetOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs: number;
}

/**
 * Typed HTTP access to Consul on node:http(s): ACL token, datacenter, namespace and
 * partition on every request, TLS with a CA / client certificate, a hard timeout and
 * abort. See docs/decisions for why this is not the `consul` npm client.
 */
export class ConsulClient {
  readonly baseUrl: URL;
  private readonly agent: HttpAgent | HttpsAgent;
  private token: string | undefined;
  private readonly scope: Record<string, string>;

  constructor(
    private readonly options: ConsulConnectionOptions & { readonly datacenter?: string },
  ) {
    this.baseUrl = parseAddress(options.address);
    this.token = options.token;
    if (options.tokenFile) this.token = readTokenFileSync(options.tokenFile, 'consul');
    this.scope = {
      ...(options.datacenter ? { dc: options.datacenter } : {}),
      ...(options.namespace ? { ns: options.namespace } : {}),
      ...(options.partition ? { partition: options.partition } : {}),
    };
    // Keep-alive: a watch re-issues its query on the same connection.
    this.agent = createPlatformAgent(this.baseUrl, options.tls, 'consul');
  }

  /** `scheme://host:port` for logs (never the token). */
  get address(): string {
    return this.baseUrl.origin;
  }

  /**
   * Re-reads the token file (after a 403: the token may have been rotated). True when
   * the token changed. An empty file is ignored: it is a rewrite in progress, and going
   * anonymous would make Consul filter every answer to nothing.
   */
  async refreshToken(): Promise<boolean> {
    if (!this.options.tokenFile) return false;
    try {
      const next = (await readFile(this.options.tokenFile, 'utf8')).trim();
      if (next === '' || next === this.token) return false;
      this.token = next;
      return true;
    } catch {
      return false;
    }
  }

  /** GET `path` with `query` (plus dc/ns/partition). Resolves with any HTTP status; rejects only without one. */
  get(path: string, query: Readonly<Record<string, string | true>>, opts: GetOptions): Promise<ConsulResponse> {
    const url = new URL(this.baseUrl.pathname.replace(/\/$/, '') + path, this.baseUrl);
    for (const [k, v] of Object.entries({ ...this.scope, ...query })) url.searchParams.set(k, v === true ? '' : v);
    // Consul reads bare flags (`?passing`); URLSearchParams writes `passing=`, which Consul also accepts.
    const headers: Record<string, string> = { accept: 'application/json', 'accept-encoding': 'gzip' };
    if (this.token) headers['x-consul-token'] = this.token;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const what = `GET ${path}`;
    return new Promise<ConsulResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: ConsulRequestError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        req.destroy();
        reject(err);
      };
      const onAbort = () => fail(new ConsulRequestError('network', `${what}: aborted`));
      const req = send(url, { method: 'GET', headers, agent: this.agent }, (res) => {
        readResponseBody(res).then(
          (body) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            opts.signal?.removeEventListener('abort', onAbort);
            resolve({
              status: res.statusCode ?? 0,
              index: parseIndexHeader(res.headers['x-consul-index']),
              knownLeader: res.headers['x-consul-knownleader'] !== 'false',
              filteredByAcls: res.headers['x-consul-results-filtered-by-acls'] === 'true',
              body,
              ...retryAfterHeader(res),
            });
          },
          (err: Error) => fail(new ConsulRequestError('network', `${what}: ${err.message}`)),
        );
      });
      const timer = setTimeout(() => fail(new ConsulRequestError('timeout', `${what}: no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      req.on('error', (err) => fail(new ConsulRequestError('network', `${what}: ${describeNetworkError(err, this.address, 'Consul')}`)));
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Throws a ConsulRequestError for anything but 2xx (and the statuses a caller accepts). */
export function expectOk(res: ConsulResponse, what: string, accept: readonly number[] = []): void {
  if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) return;
  const text = res.body.trim().slice(0, 300) || `HTTP ${res.status}`;
  const hint =
    res.status === 403
      ? ' (check the ACL token: --consul-token / --consul-token-file)'
      : res.status === 429
        ? ' (Consul is rate limiting this client)'
        : '';
  throw new ConsulRequestError('http', `${what}: HTTP ${res.status}: ${text}${hint}`, res.status, res.retryAfterMs);
}

export function parseAddress(address: string): URL {
  return parsePlatformAddress(address, 'consul');
}

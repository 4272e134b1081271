import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createGunzip } from 'node:zlib';

/*
 * Platform-neutral pieces of the platform adapters' HTTP clients (Consul, Nomad): address
 * parsing, TLS agent setup, token and PEM files, response bodies and query-meta headers.
 * `platform` is the lower-case prefix of error messages (`consul`, `nomad`); `product` the
 * name shown to operators (`Consul`, `Nomad`).
 */

/** Largest response body read into memory. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** TLS settings of a platform HTTP client. */
export interface PlatformTlsOptions {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly serverName?: string;
  readonly insecureSkipVerify?: boolean;
}

/** `http://host:port`, `https://host:port`, or `host:port` (http) as a URL; throws on anything else. */
export function parsePlatformAddress(address: string, platform: string): URL {
  const withScheme = /^[a-z]+:\/\//i.test(address) ? address : `http://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`${platform}: invalid address "${address}" (expected http://host:port or https://host:port)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${platform}: unsupported scheme in "${address}" (use http:// or https://)`);
  }
  return url;
}

/** A keep-alive agent for `baseUrl`: HTTPS with the CA / client certificate / server name of `tls`, else plain HTTP. */
export function createPlatformAgent(baseUrl: URL, tls: PlatformTlsOptions | undefined, platform: string): HttpAgent | HttpsAgent {
  if (baseUrl.protocol !== 'https:') return new HttpAgent({ keepAlive: true });
  const t = tls ?? {};
  return new HttpsAgent({
    keepAlive: true,
    ...(t.caFile ? { ca: readPemFile(t.caFile, 'CA file', platform) } : {}),
    ...(t.certFile ? { cert: readPemFile(t.certFile, 'client certificate', platform) } : {}),
    ...(t.keyFile ? { key: readPemFile(t.keyFile, 'client key', platform) } : {}),
    ...(t.serverName ? { servername: t.serverName } : {}),
    rejectUnauthorized: !t.insecureSkipVerify,
  });
}

export function readPemFile(file: string, what: string, platform: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${platform}: cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

/** The token in `file` (trimmed), undefined when empty; throws when it cannot be read. */
export function readTokenFileSync(file: string, platform: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (err) {
    throw new Error(`${platform}: cannot read token file ${file}: ${(err as Error).message}`);
  }
}

/** A raft index header (`X-Consul-Index`, `X-Nomad-Index`); undefined when absent or not a number. */
export function parseIndexHeader(v: string | string[] | undefined): number | undefined {
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** `Retry-After` (seconds) as `{ retryAfterMs }`, or `{}`. */
export function retryAfterHeader(res: IncomingMessage): { retryAfterMs?: number } {
  const v = res.headers['retry-after'];
  if (typeof v !== 'string') return {};
  const secs = Number(v);
  return Number.isFinite(secs) && secs >= 0 ? { retryAfterMs: secs * 1000 } : {};
}

/** The whole body as text, gunzipped when gzip-encoded; rejects past `maxBytes` or when cut mid-body. */
export function readResponseBody(res: IncomingMessage, maxBytes: number = MAX_RESPONSE_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        res.destroy();
        reject(new Error(`response larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
    res.on('aborted', () => reject(new Error('connection closed mid-response')));
  });
}

/** A socket error in operator terms (`product`: `Consul`, `Nomad`). */
export function describeNetworkError(err: NodeJS.ErrnoException, address: string, product: string): string {
  if (err.code === 'ECONNREFUSED') return `connection refused by ${address} (is ${product} running?)`;
  if (err.code === 'ECONNRESET') return `connection reset by ${address}`;
  if (err.code === 'ENOTFOUND') return `cannot resolve ${address}`;
  return err.message || String(err.code ?? err);
}

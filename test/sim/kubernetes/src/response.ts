import type { ServerResponse } from 'node:http';
import type { ApiError } from './errors.js';

/**
 * Ordered output to one HTTP response, optionally dribbled (small pieces, slowly) to
 * exercise clients' reassembly of JSON split across chunks and their read timeouts.
 */
export class Output {
  private readonly queue: (string | null)[] = [];
  private pumping = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly res: ServerResponse,
    private readonly chunkDelayMs = 0,
    private readonly chunkBytes = 16,
  ) {
    res.once('close', () => clearTimeout(this.timer));
  }

  /** The client went away (or the socket was destroyed). */
  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  write(text: string): void {
    if (this.closed) return;
    if (this.chunkDelayMs <= 0) {
      this.res.write(text);
      return;
    }
    for (let i = 0; i < text.length; i += this.chunkBytes) this.queue.push(text.slice(i, i + this.chunkBytes));
    this.pump();
  }

  end(): void {
    if (this.closed) return;
    if (this.chunkDelayMs <= 0) {
      this.res.end();
      return;
    }
    this.queue.push(null);
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    const next = () => {
      if (this.closed) return;
      const piece = this.queue.shift();
      if (piece === undefined) {
        this.pumping = false;
        return;
      }
      if (piece === null) {
        this.res.end();
        return;
      }
      this.res.write(piece);
      this.timer = setTimeout(next, this.chunkDelayMs);
    };
    this.pumping = true;
    next();
  }
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' };

/** A complete JSON response. With a chunk delay, the body goes out in pieces (no Content-Length). */
export function sendJson(res: ServerResponse, code: number, body: unknown, opts: { headers?: Record<string, string>; chunkDelayMs?: number } = {}): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body) + '\n';
  if (opts.chunkDelayMs && opts.chunkDelayMs > 0) {
    res.writeHead(code, { ...JSON_HEADERS, ...opts.headers });
    const out = new Output(res, opts.chunkDelayMs);
    out.write(text);
    out.end();
    return;
  }
  res.writeHead(code, { ...JSON_HEADERS, 'Content-Length': String(Buffer.byteLength(text)), ...opts.headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError, chunkDelayMs = 0): void {
  sendJson(res, err.code, err.status(), { headers: err.headers, chunkDelayMs });
}

/** Starts a watch stream: 200, chunked JSON, headers flushed before the first event. */
export function startStream(res: ServerResponse): void {
  res.writeHead(200, { ...JSON_HEADERS, 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
}

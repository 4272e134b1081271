import { contentHash } from '../util/hash.js';
import { backoffDelay, sleep, type TokenBucket } from './token-bucket.js';

/**
 * The answer of one read of a raft-indexed HTTP API (Consul, Nomad): the index header
 * (`X-Consul-Index`, `X-Nomad-Index`; undefined when absent or not a number) and the
 * body text, whose hash decides whether anything changed.
 */
export interface BlockingResponse {
  readonly index: number | undefined;
  readonly body: string;
}

/** A failed read, as a platform client reports it. */
export interface BlockingQueryError extends Error {
  /** The HTTP status, when the platform answered. */
  readonly status?: number;
  /** From `Retry-After`: the loop waits at least this long before the next attempt. */
  readonly retryAfterMs?: number;
}

/** Tunables of one blocking-query loop (adapters keep their defaults, with their reasons). */
export interface BlockingQueryTuning {
  /** `wait` of blocking reads: how long the server holds a read open when nothing changes. */
  readonly waitMs: number;
  /** Added to wait + wait/16 (the server's jitter) for the client-side timeout of a blocking read. */
  readonly timeoutMarginMs: number;
  /** Timeout of a non-blocking read (the first read, and reads after a reset or kick). */
  readonly requestTimeoutMs: number;
  /** Retry after an error: base * 2^(n-1), capped, with jitter (50–100% of the delay). */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

/** What the loop asks its platform client to do. */
export interface BlockingRead {
  /** 0: a non-blocking read. Otherwise block until the result's index exceeds it, or `waitMs` passes. */
  readonly index: number;
  readonly waitMs: number;
  /** The client must give up after this long (a hung server is a failure, not a wait). */
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** What a blocking query reports besides values. */
export interface BlockingQueryEvents<T, R extends BlockingResponse, E extends BlockingQueryError> {
  /** Every successful read, changed or not, before `onValue` (what the platform showed, and when). */
  onRead?(value: T, response: R): void;
  /** A new value: the first read, or a read whose index moved and whose body changed. */
  onValue(value: T, response: R): void;
  /** A failed read; `consecutive` counts failures since the last success. */
  onError(error: E, consecutive: number): void;
  /** The first successful read after failures (called after `onValue`, if any). */
  onRecovered?(): void;
  /** The index went backwards (snapshot restore, KV delete, upgrade): the query starts over from 0. */
  onIndexReset?(from: number, to: number): void;
  /** The answer had no usable index (absent or 0): it is read as 1. */
  onBadIndex?(raw: number | undefined): void;
}

export interface BlockingQueryOptions<T, R extends BlockingResponse, E extends BlockingQueryError> {
  /** Performs one read; resolves with any HTTP answer the decoder should see, rejects without one. */
  readonly read: (read: BlockingRead) => Promise<R>;
  /** Turns an answer into a value; throws (an `E`, or anything `toError` maps) when it is not one. */
  readonly decode: (response: R) => T;
  /** Normalises whatever `read` or `decode` threw. */
  readonly toError: (err: unknown) => E;
  /** Runs after a failure is reported and before the backoff (e.g. re-read a token file after a 403). */
  readonly afterError?: (error: E) => unknown;
  readonly tuning: BlockingQueryTuning;
  /** This query's own bucket. */
  readonly bucket: TokenBucket;
  /** The bucket shared by every query of an adapter. */
  readonly shared?: TokenBucket;
  readonly events: BlockingQueryEvents<T, R, E>;
  readonly random?: () => number;
}

/**
 * One blocking query, kept running: the documented client rules of Consul's and Nomad's
 * blocking queries (Consul api-docs/features/blocking; Nomad uses the same raft-index
 * model) in one place.
 * - The first read has no index (non-blocking); later reads send the last index and `wait`.
 * - An index that goes backwards resets the query to 0; an index below 1 is read as 1.
 * - An unchanged index is not a change, nor is a new index with the same body.
 * - Every request takes a token from a per-query and a shared token bucket, so neither
 *   churn nor a fault (index 0, instant errors) can make the loop hot.
 * - Errors are retried with exponential backoff and jitter (or `Retry-After`), forever;
 *   the read after a failure does not block, so recovery is seen without waiting for a change.
 * - The client-side timeout exceeds wait + wait/16 (the server's jitter) by a margin.
 * - `kick()` makes the next read non-blocking and immediate (still paced by the buckets):
 *   a hint from elsewhere (an event stream that reconnected) that the data may have moved.
 */
export class BlockingQuery<T, R extends BlockingResponse, E extends BlockingQueryError> {
  private index = 0;
  private lastBody: string | undefined;
  private failures = 0;
  private readonly abort = new AbortController();
  /** Aborts the current read or backoff when kicked; replaced every iteration. */
  private step: AbortController | undefined;
  private stepBlocking = false;
  private kicked = false;
  private running: Promise<void> | undefined;

  constructor(private readonly q: BlockingQueryOptions<T, R, E>) {}

  /** The index the next read blocks on (0: non-blocking). */
  get currentIndex(): number {
    return this.index;
  }

  get failing(): boolean {
    return this.failures > 0;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops the loop and aborts the request in flight. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /**
   * Re-read now without blocking: cuts a blocking read or a backoff short. A non-blocking
   * read in flight is left to finish and followed by another one.
   */
  kick(): void {
    if (this.abort.signal.aborted) return;
    this.kicked = true;
    if (this.stepBlocking || this.failures > 0) this.step?.abort();
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    const { tuning } = this.q;
    while (!signal.aborted) {
      if (!(await this.q.bucket.take(signal))) return;
      if (this.q.shared && !(await this.q.shared.take(signal))) return;
      const step = new AbortController();
      const onAbort = () => step.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.step = step;
      // After a failure, read without blocking: a blocking read on the old index would only
      // notice the platform's recovery when the wait expires.
      const blocking = this.index > 0 && !this.kicked && this.failures === 0;
      this.kicked = false;
      this.stepBlocking = blocking;
      try {
        let response: R;
        let value: T;
        try {
          response = await this.q.read({
            index: blocking ? this.index : 0,
            waitMs: tuning.waitMs,
            timeoutMs: blocking ? tuning.waitMs + tuning.waitMs / 16 + tuning.timeoutMarginMs : tuning.requestTimeoutMs,
            signal: step.signal,
          });
          value = this.q.decode(response);
        } catch (err) {
          if (signal.aborted) return;
          if (step.signal.aborted) continue; // kicked: read again at once, not a failure
          const error = this.q.toError(err);
          this.failures++;
          this.q.events.onError(error, this.failures);
          await this.q.afterError?.(error);
          const delay = Math.max(backoffDelay(this.failures, tuning.backoffBaseMs, tuning.backoffMaxMs, this.q.random), error.retryAfterMs ?? 0);
          // The next read does not block: a platform that is back is noticed at once,
          // even when nothing changed while it was away.
          this.kicked = true;
          this.stepBlocking = false;
          await sleep(delay, step.signal);
          if (signal.aborted) return;
          continue;
        }
        if (signal.aborted) return;
        this.accept(response, value);
        if (this.failures > 0) {
          this.failures = 0;
          this.q.events.onRecovered?.();
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
        this.stepBlocking = false;
      }
    }
  }

  private accept(response: R, value: T): void {
    this.q.events.onRead?.(value, response);
    const raw = response.index;
    let next = raw ?? 0;
    if (next < 1) {
      this.q.events.onBadIndex?.(raw);
      next = 1;
    }
    let changed: boolean;
    if (next < this.index) {
      this.q.events.onIndexReset?.(this.index, next);
      this.index = 0;
      changed = true;
    } else {
      changed = next > this.index || raw === undefined || raw < 1;
      this.index = next;
    }
    if (!changed) return;
    const body = contentHash(response.body);
    if (body === this.lastBody) return;
    this.lastBody = body;
    this.q.events.onValue(value, response);
  }
}

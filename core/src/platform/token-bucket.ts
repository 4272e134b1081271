/** Token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface RateLimit {
  readonly burst: number;
  readonly perSecond: number;
}

/**
 * A token bucket with reservations (golang.org/x/time/rate's `Reserve`): taking a token
 * never fails, it returns how long to wait for it. Tokens may go negative, so many waiters
 * queue in order without polling. `now` is injectable for tests.
 *
 * Platform adapters pace every watch loop with one (Consul's "rate-limit the loop, burst
 * 2" rule, which Nomad's identical raft-index model shares), so neither churn nor a
 * fault that answers instantly can make a loop hot.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(limit.burst >= 1) || !(limit.perSecond > 0)) throw new Error(`invalid rate limit: burst ${limit.burst}, ${limit.perSecond}/s`);
    this.tokens = limit.burst;
    this.last = this.now();
  }

  /** Takes one token; returns the milliseconds to wait before using it (0 = now). */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.limit.perSecond) * 1000;
  }

  /** Gives back a reserved token that was not used (the waiter was cancelled). */
  cancel(): void {
    this.refill();
    this.tokens = Math.min(this.limit.burst, this.tokens + 1);
  }

  /** Waits for a token. False when `signal` aborted first (the token is returned). */
  async take(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    const delay = this.reserve();
    if (delay === 0) return true;
    const ok = await sleep(delay, signal);
    if (!ok) this.cancel();
    return ok;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.last) / 1000) * this.limit.perSecond);
    this.last = t;
  }
}

/** Exponential backoff with jitter: base·2^(attempt−1), capped at max, then 50–100% of that. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return exp * (0.5 + random() * 0.5);
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

import { describe, expect, it } from 'vitest';
import { TokenBucket, backoffDelay, sleep } from '../src/rate-limit.js';

describe('TokenBucket', () => {
  it('allows a burst, then one request per refill interval', () => {
    let now = 0;
    const b = new TokenBucket({ burst: 2, perSecond: 1 }, () => now);
    expect(b.reserve()).toBe(0);
    expect(b.reserve()).toBe(0);
    expect(b.reserve()).toBeCloseTo(1000);
    // Reservations queue: the next one waits behind the previous.
    expect(b.reserve()).toBeCloseTo(2000);
    now = 5000;
    // Refilled, but never above the burst.
    expect(b.reserve()).toBe(0);
    expect(b.reserve()).toBe(0);
    expect(b.reserve()).toBeGreaterThan(0);
  });

  it('gives a cancelled reservation back', () => {
    const now = 0;
    const b = new TokenBucket({ burst: 1, perSecond: 1 }, () => now);
    expect(b.reserve()).toBe(0);
    expect(b.reserve()).toBeCloseTo(1000);
    b.cancel();
    expect(b.reserve()).toBeCloseTo(1000);
  });

  it('returns false from take() when aborted while waiting', async () => {
    const b = new TokenBucket({ burst: 1, perSecond: 0.001 });
    expect(await b.take()).toBe(true);
    const ac = new AbortController();
    const pending = b.take(ac.signal);
    ac.abort();
    expect(await pending).toBe(false);
  });

  it('rejects a limit that could never grant a request', () => {
    expect(() => new TokenBucket({ burst: 0, perSecond: 1 })).toThrow(/invalid rate limit/);
    expect(() => new TokenBucket({ burst: 1, perSecond: 0 })).toThrow(/invalid rate limit/);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base, caps at the maximum and jitters between 50% and 100%', () => {
    expect(backoffDelay(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(4, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(4, 100, 10_000, () => 0)).toBe(400);
    expect(backoffDelay(40, 100, 10_000, () => 1)).toBe(10_000);
  });
});

describe('sleep', () => {
  it('resolves false at once when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await sleep(60_000, ac.signal)).toBe(false);
  });
});

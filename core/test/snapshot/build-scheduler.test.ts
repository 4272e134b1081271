import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BuildScheduler, buildDueAt, type BuildPolicy } from '@isthmus/core';

const policy: BuildPolicy = { quietMs: 100, maxDelayMs: 1000, endpointIntervalMs: 100 };

describe('buildDueAt (the build policy)', () => {
  it.each([
    // [what, pending, last build ended at, due]
    ['endpoints, idle since long: at once (leading edge)', { firstAt: 5000 }, 1000, 5000],
    ['endpoints, never built: at once', { firstAt: 5000 }, undefined, 5000],
    ['endpoints, built 30 ms ago: when the interval is over', { firstAt: 5000 }, 4970, 5070],
    ['endpoints, pending since before the last build: interval from that build', { firstAt: 4900 }, 4950, 5050],
    ['config: after the quiet period', { firstAt: 5000, lastConfigAt: 5000 }, 4990, 5100],
    ['config that keeps coming: quiet period from the last one', { firstAt: 5000, lastConfigAt: 5400 }, 4000, 5500],
    ['config that never stops: no later than the max delay', { firstAt: 5000, lastConfigAt: 5950 }, 4000, 6000],
    ['endpoints joined by config: the config rule for the batch', { firstAt: 5000, lastConfigAt: 5020 }, 1000, 5120],
  ] as const)('%s', (_what, pending, last, due) => {
    expect(buildDueAt(pending, last, policy)).toBe(due);
  });

  it('endpoint throttle never exceeds the max delay', () => {
    expect(buildDueAt({ firstAt: 0 }, 5, { quietMs: 100, maxDelayMs: 50, endpointIntervalMs: 100 })).toBe(50);
  });
});

describe('BuildScheduler', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function scheduler() {
    const builds: number[] = [];
    const s = new BuildScheduler(() => builds.push(Date.now()), policy, () => Date.now());
    return { s, builds };
  }

  it('continuous endpoint churn (one change every 33 ms): a build every ~100 ms, none waits the max delay', () => {
    const { s, builds } = scheduler();
    const start = Date.now();
    for (let i = 0; i < 30; i++) {
      s.trigger('endpoints');
      vi.advanceTimersByTime(33);
    }
    vi.advanceTimersByTime(200);
    const at = builds.map((t) => t - start);
    expect(at[0]).toBe(0); // leading edge
    expect(at.length).toBeGreaterThanOrEqual(9);
    expect(at.length).toBeLessThanOrEqual(11);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(100);
    // Every change was built within one interval (+ one trigger period) of arriving.
    for (let i = 0; i < 30; i++) {
      const t = i * 33;
      expect(at.find((b) => b >= t)! - t).toBeLessThanOrEqual(133);
    }
  });

  it('continuous config churn still waits for quiet, up to the max delay (config is never split early)', () => {
    const { s, builds } = scheduler();
    const start = Date.now();
    for (let i = 0; i < 40; i++) {
      s.trigger('config');
      vi.advanceTimersByTime(33);
    }
    expect(builds.map((t) => t - start)).toEqual([1000]);
  });

  it('a config burst is built once, 100 ms after its last config change (endpoints joining it do not extend it)', () => {
    const { s, builds } = scheduler();
    const start = Date.now();
    s.trigger('config');
    vi.advanceTimersByTime(20);
    s.trigger('config');
    vi.advanceTimersByTime(20);
    s.trigger('endpoints');
    vi.advanceTimersByTime(500);
    expect(builds.map((t) => t - start)).toEqual([120]);
  });

  it('a synchronous burst of endpoint changes is one build', () => {
    const { s, builds } = scheduler();
    for (let i = 0; i < 5; i++) s.trigger('endpoints');
    vi.advanceTimersByTime(0);
    expect(builds).toHaveLength(1);
  });

  it('flush builds now; cancel drops what is pending', () => {
    const { s, builds } = scheduler();
    s.trigger('config');
    s.flush();
    expect(builds).toHaveLength(1);
    s.trigger('config');
    s.cancel();
    vi.advanceTimersByTime(2000);
    expect(builds).toHaveLength(1);
  });
});

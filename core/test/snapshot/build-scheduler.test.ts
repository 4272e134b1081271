import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { budgetAfter, budgetAt, BuildScheduler, buildDueAt, type BuildPolicy } from '@isthmus/core';

/**
 * An interval-only policy (share 1: no pacing by cost, every config change debounced, as
 * Istio does) and the default cost-paced one (config on a quiet mesh built at once).
 */
const policy: BuildPolicy = { quietMs: 100, maxDelayMs: 1000, endpointIntervalMs: 100, endpointBuildShare: 1, configLeadingEdge: false };
const paced: BuildPolicy = { quietMs: 100, maxDelayMs: 1000, endpointIntervalMs: 0, endpointBuildShare: 0.25 };
const ended = (endedAt: number | undefined) => (endedAt === undefined ? undefined : { endedAt, budgetMs: 0 });

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
    ['config on a quiet mesh: at once', { firstAt: 5000, lastConfigAt: 5000, leading: true }, 4990, 5000],
    ['endpoints waiting for the budget, joined by leading config: at once', { firstAt: 4990, lastConfigAt: 5000, leading: true }, 4980, 4990],
  ] as const)('%s', (_what, pending, last, due) => {
    expect(buildDueAt(pending, ended(last), policy)).toBe(due);
  });

  it('endpoint throttle never exceeds the max delay', () => {
    expect(buildDueAt({ firstAt: 0 }, ended(5), { quietMs: 100, maxDelayMs: 50, endpointIntervalMs: 100, endpointBuildShare: 1 })).toBe(50);
  });

  it('paced by cost: builds run at once while the build-time budget lasts', () => {
    // 25 % of a 200 ms window: 50 ms of build time saved up at most.
    expect(budgetAt(undefined, 0, paced)).toBe(50);
    const after2 = budgetAfter(undefined, 5000, 5002, paced);
    expect(after2.budgetMs).toBe(48.5); // 2 ms spent, 0.5 ms refilled meanwhile
    expect(buildDueAt({ firstAt: 5003 }, after2, paced)).toBe(5003);
    // It refills at 0.25 ms per ms, up to the cap.
    expect(budgetAt(after2, 5006, paced)).toBe(49.5);
    expect(budgetAt(after2, 9000, paced)).toBe(50);
  });

  it.each([
    // [budget left after the last build (ms), wait after it]
    [10, 0],
    [0, 0],
    [-1.5, 6],
    [-30, 120],
  ])('an overspent budget waits until refilled: %s ms left → due %s ms after the build', (budgetMs, wait) => {
    expect(buildDueAt({ firstAt: 5000 }, { endedAt: 5000, budgetMs }, paced)).toBe(5000 + wait);
  });

  it('the interval is a floor under the pacing; the max delay a ceiling', () => {
    expect(buildDueAt({ firstAt: 5000 }, { endedAt: 5000, budgetMs: 40 }, { ...paced, endpointIntervalMs: 50 })).toBe(5050);
    expect(buildDueAt({ firstAt: 5000 }, { endedAt: 5000, budgetMs: -1000 }, paced)).toBe(6000);
  });
});

describe('BuildScheduler', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function scheduler(p: BuildPolicy = policy, buildMs = 0) {
    const builds: number[] = [];
    const s = new BuildScheduler(
      () => {
        builds.push(Date.now());
        // A build that takes time (fake clock): the scheduler measures it.
        vi.setSystemTime(Date.now() + buildMs);
      },
      p,
      () => Date.now(),
    );
    return { s, builds };
  }

  it('cheap builds at 30 changes/s, some in quick pairs: every endpoint change is built at once', () => {
    const { s, builds } = scheduler(paced, 2);
    const start = Date.now();
    const changes: number[] = [];
    for (let i = 0; i < 30; i++) {
      changes.push(Date.now() - start);
      s.trigger('endpoints');
      vi.advanceTimersByTime(i % 3 === 0 ? 3 : 48);
    }
    expect(builds.map((t) => t - start)).toEqual(changes);
  });

  it('a storm of changes against costly builds coalesces: builds take at most the share', () => {
    const { s, builds } = scheduler(paced, 10);
    const start = Date.now();
    for (let i = 0; i < 1000; i++) {
      s.trigger('endpoints');
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(100);
    const elapsed = Date.now() - start;
    // 10 ms builds at a 25 % share: after the saved-up budget (50 ms of builds), one build
    // per 40 ms; not 1,000 builds.
    const buildTime = builds.length * 10;
    expect(buildTime).toBeLessThanOrEqual(0.25 * elapsed + 50 + 10);
    expect(buildTime).toBeGreaterThanOrEqual(0.25 * elapsed - 20);
    const steady = builds.slice(8);
    for (let i = 1; i < steady.length; i++) expect(steady[i]! - steady[i - 1]!).toBeGreaterThanOrEqual(40);
  });

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

  it('config on a quiet mesh is built at once; the rest of its burst waits for quiet', () => {
    const { s, builds } = scheduler(paced);
    const start = Date.now();
    s.trigger('config');
    s.trigger('config'); // the same tick: the same build
    vi.advanceTimersByTime(0);
    expect(builds.map((t) => t - start)).toEqual([0]);
    vi.advanceTimersByTime(30);
    s.trigger('config'); // 30 ms after the last: part of the burst
    vi.advanceTimersByTime(50);
    s.trigger('config'); // 80 ms: still the burst, quiet period from here
    vi.advanceTimersByTime(500);
    expect(builds.map((t) => t - start)).toEqual([0, 180]);
    // 100 ms and more after the last config change the mesh is quiet again.
    s.trigger('config');
    vi.advanceTimersByTime(0);
    expect(builds.map((t) => t - start)).toEqual([0, 180, 580]);
  });

  it('continuous config churn: the first change at once, then one build per max delay', () => {
    const { s, builds } = scheduler(paced);
    const start = Date.now();
    for (let i = 0; i < 40; i++) {
      s.trigger('config');
      vi.advanceTimersByTime(33);
    }
    vi.advanceTimersByTime(500);
    // 0: leading; 33..1032 pending → 1033; the churn goes on to 1287, quiet at 1387.
    expect(builds.map((t) => t - start)).toEqual([0, 1033, 1387]);
  });

  it('a config change right after endpoint changes is not leading if config came within the quiet period', () => {
    const { s, builds } = scheduler(paced);
    const start = Date.now();
    s.trigger('config');
    vi.advanceTimersByTime(40);
    s.trigger('endpoints'); // built at once (paced, budget left)
    vi.advanceTimersByTime(20);
    s.trigger('config'); // 60 ms after the first config change: debounced
    vi.advanceTimersByTime(500);
    expect(builds.map((t) => t - start)).toEqual([0, 40, 160]);
  });

  it('a config change that may not lead (a withdrawal, a part of a batch) waits for quiet even on a quiet mesh', () => {
    const { s, builds } = scheduler(paced);
    const start = Date.now();
    s.trigger('config', false);
    vi.advanceTimersByTime(500);
    // A leading change joined in the same tick by one that may not lead: the pair waits.
    s.trigger('config');
    s.trigger('config', false);
    vi.advanceTimersByTime(500);
    expect(builds.map((t) => t - start)).toEqual([100, 600]);
  });

  it('a synchronous burst of endpoint changes is one build', () => {
    const { s, builds } = scheduler(paced);
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

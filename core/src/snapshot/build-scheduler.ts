import { performance } from 'node:perf_hooks';

/**
 * `config`: rules or service definitions changed (a VirtualService, a new service port).
 * `endpoints`: only workloads of existing services changed (an instance moved, scaled,
 * turned unhealthy).
 */
export type ChangeKind = 'config' | 'endpoints';

/**
 * When the rules engine builds a snapshot. Two rules, because the two kinds of change
 * fail differently:
 *
 * - Config changes are debounced (Istio's PILOT_DEBOUNCE_AFTER / _MAX): built once no new
 *   config change came for `quietMs`, never later than `maxDelayMs` after the first
 *   pending change, so a burst (a controller applying many objects, a sync) costs one
 *   build. With `configLeadingEdge`, a config change on a quiet mesh — none in the last
 *   `quietMs` — is built at once (on `setImmediate`) instead of waiting out a quiet period
 *   nobody breaks; what follows it within `quietMs` is the rest of a burst and is
 *   debounced. A part put on the bus keeps the whole config valid (ConfigStore refuses a
 *   VirtualService until the subsets it routes to exist), so building it alone pushes no
 *   half-way config; the changes that could leave one — a part withdrawn, a part written
 *   as one of several by one `isthmus apply` (`ConfigMessage.batch`) — never lead
 *   (docs/decisions/007-config-changes-on-a-quiet-mesh-at-once.md).
 * - Endpoint-only changes are paced by what building costs instead: built at once while
 *   endpoint builds have taken less than `endpointBuildShare` of the recent time, else as
 *   soon as they are back under it. A budget of build time refills at `share` ms per ms
 *   (up to `share × BURST_WINDOW_MS`); every build (with the push it triggers) spends its
 *   duration; when the budget is spent, the next build waits until it is refilled. With
 *   the default share of 0.25, builds that cost O(change) (1–3 ms at 2,000 proxies) run at
 *   once even when changes come in quick pairs, while under a storm builds take at most a
 *   quarter of the process and everything they could not start on batches into the next.
 *   `endpointIntervalMs` (default 0) adds a fixed least time between builds. Each registry
 *   update is a source's complete, consistent state, so there is nothing to wait for; under
 *   continuous churn a debounce would make every change wait the whole `maxDelayMs`.
 *   Istio's PILOT_ENABLE_EDS_DEBOUNCE=false takes EDS out of the debounce the same way,
 *   without a bound.
 *
 * A config change pending together with endpoint changes makes the config rule apply to
 * the whole batch (the config must not be split), so those endpoints may wait up to
 * `maxDelayMs`, as before. No change ever waits longer than `maxDelayMs`.
 */
export interface BuildPolicy {
  readonly quietMs: number;
  readonly maxDelayMs: number;
  /** Least time between the end of a build and an endpoint-only build (0: none). */
  readonly endpointIntervalMs: number;
  /** Largest share of time endpoint-only builds may take (0 < share ≤ 1; 1: no pacing beyond the interval). */
  readonly endpointBuildShare: number;
  /** Build a config change at once when no other came in the last `quietMs` (default true). */
  readonly configLeadingEdge?: boolean;
}

/** The wall time over which the build-time budget may be saved up for a burst (ms). */
export const BURST_WINDOW_MS = 200;

/**
 * What is waiting to be built: since when, and when the last config change came (none:
 * endpoints only); `leading`: its config changes started on a quiet mesh and are built at once.
 */
export interface Pending {
  readonly firstAt: number;
  readonly lastConfigAt?: number;
  readonly leading?: boolean;
}

/** The previous build: when it ended and the build-time budget left then (ms; negative: overspent). */
export interface LastBuild {
  readonly endedAt: number;
  readonly budgetMs: number;
}

function share(policy: BuildPolicy): number {
  return Math.min(1, Math.max(policy.endpointBuildShare, 0.01));
}

/** The build-time budget at `at`: what was left after the last build, refilled since, capped. */
export function budgetAt(last: LastBuild | undefined, at: number, policy: BuildPolicy): number {
  const cap = share(policy) * BURST_WINDOW_MS;
  if (!last) return cap;
  return Math.min(cap, last.budgetMs + Math.max(0, at - last.endedAt) * share(policy));
}

/** The budget after a build that ran from `startedAt` to `endedAt` (it refills at `share` meanwhile). */
export function budgetAfter(last: LastBuild | undefined, startedAt: number, endedAt: number, policy: BuildPolicy): LastBuild {
  const took = Math.max(0, endedAt - startedAt);
  return { endedAt, budgetMs: budgetAt(last, startedAt, policy) - took * (1 - share(policy)) };
}

/** The time (same clock as the arguments) at which `pending` should be built. */
export function buildDueAt(pending: Pending, last: LastBuild | undefined, policy: BuildPolicy): number {
  const latest = pending.firstAt + policy.maxDelayMs;
  if (pending.leading) return Math.min(pending.firstAt, latest);
  if (pending.lastConfigAt !== undefined) return Math.min(pending.lastConfigAt + policy.quietMs, latest);
  if (!last) return Math.min(pending.firstAt, latest);
  const refilled = last.budgetMs >= 0 ? last.endedAt : last.endedAt - last.budgetMs / share(policy);
  return Math.min(Math.max(pending.firstAt, refilled, last.endedAt + policy.endpointIntervalMs), latest);
}

/**
 * Runs `build` according to the BuildPolicy. The pacing counts from the end of the
 * previous build, so a slow build lowers the build rate instead of piling up.
 */
export class BuildScheduler {
  private pending: Pending | undefined;
  private last: LastBuild | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private timerDue = 0;
  /** When the last config change came (across builds): a config change is leading if none came in `quietMs`. */
  private lastConfigChangeAt: number | undefined;

  constructor(
    private readonly build: () => void,
    private readonly policy: BuildPolicy,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * A change of `kind` arrived. `mayLead: false` keeps a config change out of the leading
   * edge (a withdrawal, or one part of several written together, may leave the config
   * half-way until the rest arrives).
   */
  trigger(kind: ChangeKind, mayLead = true): void {
    const t = this.now();
    const p = this.pending ?? { firstAt: t };
    if (kind === 'config') {
      // Config already pending keeps its rule; otherwise it leads if the mesh was quiet.
      const quiet = this.lastConfigChangeAt === undefined || t - this.lastConfigChangeAt >= this.policy.quietMs;
      const leading = p.lastConfigAt === undefined ? (this.policy.configLeadingEdge ?? true) && quiet && mayLead : p.leading && mayLead;
      this.pending = { firstAt: p.firstAt, lastConfigAt: t, ...(leading ? { leading } : {}) };
      this.lastConfigChangeAt = t;
    } else {
      this.pending = p;
    }
    const due = buildDueAt(this.pending, this.last, this.policy);
    if ((this.timer || this.immediate) && this.timerDue === due) return;
    if (this.immediate && due <= t) return;
    this.clearTimers();
    this.timerDue = due;
    // Even a build due now waits for the current round of I/O callbacks: a burst of
    // changes that arrived together is one build (setImmediate, not a 1 ms timer).
    if (due <= t) this.immediate = setImmediate(() => this.fire());
    else this.timer = setTimeout(() => this.fire(), due - t);
  }

/** Builds now if anything is pending. */
  flush(): void {
    if (this.pending) this.fire();
  }

  cancel(): void {
    this.clearTimers();
    this.pending = undefined;
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private fire(): void {
    this.cancel();
    const started = this.now();
    try {
      this.build();
    } finally {
      this.last = budgetAfter(this.last, started, this.now(), this.policy);
    }
  }
}

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
 *   pending change. An `apply` of several related objects (a VirtualService and the
 *   DestinationRule with its subsets) arrives as a burst; building in the middle of it
 *   would push a half-applied config.
 * - Endpoint-only changes are throttled instead: built on the leading edge (at once when
 *   the last build is at least `endpointIntervalMs` old), else right when that interval
 *   is over. Each registry update is a source's complete, consistent state, so there is
 *   nothing to wait for; under continuous churn (30 changes/s never leave a 100 ms quiet
 *   period) a debounce would make every change wait the whole `maxDelayMs`, while a
 *   throttle bounds both the wait and the build rate (≤ 1000/endpointIntervalMs per s).
 *   Istio's PILOT_ENABLE_EDS_DEBOUNCE=false takes EDS out of the debounce the same way,
 *   without the bound.
 *
 * A config change pending together with endpoint changes makes the config rule apply to
 * the whole batch (the config must not be split), so those endpoints may wait up to
 * `maxDelayMs`, as before.
 */
export interface BuildPolicy {
  readonly quietMs: number;
  readonly maxDelayMs: number;
  readonly endpointIntervalMs: number;
}

/** What is waiting to be built: since when, and when the last config change came (none: endpoints only). */
export interface Pending {
  readonly firstAt: number;
  readonly lastConfigAt?: number;
}

/** The time (same clock as the arguments) at which `pending` should be built. */
export function buildDueAt(pending: Pending, lastBuildEndedAt: number | undefined, policy: BuildPolicy): number {
  const latest = pending.firstAt + policy.maxDelayMs;
  if (pending.lastConfigAt !== undefined) return Math.min(pending.lastConfigAt + policy.quietMs, latest);
  const throttled = lastBuildEndedAt === undefined ? pending.firstAt : Math.max(pending.firstAt, lastBuildEndedAt + policy.endpointIntervalMs);
  return Math.min(throttled, latest);
}

/**
 * Runs `build` according to the BuildPolicy. The interval counts from the end of the
 * previous build, so a slow build lowers the build rate instead of piling up.
 */
export class BuildScheduler {
  private pending: Pending | undefined;
  private lastBuildEndedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;

  constructor(
    private readonly build: () => void,
    private readonly policy: BuildPolicy,
    private readonly now: () => number = () => performance.now(),
  ) {}

  trigger(kind: ChangeKind): void {
    const t = this.now();
    const p = this.pending ?? { firstAt: t };
    this.pending = kind === 'config' ? { ...p, lastConfigAt: t } : p;
    const due = buildDueAt(this.pending, this.lastBuildEndedAt, this.policy);
    if (this.timer && this.timerDue === due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    // Even a build due now waits for the current task: a synchronous burst is one build.
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - t));
  }

  /** Builds now if anything is pending. */
  flush(): void {
    if (this.pending) this.fire();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private fire(): void {
    this.cancel();
    try {
      this.build();
    } finally {
      this.lastBuildEndedAt = this.now();
    }
  }
}

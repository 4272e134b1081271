import type { RegistryShard, RegistrySink, Workload } from '@isthmus/core';
import type { NomadTuning } from '../src/options.js';

/** Short waits, timeouts, backoff and intervals so tests run fast; the logic is that of the defaults. */
export const FAST: NomadTuning = {
  waitMs: 20_000,
  timeoutMarginMs: 300,
  requestTimeoutMs: 1000,
  perWatchRate: { burst: 2, perSecond: 20 },
  globalRate: { burst: 100, perSecond: 100 },
  backoffBaseMs: 20,
  backoffMaxMs: 200,
  streamIdleTimeoutMs: 1000,
  streamRate: { burst: 2, perSecond: 10 },
  checkIntervalMs: 100,
  checkRate: { burst: 50, perSecond: 100 },
  checkConcurrency: 8,
  staleReportIntervalMs: 100,
};

export { captureLogger, eventually, type LogLine } from '../../../test/support/adapter-helpers.js';

/** A sink that keeps every call. */
export class Sink implements RegistrySink {
  readonly shards: RegistryShard[] = [];
  readonly stale: string[] = [];
  /** `replace` or `stale`, in order. */
  readonly calls: ('replace' | 'stale')[] = [];

  replace(shard: RegistryShard): void {
    this.shards.push(shard);
    this.calls.push('replace');
  }

  markStale(error: string): void {
    this.stale.push(error);
    this.calls.push('stale');
  }

  get last(): RegistryShard | undefined {
    return this.shards.at(-1);
  }

  get isStale(): boolean {
    return this.calls.at(-1) === 'stale';
  }

  workloads(host?: string): Workload[] {
    return [...(this.last?.workloads ?? [])].filter((w) => !host || w.hostname === host).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Ports of the workloads of `host`, sorted (one port per registration in these tests). */
  ports(host?: string): number[] {
    return this.workloads(host)
      .flatMap((w) => Object.values(w.ports))
      .sort((a, b) => a - b);
  }
}

import type { Logger, RegistryShard, RegistrySink, Workload } from '@isthmus/core';
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

/** Polls `cond` until it holds (returns its value) or fails after `timeoutMs`. */
export async function eventually<T>(what: string, cond: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

/** A Logger that keeps every line, to check what operators are told. */
export function captureLogger(lines: LogLine[] = []): Logger & { lines: LogLine[] } {
  const make = (bindings: Record<string, unknown>): Logger & { lines: LogLine[] } => {
    const at = (level: string) => (obj: object, msg = '') => {
      lines.push({ level, obj: { ...bindings, ...(obj as Record<string, unknown>) }, msg });
    };
    return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => make({ ...bindings, ...b }) };
  };
  return make({});
}

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

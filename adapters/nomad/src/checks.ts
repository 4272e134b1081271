import { setMaxListeners } from 'node:events';
import type { TokenBucket } from '@isthmus/core';
import { NomadRequestError, type NomadClient } from './nomad-client.js';
import { decodeChecks, type CheckResult } from './nomad-types.js';
import type { NomadTuning } from './options.js';

interface AllocChecks {
  readonly namespace: string;
  /** Last results read; undefined until a read succeeded. */
  checks: CheckResult[] | undefined;
  /** A read was attempted (succeeded or not): the allocation's health is decided. */
  attempted: boolean;
  due: number;
  inFlight: boolean;
  /** Consecutive failures, to back off this allocation only. */
  failures: number;
}

export interface CheckPollerEvents {
  /** An allocation's checks were read for the first time, or their statuses changed. */
  onChange(allocId: string): void;
  /** Every read, for metrics and logs. */
  onRead(allocId: string, outcome: string, error?: NomadRequestError): void;
}

export interface CheckPollerOptions {
  readonly client: NomadClient;
  readonly tuning: NomadTuning;
  readonly bucket: TokenBucket;
  readonly events: CheckPollerEvents;
}

/**
 * Polls `GET /v1/client/allocation/<id>/checks` for the allocations behind the watched
 * registrations. Nomad's catalog has no health (nomad#15603) and check results cannot be
 * watched, only read from each allocation's client node, so this is a bounded poll: new
 * allocations first, then each every `checkIntervalMs`, at most `checkConcurrency` reads
 * at once and `checkRate` reads a second. A read that fails keeps the last results (an
 * unreachable client node says nothing about the allocation); an allocation never read
 * successfully counts as placed.
 */
export class CheckPoller {
  private readonly allocs = new Map<string, AllocChecks>();
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private inFlight = 0;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly o: CheckPollerOptions) {
    // Every read in flight listens on the one stop signal.
    setMaxListeners(Math.max(10, o.tuning.checkConcurrency + 10), this.abort.signal);
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake();
    await this.running;
  }

  /** The allocations to follow (alloc ID → namespace); others are forgotten. */
  track(allocs: ReadonlyMap<string, string>): void {
    let added = false;
    for (const [id, namespace] of allocs) {
      if (this.allocs.has(id)) continue;
      this.allocs.set(id, { namespace, checks: undefined, attempted: false, due: 0, inFlight: false, failures: 0 });
      added = true;
    }
    for (const id of [...this.allocs.keys()]) if (!allocs.has(id)) this.allocs.delete(id);
    if (added) this.wake();
  }

  /** The last check results of an allocation (undefined: never read). */
  checksOf(allocId: string): readonly CheckResult[] | undefined {
    return this.allocs.get(allocId)?.checks;
  }

  /** True once a read of the allocation's checks was attempted. */
  decided(allocId: string): boolean {
    return this.allocs.get(allocId)?.attempted ?? false;
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    const { tuning } = this.o;
    while (!signal.aborted) {
      const now = performance.now();
      let next: [string, AllocChecks] | undefined;
      let earliest = Infinity;
      for (const entry of this.allocs) {
        const a = entry[1];
        if (a.inFlight) continue;
        if (a.due <= now && (!next || a.due < next[1].due)) next = entry;
        earliest = Math.min(earliest, a.due);
      }
      if (next && this.inFlight < tuning.checkConcurrency) {
        if (!(await this.o.bucket.take(signal))) return;
        const [id, a] = next;
        if (this.allocs.get(id) !== a) continue;
        a.inFlight = true;
        this.inFlight++;
        void this.read(id, a).finally(() => {
          a.inFlight = false;
          this.inFlight--;
          this.wake();
        });
        continue;
      }
      // Nothing due (or every slot busy): sleep until the next due time or a change.
      const wait = next ? Infinity : earliest - now;
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(wait) ? setTimeout(resolve, Math.max(1, wait)) : undefined;
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
        if (signal.aborted) this.wake();
      });
    }
  }

  private async read(id: string, a: AllocChecks): Promise<void> {
    const { tuning } = this.o;
    const path = `/v1/client/allocation/${encodeURIComponent(id)}/checks`;
    try {
      const res = await this.o.client.get(path, a.namespace === '*' ? {} : { namespace: a.namespace }, {
        signal: this.abort.signal,
        timeoutMs: tuning.requestTimeoutMs,
      });
      const checks = decodeChecks(res, `GET ${path}`);
      a.failures = 0;
      a.due = performance.now() + tuning.checkIntervalMs;
      const changed = !a.attempted || !sameStatuses(a.checks, checks);
      a.checks = checks;
      a.attempted = true;
      this.o.events.onRead(id, String(res.status));
      if (changed && this.allocs.get(id) === a) this.o.events.onChange(id);
    } catch (err) {
      if (this.abort.signal.aborted) return;
      const error = err instanceof NomadRequestError ? err : new NomadRequestError('invalid', `GET ${path}: ${String((err as Error)?.message ?? err)}`);
      a.failures++;
      // A gone allocation (404) is about to leave the catalog; anything else, retry later.
      a.due = performance.now() + Math.min(tuning.checkIntervalMs * 2 ** Math.min(a.failures - 1, 5), Math.max(tuning.backoffMaxMs, tuning.checkIntervalMs));
      const first = !a.attempted;
      a.attempted = true;
      this.o.events.onRead(id, error.status ? String(error.status) : error.kind, error);
      if (first && this.allocs.get(id) === a) this.o.events.onChange(id);
    }
  }
}

function sameStatuses(a: readonly CheckResult[] | undefined, b: readonly CheckResult[]): boolean {
  if (!a || a.length !== b.length) return false;
  const key = (cs: readonly CheckResult[]) => cs.map((c) => `${c.ID}/${c.Service ?? ''}/${c.Status}`).sort().join(',');
  return key(a) === key(b);
}

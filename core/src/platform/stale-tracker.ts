import type { Logger } from '../logging.js';

/** What a PlatformStaleTracker reports to, and how it names things. */
export interface PlatformStaleTrackerOptions {
  /** The platform as operators know it (`Consul`, `Nomad`), for log lines. */
  readonly product: string;
  /** The adapter's source key, for log context. */
  readonly source: string;
  /** While failing, `markStale` is repeated at most this often (with the latest error). */
  readonly reportIntervalMs: number;
  readonly logger?: Logger | undefined;
  /** True once the source has been read completely (failures are then served from the last good state). */
  isSynced(): boolean;
  /** The stale message with the latest error (the adapter counts its own watches). */
  message(latest: string): string;
  /** Sets the adapter's stale gauge. */
  setStaleGauge(value: 0 | 1): void;
  /** Marks the source stale in the registry (when started). */
  markStale(message: string): void;
  /** The last failure cleared: publish, since `replace` is what clears the stale mark. */
  onRecovered(): void;
}

/**
 * Staleness of a platform adapter whose watches fail independently: which watches fail now
 * (and with what), a throttled `markStale` while any does, a warning when the first one
 * starts failing, and recovery once none does. An error never removes state; it only marks
 * the source stale.
 */
export class PlatformStaleTracker {
  /** Watch key → latest error, for the watches failing now. */
  readonly failing = new Map<string, string>();
  private reported = false;
  private lastReport = 0;

  constructor(private readonly o: PlatformStaleTrackerOptions) {}

  /** A watch failed (`consecutive` times in a row). */
  onError(key: string, message: string, consecutive: number): void {
    const wasHealthy = this.failing.size === 0;
    this.failing.set(key, message);
    const { product } = this.o;
    const context = { source: this.o.source, watch: key, attempt: consecutive, error: message };
    if (wasHealthy) {
      this.o.logger?.warn(
        context,
        this.o.isSynced()
          ? `${product} read failed: ${message}; serving the last good state and retrying with backoff`
          : `${product} read failed: ${message}; retrying with backoff (not ready until ${product} has been read once)`,
      );
    } else {
      this.o.logger?.debug(context, `${product} read failed`);
    }
    this.report(message);
  }

  /** Clears the stale mark (once it was reported): the gauge, a log line, a publish. */
  clear(): void {
    if (!this.reported) return;
    this.reported = false;
    this.o.setStaleGauge(0);
    this.o.logger?.info({ source: this.o.source }, `${this.o.product} reads succeed again`);
    this.o.onRecovered();
  }

  private report(latest: string): void {
    const now = performance.now();
    if (this.reported && now - this.lastReport < this.o.reportIntervalMs) return;
    this.reported = true;
    this.lastReport = now;
    this.o.setStaleGauge(1);
    this.o.markStale(this.o.message(latest));
  }
}

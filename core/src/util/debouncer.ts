/**
 * Coalesces bursts of triggers: runs `fn` once things have been quiet for `quietMs`, but
 * never later than `maxDelayMs` after the first trigger of a burst, so a steady stream of
 * changes cannot postpone convergence forever.
 */
export class Debouncer {
  private quietTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly fn: () => void,
    private readonly quietMs: number,
    private readonly maxDelayMs: number,
  ) {}

  trigger(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.fire(), this.quietMs);
    this.maxTimer ??= setTimeout(() => this.fire(), this.maxDelayMs);
  }

  /** Runs now if a run is pending. */
  flush(): void {
    if (this.quietTimer || this.maxTimer) this.fire();
  }

  cancel(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.maxTimer) clearTimeout(this.maxTimer);
    this.quietTimer = this.maxTimer = undefined;
  }

  private fire(): void {
    this.cancel();
    this.fn();
  }
}

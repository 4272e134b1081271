import { backoffDelay, sleep, type TokenBucket } from '@isthmus/core';
import { NomadRequestError, type NomadClient, type NomadLineStream } from './nomad-client.js';
import { decodeFrame, type ServiceEvent } from './nomad-types.js';
import type { NomadTuning } from './options.js';

/** Why an event stream was reopened. */
export type DisconnectReason = 'ended' | 'error' | 'idle';

export interface EventStreamEvents {
  /**
   * The stream is open. `relist` is true after a reconnect or after failed attempts: events
   * may have been missed (Nomad silently starts at the oldest event it still holds), so
   * the caller re-reads everything.
   */
  onConnect(relist: boolean): void;
  /** The Service events of one raft index, each index once and in order. */
  onFrame(index: number, events: readonly ServiceEvent[]): void;
  /** The stream closed or could not be opened; it is reopened with backoff. */
  onDisconnect(reason: DisconnectReason, error: NomadRequestError | undefined, consecutive: number): void;
}

export interface EventStreamOptions {
  readonly client: NomadClient;
  /** One namespace, or `*`. */
  readonly namespace: string;
  readonly tuning: NomadTuning;
  /** Paces (re)connections. */
  readonly bucket: TokenBucket;
  /** The lowest index worth streaming from (what the blocking reads have already seen, + 1). */
  readonly resumeFrom: () => number;
  readonly events: EventStreamEvents;
  readonly random?: () => number;
}

/**
 * `GET /v1/event/stream?topic=Service&namespace=<ns>&index=<n>`, kept open: NDJSON lines of
 * `{"Index":N,"Events":[…]}` and `{}` heartbeats (every 30 s). Nomad's own semantics are
 * respected: `index` means "start from", and an index that left the server's buffer
 * silently starts later, so every reconnect is reported for a re-list; frames are
 * deduplicated by Index; a stream silent for longer than the idle timeout (no event, no
 * heartbeat) is dead and is reopened. Only a hint for promptness: the blocking queries
 * remain the source of truth.
 */
export class EventStreamWatch {
  private lastIndex = 0;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private cut: (() => void) | undefined;
  private connected = false;

  constructor(private readonly o: EventStreamOptions) {}

  get isConnected(): boolean {
    return this.connected;
  }

  /** The highest frame index handled. */
  get index(): number {
    return this.lastIndex;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.cut?.();
    await this.running;
  }

  /** Forget the indexes seen (they went backwards: a snapshot restore) and reopen the stream. */
  reset(): void {
    this.lastIndex = 0;
    this.cut?.();
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    const { tuning } = this.o;
    let failures = 0;
    let everConnected = false;
    while (!signal.aborted) {
      if (!(await this.o.bucket.take(signal))) return;
      const from = Math.max(this.lastIndex + 1, this.o.resumeFrom(), 1);
      let stream: NomadLineStream;
      try {
        stream = await this.o.client.stream(
          '/v1/event/stream',
          { topic: 'Service', namespace: this.o.namespace, index: String(from) },
          { signal, timeoutMs: tuning.requestTimeoutMs },
        );
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        const error = err instanceof NomadRequestError ? err : new NomadRequestError('network', String((err as Error)?.message ?? err));
        this.o.events.onDisconnect('error', error, failures);
        const delay = Math.max(backoffDelay(failures, tuning.backoffBaseMs, tuning.backoffMaxMs, this.o.random), error.retryAfterMs ?? 0);
        if (!(await sleep(delay, signal))) return;
        continue;
      }
      const relist = everConnected || failures > 0;
      everConnected = true;
      failures = 0;
      this.connected = true;
      let idle = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          idle = true;
          stream.close();
        }, tuning.streamIdleTimeoutMs);
      };
      this.cut = () => stream.close();
      let reason: DisconnectReason = 'ended';
      let error: NomadRequestError | undefined;
      try {
        arm();
        this.o.events.onConnect(relist);
        for await (const line of stream.lines) {
          arm();
          const frame = decodeFrame(line);
          if (frame.kind === 'heartbeat') continue;
          // Each raft index once: replays after a reconnect, or a proxy repeating lines.
          if (frame.index <= this.lastIndex) continue;
          this.lastIndex = frame.index;
          if (frame.events.length > 0) this.o.events.onFrame(frame.index, frame.events);
        }
      } catch (err) {
        if (!idle && !signal.aborted) {
          reason = 'error';
          error = err instanceof NomadRequestError ? err : new NomadRequestError('network', `event stream: ${String((err as Error)?.message ?? err)}`);
        }
      } finally {
        clearTimeout(timer);
        this.cut = undefined;
        this.connected = false;
        stream.close();
      }
      if (signal.aborted) return;
      if (idle) reason = 'idle';
      this.o.events.onDisconnect(reason, error, 1);
    }
  }
}

import type { KvEntry } from 'nats';
import type { RegistryMessage, ReplicatedMap, Unsubscribe } from '@isthmus/core';
import type { BucketLink } from './bucket.js';
import type { ConnectionLogger } from './connection.js';
import { heartbeatKey, parseKvKey } from './keys.js';
import type { KvReplicatedMap } from './kv-map.js';
import type { BusMetrics } from './metrics.js';

/** What an adapter writes under `hb.<source>` every interval. */
export interface Heartbeat {
  readonly source: string;
  /** Adapter process that publishes the source (`--id`). */
  readonly adapter: string;
  readonly intervalMs: number;
  /** Adapter's clock (informational; liveness uses NATS's and our own clocks). */
  readonly at: string;
}

export interface LivenessOptions {
  /** A source is stale after this long without a heartbeat (at least 3 of its intervals). Default 15 s. */
  readonly staleAfterMs?: number;
  /** A stale source's workloads are kept this long, then removed. Default 5 min. */
  readonly graceMs?: number;
  /** How often liveness is re-evaluated. Default 1 s (less when the timeouts are shorter). */
  readonly checkEveryMs?: number;
}

export type SourceLiveness = 'alive' | 'stale' | 'expired';

export interface SourceHealth {
  readonly source: string;
  readonly adapter: string;
  readonly liveness: SourceLiveness;
  readonly lastHeartbeat: string;
  readonly staleAfterMs: number;
  readonly graceMs: number;
}

interface Beat {
  readonly hb: Heartbeat;
  /** Local time we consider the heartbeat to have been sent. */
  readonly seenAt: number;
}

export const DEFAULT_STALE_AFTER_MS = 15_000;
export const DEFAULT_GRACE_MS = 300_000;

/**
 * The registry as the engine should see it: the KV registry with each source's adapter
 * liveness applied. A source that has heartbeats is `alive` while they keep coming;
 * after `staleAfter` without one it is served as before but marked stale (status pages
 * say so); after `staleAfter + grace` it is removed from the view (its workloads leave the
 * mesh). Its KV entries stay: the adapter may come back, and then so does the source.
 * Sources without any heartbeat (config-derived, or written by a tool) are never aged.
 *
 * Liveness is decided only while this process is connected to NATS and has caught up
 * with the heartbeat bucket: our own outage never ages anyone (the view is frozen, and
 * the outage's length is credited to every heartbeat seen before it), and after a
 * reconnect the heartbeats sent meanwhile arrive before anything is judged. Replayed
 * heartbeats count from their NATS timestamp; live ones from their arrival.
 */
export class LivenessView implements ReplicatedMap<RegistryMessage> {
  private readonly beats = new Map<string, Beat>();
  private readonly view = new Map<string, RegistryMessage>();
  private readonly staleCopies = new WeakMap<RegistryMessage, RegistryMessage>();
  private readonly watchers = new Set<(key: string, value: RegistryMessage | undefined) => void>();
  private readonly states = new Map<string, SourceLiveness>();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  /** Judging was possible at the last check; when it stopped (our outage). */
  private judging = false;
  private pausedAt: number | undefined;
  private readonly staleAfterMs: number;
  private readonly graceMs: number;
  private readonly checkEveryMs: number;

  constructor(
    private readonly raw: KvReplicatedMap<RegistryMessage>,
    private readonly heartbeats: BucketLink,
    private readonly logger: ConnectionLogger,
    private readonly metrics: BusMetrics,
    options: LivenessOptions = {},
  ) {
    this.staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.checkEveryMs = options.checkEveryMs ?? Math.max(50, Math.min(1000, Math.floor(Math.min(this.staleAfterMs, this.graceMs || this.staleAfterMs) / 5)));
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.heartbeats.watch((entry, replay) => this.onHeartbeat(entry, replay));
    this.raw.watch((key) => this.recompute(key));
    this.timer = setInterval(() => this.recomputeAll(), this.checkEveryMs);
    this.timer.unref();
  }

  /** Both the registry and the heartbeat bucket delivered their first replay. */
  get initialized(): boolean {
    return this.raw.initialized && this.heartbeats.initialized;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.watchers.clear();
  }

  put(key: string, value: RegistryMessage): Promise<void> {
    return this.raw.put(key, value);
  }

  delete(key: string): Promise<void> {
    return this.raw.delete(key);
  }

  get(key: string): RegistryMessage | undefined {
    this.start();
    return this.view.get(key);
  }

  entries(): ReadonlyMap<string, RegistryMessage> {
    this.start();
    return this.view;
  }

  watch(handler: (key: string, value: RegistryMessage | undefined) => void): Unsubscribe {
    this.start();
    for (const [k, v] of this.view) handler(k, v);
    this.watchers.add(handler);
    return () => this.watchers.delete(handler);
  }

  /** Liveness of every source that has heartbeats. */
  health(now = Date.now()): SourceHealth[] {
    return [...this.beats.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([source, beat]) => ({
        source,
        adapter: beat.hb.adapter,
        liveness: this.states.get(source) ?? this.judge(beat, now),
        lastHeartbeat: new Date(beat.seenAt).toISOString(),
        staleAfterMs: this.staleAfterFor(beat),
        graceMs: this.graceMs,
      }));
  }

  private onHeartbeat(entry: KvEntry, replay: boolean): void {
    const parsed = parseKvKey(entry.key);
    if (parsed.type !== 'heartbeat') return;
    if (entry.operation !== 'PUT') {
      // Deregistered on purpose: the source is no longer aged.
      this.beats.delete(parsed.source);
      this.recompute(parsed.source);
      return;
    }
    let hb: Heartbeat;
    try {
      hb = entry.json<Heartbeat>();
    } catch {
      return;
    }
    const now = Date.now();
    const seenAt = replay ? Math.min(now, entry.created.getTime()) : now;
    this.beats.set(parsed.source, { hb, seenAt });
    this.recompute(parsed.source);
  }

  private staleAfterFor(beat: Beat): number {
    return Math.max(this.staleAfterMs, 3 * (beat.hb.intervalMs || 0));
  }

  private judge(beat: Beat, now: number): SourceLiveness {
    const age = now - beat.seenAt;
    const staleAfter = this.staleAfterFor(beat);
    if (age <= staleAfter) return 'alive';
    return age <= staleAfter + this.graceMs ? 'stale' : 'expired';
  }

  /** Judging is safe only with an up-to-date view of the heartbeats. */
  private canJudge(): boolean {
    return this.heartbeats.caughtUp;
  }

  private recomputeAll(): void {
    if (!this.canJudge()) {
      // Our own outage: the heartbeat clock stops (nothing we miss now is the adapters' fault).
      if (this.judging) this.pausedAt = Date.now();
      this.judging = false;
      return;
    }
    if (!this.judging && this.pausedAt !== undefined) {
      // Back: credit the outage to every beat seen before it, so nobody turns stale merely
      // because we could not hear them (beats sent meanwhile have arrived by now).
      const now = Date.now();
      const gap = now - this.pausedAt;
      for (const [source, beat] of this.beats) {
        if (beat.seenAt <= this.pausedAt) this.beats.set(source, { ...beat, seenAt: Math.min(now, beat.seenAt + gap) });
      }
      this.pausedAt = undefined;
    }
    this.judging = true;
    const keys = new Set([...this.view.keys(), ...this.raw.entries().keys()]);
    for (const key of keys) this.recompute(key);
    this.metrics.staleSources.set([...this.states.values()].filter((s) => s !== 'alive').length);
  }

  private recompute(key: string): void {
    const raw = this.raw.entries().get(key);
    const beat = this.beats.get(key);
    let next: RegistryMessage | undefined = raw;
    if (raw && beat) {
      const previous = this.states.get(key);
      // Frozen while we cannot judge: keep what we decided last (new sources start alive).
      const state = this.canJudge() ? this.judge(beat, Date.now()) : (previous ?? 'alive');
      if (state !== previous) {
        this.states.set(key, state);
        const ctx = { source: key, adapter: beat.hb.adapter, lastHeartbeat: new Date(beat.seenAt).toISOString() };
        if (state === 'stale') {
          this.logger.warn({ ...ctx, graceMs: this.graceMs }, 'adapter stopped heartbeating: source marked stale, its workloads kept for the grace period');
        } else if (state === 'expired') {
          this.logger.warn(ctx, 'grace period over: the source\'s workloads are removed');
        } else if (previous) {
          this.logger.info(ctx, 'adapter heartbeating again: source alive');
        }
      }
      if (state === 'stale') next = this.staleCopy(raw, beat);
      else if (state === 'expired') next = undefined;
    } else if (!beat) {
      this.states.delete(key);
    }
    const current = this.view.get(key);
    if (current === next) return;
    if (next === undefined) this.view.delete(key);
    else this.view.set(key, next);
    for (const w of [...this.watchers]) w(key, next);
  }

  private staleCopy(raw: RegistryMessage, beat: Beat): RegistryMessage {
    let copy = this.staleCopies.get(raw);
    if (!copy) {
      copy = {
        ...raw,
        stale: true,
        error: `no heartbeat from adapter ${beat.hb.adapter} since ${new Date(beat.seenAt).toISOString()}${raw.error ? `; ${raw.error}` : ''}`,
      };
      this.staleCopies.set(raw, copy);
    }
    return copy;
  }
}

/**
 * An adapter's heartbeats: `hb.<source>` for each of its sources, every interval. Missed
 * beats during an outage are simply not sent; the next one after the reconnect counts.
 */
export class HeartbeatPublisher {
  private timer: NodeJS.Timeout | undefined;
  private readonly sources = new Set<string>();

  constructor(
    private readonly link: BucketLink,
    private readonly adapter: string,
    private readonly intervalMs: number,
    private readonly logger: ConnectionLogger,
  ) {}

  add(source: string): void {
    this.sources.add(source);
    this.timer ??= setInterval(() => void this.beat(), this.intervalMs);
    void this.beat();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Sends a beat for every source now (also after each reconnect). */
  async beat(): Promise<void> {
    const kv = this.link.handleNow();
    if (!kv) return;
    const at = new Date().toISOString();
    await Promise.all(
      [...this.sources].map(async (source) => {
        const hb: Heartbeat = { source, adapter: this.adapter, intervalMs: this.intervalMs, at };
        try {
          await kv.put(heartbeatKey(source), JSON.stringify(hb));
        } catch (err) {
          this.logger.debug({ source, err: String(err) }, 'heartbeat not sent');
        }
      }),
    );
  }
}

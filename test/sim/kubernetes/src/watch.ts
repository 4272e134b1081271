import type { ServerResponse } from 'node:http';
import { ApiError, badRequest, tooOld } from './errors.js';
import { render } from './operations.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { Output, startStream } from './response.js';
import type { Selector } from './selectors.js';
import type { Store, StoreEvent } from './store.js';
import type { KubeObject, StatusObject, WatchEventType } from './types.js';

/**
 * Watches, as the watch cache serves them: one JSON event per line on a chunked 200,
 * only writes after the requested resourceVersion (or synthetic ADDED events for the
 * current state when it is unset or "0"), filtered by namespace and selectors. An object
 * that stops matching a label selector is sent as DELETED (its previous state at the
 * event's RV), one that starts matching as ADDED.
 */

export interface WatchRequest {
  readonly type: ResourceType;
  readonly version: string;
  readonly namespace: string | undefined;
  readonly selector: Selector;
  /** Raw `resourceVersion` query parameter. */
  readonly resourceVersion: string | null;
  readonly allowBookmarks: boolean;
  readonly timeoutSeconds: number | undefined;
  /** `sendInitialEvents=true` (WatchList): the initial ADDED events end with an annotated BOOKMARK. */
  readonly sendInitialEvents: boolean;
}

export interface WatchSettings {
  bookmarkIntervalMs: number;
  goneMode: 'http' | 'event';
}

export class Watcher {
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  /** Lines held back while a `hang` fault freezes this watch (a stalled connection), by fault id. */
  private readonly frozenBy = new Set<number>();
  private held: string[] = [];
  /** The RV of the last event sent (what a 410 message names). */
  lastRv: number;

  constructor(
    readonly req: WatchRequest,
    readonly path: string,
    private readonly out: Output,
    private readonly store: Store,
  ) {
    this.lastRv = store.resourceVersion;
  }

  get res(): ServerResponse {
    return this.out.res;
  }

  get closed(): boolean {
    return this.out.closed;
  }

  /** Starts the timers (bookmarks, timeoutSeconds). */
  arm(settings: WatchSettings, onEnd: () => void): void {
    if (this.req.allowBookmarks && settings.bookmarkIntervalMs > 0) {
      this.bookmarkTimer = setInterval(() => this.bookmark(), settings.bookmarkIntervalMs);
    }
    if (this.req.timeoutSeconds !== undefined && this.req.timeoutSeconds > 0) {
      this.timeoutTimer = setTimeout(() => this.end(), this.req.timeoutSeconds * 1000);
    }
    this.res.once('close', () => {
      this.disarm();
      onEnd();
    });
  }

  /** Sends a store write if this watch sees it (type, namespace, selector transitions). */
  deliver(e: StoreEvent): void {
    const { type, namespace, selector } = this.req;
    if (e.resource.key !== type.key) return;
    if (namespace !== undefined && e.object.metadata.namespace !== namespace) return;
    const now = e.type !== 'DELETED' && selector.matches(e.object);
    const before = e.prev !== undefined && selector.matches(e.prev);
    let kind: WatchEventType | undefined;
    let obj: KubeObject = e.object;
    if (e.type === 'ADDED') kind = now ? 'ADDED' : undefined;
    else if (e.type === 'DELETED') kind = before ? 'DELETED' : undefined;
    else if (now) kind = before ? 'MODIFIED' : 'ADDED';
    else if (before) {
      kind = 'DELETED';
      obj = { ...e.prev!, metadata: { ...e.prev!.metadata, resourceVersion: String(e.rv) } };
    }
    if (kind) this.send(kind, render(type, this.req.version, obj), e.rv);
  }

  /** The synthetic ADDED events of a watch from "now" (resourceVersion unset or "0"). */
  sendInitial(): void {
    for (const o of this.store.list(this.req.type, this.req.namespace)) {
      if (this.req.selector.matches(o)) this.send('ADDED', render(this.req.type, this.req.version, o), Number(o.metadata.resourceVersion));
    }
    if (this.req.sendInitialEvents && this.req.allowBookmarks) this.bookmark({ 'k8s.io/initial-events-end': 'true' });
    this.lastRv = this.store.resourceVersion;
  }

  bookmark(annotations?: Record<string, string>): void {
    if (this.frozenBy.size > 0) return;
    const { type, version } = this.req;
    const rv = this.store.resourceVersion;
    const metadata = { resourceVersion: String(rv), ...(annotations ? { annotations } : {}) };
    this.line({ type: 'BOOKMARK', object: { kind: type.kind, apiVersion: apiVersionOf(type.group, version), metadata } });
    this.lastRv = rv;
  }

  /**
   * Ends the stream with an ERROR event carrying this Status (410 Expired, or an injected
   * failure). Events a `hang` held back are lost: the server gave up on a stalled watch.
   */
  fail(status: StatusObject): void {
    this.held = [];
    this.frozenBy.clear();
    this.line({ type: 'ERROR', object: status });
    this.end();
  }

  /** Ends the stream cleanly (what timeoutSeconds does); held events are lost, as in fail(). */
  end(): void {
    this.disarm();
    this.held = [];
    this.frozenBy.clear();
    this.out.end();
  }

  /** Resets the connection mid-stream. */
  drop(): void {
    this.disarm();
    this.res.socket?.destroy();
    this.res.destroy();
  }

  freeze(faultId: number): void {
    this.frozenBy.add(faultId);
  }

  thaw(faultId: number): void {
    if (this.frozenBy.delete(faultId) && this.frozenBy.size === 0) this.flush();
  }

  thawAll(): void {
    if (this.frozenBy.size === 0) return;
    this.frozenBy.clear();
    this.flush();
  }

  private send(type: WatchEventType, object: KubeObject, rv: number): void {
    this.line({ type, object });
    this.lastRv = rv;
  }

  private line(event: unknown): void {
    const text = JSON.stringify(event) + '\n';
    if (this.frozenBy.size > 0) this.held.push(text);
    else this.out.write(text);
  }

  private flush(): void {
    const held = this.held;
    this.held = [];
    for (const t of held) this.out.write(t);
  }

  private disarm(): void {
    clearInterval(this.bookmarkTimer);
    clearTimeout(this.timeoutTimer);
  }
}

/** Every open watch, fed from the store. */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();

  constructor(
    private readonly store: Store,
    readonly settings: WatchSettings,
  ) {
    store.subscribe((e) => {
      for (const w of this.watchers) w.deliver(e);
    });
  }

  get size(): number {
    return this.watchers.size;
  }

  all(): Watcher[] {
    return [...this.watchers];
  }

  /**
   * Opens a watch on `res`. A resourceVersion older than the history is a 410: an HTTP
   * 410 Status (thrown, goneMode 'http') or a 200 with one ERROR event (goneMode 'event').
   */
  open(req: WatchRequest, path: string, res: ServerResponse, chunkDelayMs = 0): Watcher | undefined {
    const rv = parseRv(req.resourceVersion);
    let replay: StoreEvent[] | undefined;
    if (rv !== undefined) {
      try {
        replay = this.store.eventsAfter(rv);
      } catch (err) {
        if (!(err instanceof ApiError) || this.settings.goneMode === 'http') throw err;
        startStream(res);
        const out = new Output(res, chunkDelayMs);
        out.write(JSON.stringify({ type: 'ERROR', object: err.status() }) + '\n');
        out.end();
        return undefined;
      }
    }
    startStream(res);
    const w = new Watcher(req, path, new Output(res, chunkDelayMs), this.store);
    if (replay) {
      w.lastRv = rv!;
      for (const e of replay) w.deliver(e);
    } else w.sendInitial();
    this.watchers.add(w);
    w.arm(this.settings, () => this.watchers.delete(w));
    return w;
  }

  /** The 410 a watch gets when its history is gone, as an ERROR event. */
  expire(w: Watcher): void {
    w.fail(tooOld(w.lastRv, this.store.resourceVersion).status());
  }

  closeAll(): void {
    for (const w of this.all()) w.drop();
  }
}

/** undefined: "from now" (unset or "0"); otherwise the RV, which must be a non-negative integer. */
function parseRv(raw: string | null): number | undefined {
  if (raw === null || raw === '' || raw === '0') return undefined;
  if (!/^\d+$/.test(raw)) throw badRequest(`resourceVersion: Invalid value: "${raw}": strconv.ParseUint: parsing "${raw}": invalid syntax`);
  return Number(raw);
}


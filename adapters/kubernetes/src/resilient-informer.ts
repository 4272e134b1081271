import { backoffDelay, sleep, type RateLimit, type TokenBucket } from '@isthmus/core';
import { KubeApiError, type KubeClient } from './kube-client.js';
import { keyOf, type KubeObject } from './kube-types.js';

/** A resource type the API server serves: `pods`, `endpointslices.discovery.k8s.io`, a CRD. */
export interface ResourceRef {
  /** '' for the core group (`/api/v1`). */
  readonly group: string;
  /** Versions to try, preferred first: the first one the server serves is watched. */
  readonly versions: readonly string[];
  readonly plural: string;
  readonly kind: string;
}

/** `pods`, `endpointslices.discovery.k8s.io`: how kubectl and RBAC rules name a resource. */
export function resourceName(r: Pick<ResourceRef, 'group' | 'plural'>): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/** The cluster-wide collection path: `/api/v1/pods`, `/apis/discovery.k8s.io/v1/endpointslices`. */
export function collectionPath(r: Pick<ResourceRef, 'group' | 'plural'>, version: string): string {
  return r.group ? `/apis/${r.group}/${version}/${r.plural}` : `/api/${version}/${r.plural}`;
}

/** `v1`, `discovery.k8s.io/v1`. */
export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Tunables of every informer (the adapter and the config source declare the defaults). */
export interface InformerTuning {
  /** Bounds each list page, status write, and the wait for a watch's response headers. */
  readonly requestTimeoutMs: number;
  /** Objects per list page (`limit`); big lists come in pages, as client-go's pager reads them. */
  readonly listPageSize: number;
  /** `timeoutSeconds` of watches (the server ends them; randomised ×1–2 like client-go's reflector). */
  readonly watchTimeoutSeconds: number;
  /** A watch silent this long (no event, no bookmark) is restarted from its resourceVersion. */
  readonly watchIdleTimeoutMs: number;
  /** Retry after an error: base·2^(n−1), capped, with jitter. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Retry period of a resource the client may not read (403) or the server does not serve (404). */
  readonly slowRetryMs: number;
  /** Per informer: bounds list and watch requests, so no answer (instant errors, instant ends) makes a hot loop. */
  readonly informerRate: RateLimit;
}

/** Why an informer cannot read its resource at all (as opposed to failing now and then). */
export type InformerProblem = 'forbidden' | 'notFound';

export type RestartReason = 'gone' | 'idle' | 'ended' | 'error';

export interface InformerEvents<T> {
  /** An object was added, changed (`prev` set) or deleted (`obj` undefined), by a watch event or a relist. */
  onChange(key: string, obj: T | undefined, prev: T | undefined): void;
  /** A complete list replaced the cache (the first one means synced). Called after its changes. */
  onListed(): void;
  /** A list or watch failed; `consecutive` counts failures since the last success. The cache is kept. */
  onError(error: KubeApiError, consecutive: number): void;
  /** The first success after failures. */
  onRecovered(): void;
  /** The list+watch cycle starts over: a 410 (relist), a silent watch, a clean end, or after an error. */
  onRestart?(reason: RestartReason): void;
  /** One list or watch request's outcome (HTTP status, or the error kind). */
  onRequest?(verb: 'list' | 'watch', outcome: string): void;
}

export interface InformerOptions<T extends KubeObject> {
  readonly client: KubeClient;
  readonly resource: ResourceRef;
  readonly tuning: InformerTuning;
  /** This informer's bucket. */
  readonly bucket: TokenBucket;
  /** The bucket shared by every informer of one adapter. */
  readonly shared?: TokenBucket;
  /** Keeps only what is read of each object (memory: a cluster has many Pods). Must keep metadata.resourceVersion. */
  readonly transform?: (o: KubeObject) => T;
  readonly events: InformerEvents<T>;
  readonly random?: () => number;
}

/**
 * One resource type kept in memory by list + watch, and kept running whatever happens:
 * client-go's reflector rules, written for this adapter (see kube-client.ts for why not
 * client-node's ListWatch).
 *
 * - List in pages, then watch from the list's resourceVersion with bookmarks and a
 *   server-side `timeoutSeconds`; a clean end re-watches from the last resourceVersion.
 * - 410 Gone, as an HTTP answer or as an ERROR event, relists; the relist's differences
 *   (deletions included) come out as changes, so no update is lost.
 * - Any other failure keeps the cache as it is, is reported (`onError`), and is retried
 *   with jittered exponential backoff — re-watching from the last resourceVersion after a
 *   watch failure (cheap; a 410 forces the relist when that is too old). 403 and 404 are
 *   retried slowly (`slowRetryMs`): RBAC and CRDs change by hand. 429's Retry-After is honoured.
 * - Every list and watch goes through a token bucket (and the adapter's shared one).
 * - A silent watch (no event or bookmark for `watchIdleTimeoutMs`: a dead connection, a
 *   frozen proxy) is abandoned and re-opened from its resourceVersion.
 * - A 404 on a version moves to the next of `resource.versions` (Istio's CRD version
 *   fallback); when none is served the resource counts as not installed.
 */
export class ResilientInformer<T extends KubeObject = KubeObject> {
  /** `pods`, `virtualservices.networking.istio.io`. */
  readonly name: string;
  private store = new Map<string, T>();
  private rv = '';
  private needList = true;
  private versionIndex = 0;
  private hasSynced = false;
  private currentProblem: InformerProblem | undefined;
  private failing = false;
  private consecutive = 0;
  private readonly ac = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly random: () => number;

  constructor(private readonly o: InformerOptions<T>) {
    this.name = resourceName(o.resource);
    this.random = o.random ?? Math.random;
    if (o.resource.versions.length === 0) throw new Error(`${this.name}: no version to watch`);
  }

  /** True once a complete list has been read (it stays true: later failures keep the cache). */
  get synced(): boolean {
    return this.hasSynced;
  }

  /** Set while the resource cannot be read at all (403, or not served), cleared by the next success. */
  get problem(): InformerProblem | undefined {
    return this.currentProblem;
  }

  /** The version being read (the first the server served). */
  get version(): string {
    return this.o.resource.versions[this.versionIndex]!;
  }

  get size(): number {
    return this.store.size;
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  values(): IterableIterator<T> {
    return this.store.values();
  }

  start(): void {
    if (this.loop) throw new Error(`${this.name}: informer already started`);
    this.loop = this.run();
  }

  /** Stops the loop and cancels any request in flight; no event is emitted after it resolves. */
  async stop(): Promise<void> {
    this.ac.abort();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.ac.signal.aborted;
  }

  private async run(): Promise<void> {
    const signal = this.ac.signal;
    while (!this.stopped) {
      if (!(await this.o.bucket.take(signal))) return;
      if (this.o.shared && !(await this.o.shared.take(signal))) return;
      try {
        if (this.needList) await this.list();
        await this.watch();
        this.o.events.onRestart?.('ended');
      } catch (err) {
        if (this.stopped) return;
        const e = err instanceof KubeApiError ? err : new KubeApiError('invalid', (err as Error)?.message ?? String(err));
        if (e.status === 410) {
          this.needList = true;
          this.o.events.onRestart?.('gone');
          continue;
        }
        if (e.kind === 'idle') {
          this.o.events.onRestart?.('idle');
          continue;
        }
        if (e.status === 404) {
          this.needList = true;
          if (this.versionIndex + 1 < this.o.resource.versions.length) {
            this.versionIndex++;
            continue;
          }
          this.versionIndex = 0;
        }
        this.consecutive++;
        this.failing = true;
        this.currentProblem = e.status === 403 ? 'forbidden' : e.status === 404 ? 'notFound' : undefined;
        this.o.events.onError(this.explain(e), this.consecutive);
        this.o.events.onRestart?.('error');
        if (!(await sleep(this.retryDelay(e), signal))) return;
      }
    }
  }

  private retryDelay(e: KubeApiError): number {
    const t = this.o.tuning;
    if (e.status === 403 || e.status === 404) return backoffDelay(1, t.slowRetryMs, t.slowRetryMs, this.random);
    const d = backoffDelay(this.consecutive, t.backoffBaseMs, t.backoffMaxMs, this.random);
    return e.retryAfterMs !== undefined ? Math.max(d, e.retryAfterMs) : d;
  }

  /** The error in operator terms: which resource, and for RBAC and missing CRDs what to do. */
  private explain(e: KubeApiError): KubeApiError {
    const versions = this.o.resource.versions;
    const bare = e.message.replace(/^(list|watch): /, '');
    let message: string;
    if (e.status === 403) message = `forbidden to list/watch ${this.name} (${bare}); grant "list" and "watch" on ${this.name} to this client's account`;
    else if (e.status === 404) message = `${this.name} is not served (${versions.map((v) => apiVersionOf(this.o.resource.group, v)).join(', ')}: ${bare}); is its CRD installed?`;
    else if (e.status === 401) message = `${this.name}: ${e.message}; check the kubeconfig's credentials`;
    else message = `${this.name}: ${e.message}`;
    return new KubeApiError(e.kind, message, e.status, e.reason, e.retryAfterMs);
  }

  private healthy(): void {
    this.consecutive = 0;
    this.currentProblem = undefined;
    if (!this.failing) return;
    this.failing = false;
    this.o.events.onRecovered();
  }

  private path(): string {
    return collectionPath(this.o.resource, this.version);
  }

  /** Fills in what list items leave out (apiVersion, kind), then transforms. */
  private accept(raw: unknown, what: string): T {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new KubeApiError('invalid', `${what}: an item is not an object`);
    const obj = raw as KubeObject;
    if (!obj.metadata || typeof obj.metadata !== 'object' || typeof obj.metadata.name !== 'string') throw new KubeApiError('invalid', `${what}: an item has no metadata.name`);
    const full: KubeObject = obj.apiVersion && obj.kind ? obj : { ...obj, apiVersion: apiVersionOf(this.o.resource.group, this.version), kind: this.o.resource.kind };
    return this.o.transform ? this.o.transform(full) : (full as T);
  }

  private async list(): Promise<void> {
    const path = this.path();
    const t = this.o.tuning;
    const items = new Map<string, T>();
    let rv = '';
    let cont: string | undefined;
    do {
      let body: { metadata?: { resourceVersion?: string; continue?: string }; items?: unknown };
      try {
        body = await this.o.client.request('GET', path, {
          query: { limit: String(t.listPageSize), ...(cont ? { continue: cont } : {}) },
          timeoutMs: t.requestTimeoutMs,
          signal: this.ac.signal,
        });
        this.o.events.onRequest?.('list', '200');
      } catch (err) {
        if (err instanceof KubeApiError && err.kind !== 'aborted') this.o.events.onRequest?.('list', err.status ? String(err.status) : err.kind);
        // An expired continue token is a 410 too: the loop starts the list over.
        throw err instanceof KubeApiError ? new KubeApiError(err.kind, `list: ${err.message}`, err.status, err.reason, err.retryAfterMs) : err;
      }
      if (!body || typeof body !== 'object' || (body.items !== null && body.items !== undefined && !Array.isArray(body.items))) {
        throw new KubeApiError('invalid', `list ${path}: the answer is not a list`);
      }
      for (const raw of (body.items as unknown[] | null | undefined) ?? []) {
        const o = this.accept(raw, `list ${path}`);
        items.set(keyOf(o), o);
      }
      rv ||= body.metadata?.resourceVersion ?? '';
      cont = body.metadata?.continue || undefined;
    } while (cont);
    if (!rv) throw new KubeApiError('invalid', `list ${path}: the answer has no metadata.resourceVersion`);
    if (this.stopped) return;

    // The list is the truth now: what it lacks was deleted meanwhile, what changed is reported.
    const old = this.store;
    const changes: [string, T | undefined, T | undefined][] = [];
    for (const [key, prev] of old) if (!items.has(key)) changes.push([key, undefined, prev]);
    for (const [key, obj] of items) {
      const prev = old.get(key);
      if (prev && prev.metadata.resourceVersion === obj.metadata.resourceVersion) items.set(key, prev);
      else changes.push([key, obj, prev]);
    }
    this.store = items;
    this.rv = rv;
    this.needList = false;
    this.hasSynced = true;
    this.healthy();
    for (const [key, obj, prev] of changes) this.o.events.onChange(key, obj, prev);
    this.o.events.onListed();
  }

  private async watch(): Promise<void> {
    const path = this.path();
    const t = this.o.tuning;
    let heard = false;
    try {
      await this.o.client.watch(path, {
        query: {
          resourceVersion: this.rv,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(Math.round(t.watchTimeoutSeconds * (1 + this.random()))),
        },
        connectTimeoutMs: t.requestTimeoutMs,
        idleTimeoutMs: t.watchIdleTimeoutMs,
        signal: this.ac.signal,
        onOpen: () => this.o.events.onRequest?.('watch', '200'),
        onEvent: (type, object) => {
          this.onEvent(type, object, path);
          // Something arrived: the server is serving this resource again.
          if (!heard) {
            heard = true;
            this.healthy();
          }
        },
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.kind !== 'aborted' && err.kind !== 'idle') {
        this.o.events.onRequest?.('watch', err.status ? String(err.status) : err.kind);
      }
      throw err instanceof KubeApiError ? new KubeApiError(err.kind, `watch: ${err.message}`, err.status, err.reason, err.retryAfterMs) : err;
    }
    // A clean end (timeoutSeconds): the server is fine.
    this.healthy();
  }

  private onEvent(type: string, object: unknown, path: string): void {
    if (this.stopped) return;
    if (type === 'ERROR') {
      const status = (object && typeof object === 'object' ? object : {}) as Parameters<typeof KubeApiError.fromStatus>[0];
      throw KubeApiError.fromStatus(status, undefined);
    }
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED' && type !== 'BOOKMARK') return;
    const meta = (object as KubeObject | undefined)?.metadata;
    if (!meta || typeof meta !== 'object') throw new KubeApiError('invalid', `watch ${path}: a ${type} event without metadata`);
    if (type === 'BOOKMARK') {
      if (meta.resourceVersion) this.rv = meta.resourceVersion;
      return;
    }
    const obj = this.accept(object, `watch ${path}`);
    const key = keyOf(obj);
    if (obj.metadata.resourceVersion) this.rv = obj.metadata.resourceVersion;
    const prev = this.store.get(key);
    if (type === 'DELETED') {
      if (!prev) return;
      this.store.delete(key);
      this.o.events.onChange(key, undefined, prev);
      return;
    }
    if (prev && prev.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    this.store.set(key, obj);
    this.o.events.onChange(key, obj, prev);
  }
}

import { tooOld } from './errors.js';
import type { ResourceType } from './resources.js';
import type { KubeObject } from './types.js';

/**
 * The versioned object store, etcd-like: one global resourceVersion counter bumped by
 * every write of any resource, and a bounded history of the writes (what the watch cache
 * replays from). The history also lets a paginated list stay consistent: page N is served
 * from the state at the first page's resourceVersion, rebuilt by undoing newer writes;
 * once those writes are forgotten the snapshot is gone and the continue token expires.
 */

export interface StoreEvent {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly resource: ResourceType;
  /** The object after the write (for DELETED: its last state, stamped with the deletion's RV). */
  readonly object: KubeObject;
  /** The object before the write (MODIFIED and DELETED). */
  readonly prev?: KubeObject;
}

/** `namespace/name` ('' namespace for cluster-scoped), ordered as etcd orders its keys. */
export const objectKey = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export class Store {
  private rv: number;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: StoreEvent[] = [];
  /** The history holds every write after this RV; older RVs get 410. */
  private horizonRv: number;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(
    public historyLimit: number,
    initialRv = 1,
  ) {
    this.rv = initialRv;
    this.horizonRv = initialRv;
  }

  /** The latest resourceVersion. */
  get resourceVersion(): number {
    return this.rv;
  }

  get horizon(): number {
    return this.horizonRv;
  }

  /** Called synchronously on every write, in RV order. */
  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(type.key)?.get(objectKey(namespace, name));
  }

  /** Current objects of a type (optionally one namespace), in key order. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    return this.sorted(this.objects.get(type.key) ?? new Map(), namespace);
  }

  /** The objects of a type as they were at `rv`; throws 410 when the history no longer reaches back that far. */
  listAt(type: ResourceType, rv: number, namespace?: string): KubeObject[] {
    if (rv >= this.rv) return this.list(type, namespace);
    if (rv < this.horizonRv) throw tooOld(rv, this.horizonRv + 1);
    const state = new Map(this.objects.get(type.key) ?? []);
    for (let i = this.history.length - 1; i >= 0; i--) {
      const e = this.history[i]!;
      if (e.rv <= rv) break;
      if (e.resource.key !== type.key) continue;
      const key = objectKey(e.object.metadata.namespace, e.object.metadata.name!);
      if (e.type === 'ADDED') state.delete(key);
      else state.set(key, e.prev!);
    }
    return this.sorted(state, namespace);
  }

  /** Writes after `rv`, oldest first; throws 410 when some have been forgotten. */
  eventsAfter(rv: number): StoreEvent[] {
    if (rv < this.horizonRv) throw tooOld(rv, this.horizonRv + 1);
    let i = this.history.length;
    while (i > 0 && this.history[i - 1]!.rv > rv) i--;
    return this.history.slice(i);
  }

  /**
   * Writes one object (`next`) or deletes it (`undefined`): takes the next RV, stamps it,
   * records the event and tells the listeners. Returns the stored object.
   */
  commit(type: ResourceType, namespace: string | undefined, name: string, next: KubeObject | undefined): KubeObject {
    const key = objectKey(namespace, name);
    let table = this.objects.get(type.key);
    if (!table) this.objects.set(type.key, (table = new Map()));
    const prev = table.get(key);
    const rv = ++this.rv;
    let event: StoreEvent;
    if (next) {
      next.metadata.resourceVersion = String(rv);
      table.set(key, next);
      event = prev ? { rv, type: 'MODIFIED', resource: type, object: next, prev } : { rv, type: 'ADDED', resource: type, object: next };
    } else {
      if (!prev) throw new Error(`commit: nothing to delete at ${type.key} ${key}`);
      table.delete(key);
      const gone = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } };
      event = { rv, type: 'DELETED', resource: type, object: gone, prev };
    }
    this.record(event);
    for (const fn of [...this.listeners]) fn(event);
    return event.object;
  }

  /** Forgets the history: every RV older than the current one now gets 410. */
  compact(): void {
    this.history = [];
    this.horizonRv = this.rv;
  }

  private record(e: StoreEvent): void {
    this.history.push(e);
    const excess = this.history.length - this.historyLimit;
    if (excess > 0) {
      this.horizonRv = this.history[excess - 1]!.rv;
      this.history.splice(0, excess);
    }
  }

  private sorted(table: Map<string, KubeObject>, namespace?: string): KubeObject[] {
    const prefix = namespace === undefined ? undefined : `${namespace}/`;
    return [...table.entries()]
      .filter(([k]) => prefix === undefined || k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, v]) => v);
  }
}

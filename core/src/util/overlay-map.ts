/** Marks a key the overlay removes from its base. */
const GONE: unique symbol = Symbol('gone');

/**
 * An immutable map made of a shared base map and a small overlay of the keys changed
 * since: a snapshot's copy of a registry map that costs O(changed keys) to make instead
 * of O(mesh). Each `with` copies only the overlay; once the overlay outgrows
 * `maxOverlay` the result is one flat map again, so reads stay two lookups at most and
 * the copying averages O(mesh / maxOverlay) per change. Iteration yields the base's
 * entries (in its order) and then the overlay's.
 */
export class OverlayMap<K, V> implements ReadonlyMap<K, V> {
  private constructor(
    private readonly base: ReadonlyMap<K, V>,
    private readonly overlay: ReadonlyMap<K, V | typeof GONE>,
    readonly size: number,
  ) {}

  /** A copy of `source` (flat). */
  static of<K, V>(source: ReadonlyMap<K, V>): OverlayMap<K, V> {
    const base = new Map(source);
    return new OverlayMap<K, V>(base, new Map(), base.size);
  }

  /**
   * This map with the entries of `keys` as `source` has them now (absent there: removed).
   * `this` is unchanged.
   */
  with(source: ReadonlyMap<K, V>, keys: Iterable<K>, maxOverlay = 64): OverlayMap<K, V> {
    const overlay = new Map(this.overlay);
    let size = this.size;
    for (const k of keys) {
      const had = this.has(k);
      if (!source.has(k)) {
        if (!had) continue;
        // Removed: masked when the base has it, else simply no longer added.
        if (this.base.has(k)) overlay.set(k, GONE);
        else overlay.delete(k);
        size--;
      } else {
        overlay.set(k, source.get(k)!);
        if (!had) size++;
      }
    }
    if (overlay.size > maxOverlay) return OverlayMap.of(new OverlayMap(this.base, overlay, size));
    return new OverlayMap(this.base, overlay, size);
  }

  get(key: K): V | undefined {
    if (this.overlay.has(key)) {
      const v = this.overlay.get(key)!;
      return v === GONE ? undefined : v;
    }
    return this.base.get(key);
  }

  has(key: K): boolean {
    if (this.overlay.has(key)) return this.overlay.get(key) !== GONE;
    return this.base.has(key);
  }

  *entries(): MapIterator<[K, V]> {
    for (const entry of this.base) if (!this.overlay.has(entry[0])) yield entry;
    for (const [k, v] of this.overlay) if (v !== GONE) yield [k, v];
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}

import { createHash } from 'node:crypto';

/**
 * An order-independent digest of a keyed set of versions (one snapshot part: hostname →
 * entry version), kept up to date in O(changed entries): the XOR of SHA-256(key, version)
 * (128 bits) over the entries. Equal sets give equal digests on every replica, whatever
 * order they were built in, and an update only re-hashes the keys it is told about.
 * Keys are unique, so no two terms can cancel; a changed set gives an unchanged digest
 * only by a 128-bit collision.
 */
export class SetDigest {
  private readonly terms = new Map<string, { readonly version: string; readonly term: Buffer }>();
  private readonly acc = Buffer.alloc(16);
  private last: ReadonlyMap<string, { readonly version: string }> | undefined;

  /**
   * Brings the digest to `map`'s content at `keys` (the keys that may have changed), or
   * at every key of `map` and of the digest when `keys` is omitted.
   */
  update(map: ReadonlyMap<string, { readonly version: string }>, keys?: Iterable<string>): void {
    if (keys) {
      for (const k of keys) this.apply(k, map.get(k)?.version);
      return;
    }
    for (const [k, v] of map) this.apply(k, v.version);
    for (const k of [...this.terms.keys()]) if (!map.has(k)) this.apply(k, undefined);
  }

  /**
   * The digest of `map`. Given `changedSince` (the keys that may differ from the map this
   * digest last saw), only those are looked at; otherwise every entry is compared with
   * what the digest holds (version strings) and only changed ones are hashed. The same map
   * object is not looked at again.
   */
  of(map: ReadonlyMap<string, { readonly version: string }>, changedSince?: Iterable<string>): string {
    if (map !== this.last) {
      if (changedSince && this.last) this.update(map, changedSince);
      else this.update(map);
      this.last = map;
    }
    return this.hex();
  }

  /** 32 hex characters. */
  hex(): string {
    return this.acc.toString('hex');
  }

  private apply(key: string, version: string | undefined): void {
    const held = this.terms.get(key);
    if (held?.version === version) return;
    if (held) this.xor(held.term);
    if (version === undefined) {
      this.terms.delete(key);
      return;
    }
    const term = createHash('sha256').update(key).update('\0').update(version).digest().subarray(0, 16);
    this.xor(term);
    this.terms.set(key, { version, term });
  }

  private xor(term: Buffer): void {
    for (let i = 0; i < 16; i++) this.acc[i] = this.acc[i]! ^ term[i]!;
  }
}

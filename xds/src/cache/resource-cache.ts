import type { Generator, ResourceMemo } from '../generators/generator.js';
import type { XdsLogger } from '../logger.js';
import { encodeResource, type EncodedResource } from '../resources/encoded.js';
import type { ClientKind, JsonObject, ResourceType } from '../resources/resource-type.js';

interface Entry {
  readonly resource: EncodedResource | undefined;
  used: number;
  /** Why the resource built for this entry was refused (the last valid copy, if any, serves instead). */
  readonly refusal?: Refusal;
}

/** A generated resource that failed validation and is not pushed. */
export interface Refusal {
  /** `LDS`, `RDS`, `CDS`, `EDS`. */
  readonly type: string;
  readonly name: string;
  /** Each names the field, the rule it breaks and, when known, the config that produced it. */
  readonly errors: readonly string[];
  /** The last valid version still served instead, if there is one. */
  readonly servedVersion?: string;
}

/**
 * Encoded resources of one type for one kind of client, keyed by (name, inputs key): each distinct resource
 * is built, validated and encoded once and its bytes shared by every proxy. A resource
 * that fails validation is refused by name: the last valid copy of that name is served
 * instead (or nothing, if there never was one) while the other resources apply.
 */
export class ResourceCache implements ResourceMemo {
  /** name → inputs key → entry. */
  private readonly entries = new Map<string, Map<string, Entry>>();
  private readonly lastGood = new Map<string, Entry>();
  /** Advanced by the snapshot cache on every snapshot; entries remember when they were last used. */
  epoch = 0;
  /** Builds (misses) and reuses (hits), for tests and debugging. */
  readonly stats = { builds: 0, hits: 0, refused: 0 };

  constructor(
    private readonly type: ResourceType,
    private readonly client: ClientKind,
    private readonly logger: XdsLogger,
  ) {}

  static forGenerator(generator: Generator, logger: XdsLogger): ResourceCache {
    return new ResourceCache(generator.resourceType, generator.client, logger);
  }

  get(name: string, key: string, build: (warn: (message: string) => void) => JsonObject): EncodedResource | undefined {
    let byKey = this.entries.get(name);
    if (!byKey) this.entries.set(name, (byKey = new Map()));
    let entry = byKey.get(key);
    if (entry) {
      this.stats.hits++;
    } else {
      const refusals: Refusal[] = [];
      const resource = this.build(name, build, refusals);
      entry = { resource, used: this.epoch, ...(refusals[0] ? { refusal: refusals[0] } : {}) };
      byKey.set(key, entry);
    }
    entry.used = this.epoch;
    const good = this.lastGood.get(name);
    if (good) good.used = this.epoch;
    return entry.resource;
  }

  /**
   * Forgets what was not used since epoch `since` (default: the current one), among the
   * names `reached` selects (all when omitted). Only safe for names every proxy holding
   * them regenerated since `since` (SnapshotCache.endRound decides).
   */
  sweep(reached?: (name: string) => boolean, since = this.epoch): void {
    // (Deleting the current key while iterating a Map is safe.)
    for (const name of this.entries.keys()) if (!reached || reached(name)) this.sweepName(name, since);
    // (forEach: no [name, entry] pair per entry; deleting the current entry is safe.)
    this.lastGood.forEach((e, name) => {
      if (e.used < since && (!reached || reached(name))) this.lastGood.delete(name);
    });
  }

  /** sweep() for exactly these names: O(names), not O(cache). */
  sweepNames(names: Iterable<string>, since = this.epoch): void {
    for (const name of names) {
      this.sweepName(name, since);
      const good = this.lastGood.get(name);
      if (good && good.used < since) this.lastGood.delete(name);
    }
  }

  private sweepName(name: string, since: number): void {
    const byKey = this.entries.get(name);
    if (!byKey) return;
    for (const [k, e] of byKey) if (e.used < since) byKey.delete(k);
    if (byKey.size === 0) this.entries.delete(name);
  }

  /** Distinct resources held (all names and keys). */
  get size(): number {
    let n = 0;
    for (const byKey of this.entries.values()) n += byKey.size;
    return n;
  }

  /** The refusals behind resources still in use (swept with them). */
  refusals(): Refusal[] {
    const out = new Map<string, Refusal>();
    for (const byKey of this.entries.values()) for (const e of byKey.values()) if (e.refusal) out.set(`${e.refusal.name}\0${e.refusal.errors.join('\0')}`, e.refusal);
    return [...out.values()];
  }

  private build(name: string, build: (warn: (message: string) => void) => JsonObject, refusals: Refusal[]): EncodedResource | undefined {
    this.stats.builds++;
    const type = this.type;
    const warnings: string[] = [];
    let errors: string[];
    try {
      const result = encodeResource(type, name, build((m) => warnings.push(m)), this.client, warnings);
      if (result.valid) {
        if (warnings.length > 0) this.logger.warn({ type: type.shortName, name, warnings }, 'xDS resource built with warnings');
        this.lastGood.set(name, { resource: result.value, used: this.epoch });
        return result.value;
      }
      errors = result.errors;
    } catch (err) {
      errors = [String(err instanceof Error ? err.message : err)];
    }
    this.stats.refused++;
    const previous = this.lastGood.get(name)?.resource;
    refusals.push({ type: type.shortName, name, errors, ...(previous ? { servedVersion: previous.version } : {}) });
    this.logger.error(
      { type: type.shortName, name, errors, warnings, servedVersion: previous?.version },
      previous ? 'refused an invalid xDS resource; serving its last valid version' : 'refused an invalid xDS resource; not sent',
    );
    return previous;
  }
}

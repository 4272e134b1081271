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
  private readonly entries = new Map<string, Entry>();
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
    const cacheKey = `${name}\0${key}`;
    let entry = this.entries.get(cacheKey);
    if (entry) {
      this.stats.hits++;
    } else {
      const refusals: Refusal[] = [];
      const resource = this.build(name, build, refusals);
      entry = { resource, used: this.epoch, ...(refusals[0] ? { refusal: refusals[0] } : {}) };
      this.entries.set(cacheKey, entry);
    }
    entry.used = this.epoch;
    const good = this.lastGood.get(name);
    if (good) good.used = this.epoch;
    return entry.resource;
  }

  /** Forgets what was not used in the current epoch (call after every proxy regenerated). */
  sweep(): void {
    for (const map of [this.entries, this.lastGood]) {
      for (const [k, e] of map) if (e.used < this.epoch) map.delete(k);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The refusals behind resources still in use (swept with them). */
  refusals(): Refusal[] {
    const out = new Map<string, Refusal>();
    for (const e of this.entries.values()) if (e.refusal) out.set(`${e.refusal.name}\0${e.refusal.errors.join('\0')}`, e.refusal);
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

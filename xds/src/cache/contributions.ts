import { hashOf, stableStringify, type MeshSnapshot, type XdsContributor } from '@isthmus/core';
import type { XdsLogger } from '../logger.js';
import type { XdsProxy } from '../proxy.js';
import type { EncodedResource } from '../resources/encoded.js';
import { RESOURCE_TYPES } from '../resources/index.js';
import type { ClientKind, JsonObject } from '../resources/resource-type.js';
import { ResourceCache } from './resource-cache.js';

interface Result {
  readonly resources: EncodedResource[];
  used: number;
}

/**
 * Lets XdsContributors (plugins, rule kinds) edit what the generators built for one proxy
 * and type — Kuma's policy plugins on top of base generators. A result is cached under
 * what it depends on: the snapshot version, the base resources, the subscription and each
 * contributor's cacheKey; a resource a contributor left as it was keeps its shared bytes,
 * a changed one is validated and encoded once per distinct content.
 */
export class ContributionStage {
  private readonly byType = new Map<string, XdsContributor[]>();
  private readonly encoders = new Map<string, ResourceCache>();
  private readonly results = new Map<string, Result>();
  epoch = 0;

  constructor(
    contributors: readonly XdsContributor[],
    private readonly logger: XdsLogger,
  ) {
    for (const c of contributors) {
      if (!RESOURCE_TYPES.has(c.typeUrl)) {
        logger.warn({ contributor: c.name, type: c.typeUrl }, 'xDS contributor for a type Isthmus does not serve: ignored');
        continue;
      }
      this.byType.set(c.typeUrl, [...(this.byType.get(c.typeUrl) ?? []), c]);
    }
  }

  has(typeUrl: string): boolean {
    return this.byType.has(typeUrl);
  }

  apply(
    typeUrl: string,
    client: ClientKind,
    snapshot: MeshSnapshot,
    proxy: XdsProxy,
    base: readonly EncodedResource[],
    names: ReadonlySet<string> | undefined,
  ): EncodedResource[] {
    const contributors = this.byType.get(typeUrl);
    if (!contributors) return [...base];
    const key = [
      typeUrl,
      client,
      snapshot.version,
      names ? [...names].sort().join(',') : '*',
      base.map((r) => `${r.name}@${r.version}`).join(','),
      ...contributors.map((c) => `${c.name}=${this.cacheKeyOf(c, proxy, snapshot)}`),
    ].join('|');
    const hit = this.results.get(key);
    if (hit) {
      hit.used = this.epoch;
      return hit.resources;
    }
    const resources = this.run(typeUrl, client, contributors, snapshot, proxy, base, names);
    this.results.set(key, { resources, used: this.epoch });
    return resources;
  }

  /** Drops results and encodings no proxy used in the current epoch. */
  endRound(): void {
    for (const [k, r] of this.results) if (r.used < this.epoch) this.results.delete(k);
    for (const enc of this.encoders.values()) {
      enc.epoch = this.epoch;
      enc.sweep();
    }
  }

  private run(
    typeUrl: string,
    client: ClientKind,
    contributors: readonly XdsContributor[],
    snapshot: MeshSnapshot,
    proxy: XdsProxy,
    base: readonly EncodedResource[],
    names: ReadonlySet<string> | undefined,
  ): EncodedResource[] {
    let current = new Map<string, Record<string, unknown>>(base.map((r) => [r.name, structuredClone(r.resource)]));
    for (const c of contributors) {
      // Each contributor works on a copy: one that throws half-way leaves nothing behind.
      const trial = new Map([...current].map(([k, v]) => [k, structuredClone(v)]));
      try {
        c.contribute(proxy, snapshot, trial);
        current = trial;
      } catch (err) {
        this.logger.error({ contributor: c.name, type: typeUrl, proxy: proxy.id, err: String(err) }, 'xDS contributor failed: its changes are left out');
      }
    }
    const original = new Map(base.map((r) => [r.name, r]));
    const encoder = this.encoderFor(typeUrl, client);
    const out: EncodedResource[] = [];
    for (const [name, json] of [...current].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (names && !names.has(name)) continue;
      const orig = original.get(name);
      if (orig && stableStringify(json) === stableStringify(orig.resource)) {
        out.push(orig);
        continue;
      }
      // An invalid contribution falls back to the generator's own resource.
      const encoded = encoder.get(name, `contributed:${hashOf(json)}`, () => json as JsonObject) ?? orig;
      if (encoded) out.push(encoded);
    }
    return out;
  }

  private cacheKeyOf(c: XdsContributor, proxy: XdsProxy, snapshot: MeshSnapshot): string {
    try {
      return c.cacheKey?.(proxy, snapshot) ?? '';
    } catch (err) {
      this.logger.error({ contributor: c.name, err: String(err) }, 'xDS contributor cacheKey failed');
      return `error:${String(err)}`;
    }
  }

  private encoderFor(typeUrl: string, client: ClientKind): ResourceCache {
    const k = `${typeUrl}|${client}`;
    let enc = this.encoders.get(k);
    if (!enc) {
      enc = new ResourceCache(RESOURCE_TYPES.get(typeUrl)!, client, this.logger);
      this.encoders.set(k, enc);
    }
    enc.epoch = this.epoch;
    return enc;
  }
}

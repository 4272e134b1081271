import type { MeshSnapshot, XdsContributor } from '@isthmus/core';
import type { Generator, GeneratorRegistry, SnapshotInput } from '../generators/generator.js';
import type { XdsLogger } from '../logger.js';
import type { ResourceSource } from '../protocol/source.js';
import type { XdsProxy } from '../proxy.js';
import type { EncodedResource } from '../resources/encoded.js';
import { ContributionStage } from './contributions.js';
import { ResourceCache, type Refusal } from './resource-cache.js';

const INPUTS: readonly SnapshotInput[] = ['services', 'endpoints', 'routes', 'destinations', 'sidecars'];

/** Which parts of the snapshot differ, by their content versions. */
export function changedInputs(prev: MeshSnapshot | undefined, next: MeshSnapshot): SnapshotInput[] {
  if (!prev) return [...INPUTS];
  if (prev.version === next.version) return [];
  return INPUTS.filter((input) => mapChanged(prev[input], next[input]));
}

function mapChanged(a: ReadonlyMap<string, { version: string }>, b: ReadonlyMap<string, { version: string }>): boolean {
  if (a === b) return false;
  if (a.size !== b.size) return true;
  for (const [k, v] of b) if (a.get(k)?.version !== v.version) return true;
  return false;
}

/**
 * The cache layer: holds the current MeshSnapshot and serves each proxy the resources
 * its generator builds from it, shared through one ResourceCache per generator. Every
 * snapshot opens a new epoch; per snapshot input it remembers the epoch it last changed
 * in, so a stream can tell cheaply whether a type may differ since it last looked.
 */
export class SnapshotCache implements ResourceSource {
  private snapshot: MeshSnapshot | undefined;
  private currentEpoch = 0;
  private readonly changedAt = new Map<SnapshotInput, number>();
  private readonly caches = new Map<Generator, ResourceCache>();
  private readonly contributions: ContributionStage;

  constructor(
    private readonly generators: GeneratorRegistry,
    private readonly logger: XdsLogger,
    contributors: readonly XdsContributor[] = [],
  ) {
    this.contributions = new ContributionStage(contributors, logger);
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  get current(): MeshSnapshot | undefined {
    return this.snapshot;
  }

  ready(): boolean {
    return this.snapshot !== undefined;
  }

  /** Installs a snapshot; returns the inputs that changed (none: nothing to push). */
  setSnapshot(next: MeshSnapshot): SnapshotInput[] {
    const changed = changedInputs(this.snapshot, next);
    this.snapshot = next;
    if (changed.length === 0) return changed;
    this.currentEpoch++;
    for (const input of changed) this.changedAt.set(input, this.currentEpoch);
    for (const cache of this.caches.values()) cache.epoch = this.currentEpoch;
    this.contributions.epoch = this.currentEpoch;
    return changed;
  }

  /** After a push round: drops resources no proxy used since the last change of their inputs. */
  endRound(): void {
    for (const [generator, cache] of this.caches) {
      if (generator.inputs.some((i) => this.changedAt.get(i) === this.currentEpoch)) cache.sweep();
    }
    this.contributions.endRound();
  }

  resources(proxy: XdsProxy, typeUrl: string, names: ReadonlySet<string> | undefined): readonly EncodedResource[] | undefined {
    const snapshot = this.snapshot;
    const generator = this.generators.lookup(proxy.generator, typeUrl);
    const contributed = this.contributions.has(typeUrl);
    if (!snapshot || (!generator && !contributed)) return undefined;
    let resources = generator ? generator.generate({ snapshot, proxy, names, memo: this.cacheFor(generator) }) : [];
    if (contributed) {
      const client = generator?.client ?? (proxy.generator === 'grpc' ? 'grpc' : 'envoy');
      resources = this.contributions.apply(typeUrl, client, snapshot, proxy, resources, names);
    }
    return [...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  changedSince(proxy: XdsProxy, typeUrl: string, epoch: number): boolean {
    if (epoch < 1) return true;
    // Contributors may read any part of the snapshot.
    if (this.contributions.has(typeUrl) && epoch < this.currentEpoch) return true;
    const generator = this.generators.lookup(proxy.generator, typeUrl);
    if (!generator) return false;
    return generator.inputs.some((i) => (this.changedAt.get(i) ?? 0) > epoch);
  }

  /** Generated resources refused by validation and not pushed (their last valid copy serves, if any). */
  refusals(): Refusal[] {
    return [...this.caches.values()].flatMap((c) => c.refusals()).sort((a, b) => (`${a.type}/${a.name}` < `${b.type}/${b.name}` ? -1 : 1));
  }

  /** The cache of one generator (for tests and debugging). */
  cacheFor(generator: Generator): ResourceCache {
    let cache = this.caches.get(generator);
    if (!cache) {
      cache = ResourceCache.forGenerator(generator, this.logger);
      cache.epoch = this.currentEpoch;
      this.caches.set(generator, cache);
    }
    return cache;
  }
}

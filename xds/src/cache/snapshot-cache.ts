import type { MeshSnapshot, XdsContributor } from '@isthmus/core';
import type { Generator, GeneratorRegistry, ResourceDependencies, SnapshotInput } from '../generators/generator.js';
import type { XdsLogger } from '../logger.js';
import type { ResourceSource, SubscribedNames } from '../protocol/source.js';
import type { XdsProxy } from '../proxy.js';
import type { EncodedResource } from '../resources/encoded.js';
import { affects, ChangeLog, changedKeys, DependencyIndex, SNAPSHOT_INPUTS, type InputChanges } from './change-log.js';
import { ContributionStage } from './contributions.js';
import { ReachHistory } from './reach-history.js';
import { ResourceCache, type Refusal } from './resource-cache.js';

/** reachedSince's answers that are not a list of names. */
const NONE: ReadonlySet<string> = new Set();
const ALL: ReadonlySet<string> = new Set();

/** How often (in epochs) endRound also sweeps names nobody subscribes to any more. */
const SWEEP_EVERY = 32;

/** Which parts of the snapshot differ, by their content versions. */
export function changedInputs(prev: MeshSnapshot | undefined, next: MeshSnapshot): SnapshotInput[] {
  if (!prev) return [...SNAPSHOT_INPUTS];
  if (prev.version === next.version) return [];
  const keys = changedKeys(prev, next);
  return SNAPSHOT_INPUTS.filter((input) => keys.has(input));
}

/**
 * The cache layer: holds the current MeshSnapshot and serves each proxy the resources
 * its generator builds from it, shared through one ResourceCache per generator. Every
 * snapshot opens a new epoch; per epoch it remembers which keys (hosts) of each input
 * changed (change-log.ts), so a stream can tell cheaply whether the resources it
 * subscribes to may differ since it last looked — per name when the generator declares
 * its dependencies, so an endpoint change only regenerates its watchers.
 */
export class SnapshotCache implements ResourceSource {
  private snapshot: MeshSnapshot | undefined;
  private currentEpoch = 0;
  private readonly changedAt = new Map<SnapshotInput, number>();
  private readonly log = new ChangeLog(2 * SWEEP_EVERY);
  private lastFullSweep = 0;
  /** Per generator, the subscribed names this epoch's change reached (changedNames). */
  private readonly reached = new Map<Generator, Set<string>>();
  /** Per generator, when each subscribed name was last reached (what changed since any epoch). */
  private readonly history = new Map<Generator, ReachHistory>();
  /** Generators that served a wildcard subscription since the last round. */
  private readonly wildcards = new Set<Generator>();
  /**
   * Per generator, name → dependencies in the current snapshot. A change drops only the
   * entries it reaches: a generator's dependencies read no more than they list
   * (Generator.dependencies), so the others are still right.
   */
  private readonly deps = new Map<Generator, Map<string, ResourceDependencies>>();
  /** Bumped whenever entries of `deps` are dropped: dependency indexes look theirs over. */
  private depsGeneration = 0;
  /** Per subscription group (its byName map): its names indexed by dependency. */
  private readonly indexes = new WeakMap<object, { revision: number; generation: number; index: DependencyIndex }>();
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

  get version(): string {
    return this.snapshot?.version ?? '';
  }

  get current(): MeshSnapshot | undefined {
    return this.snapshot;
  }

  ready(): boolean {
    return this.snapshot !== undefined;
  }

  /** Installs a snapshot; returns the inputs that changed (none: nothing to push). */
  setSnapshot(next: MeshSnapshot): SnapshotInput[] {
    // A full sweep the server has not run yet belongs to the snapshot it was due in.
    this.sweep();
    const prev = this.snapshot;
    const keys = prev?.version === next.version ? new Map<SnapshotInput, Set<string>>() : changedKeys(prev, next);
    const changed = SNAPSHOT_INPUTS.filter((input) => !prev || keys.has(input));
    this.snapshot = next;
    // Dependencies never read endpoints (Generator.dependencies): kept while only endpoints change.
    if (!prev) this.deps.clear();
    else if ([...keys.keys()].some((input) => input !== 'endpoints')) this.dropReachedDependencies(keys);
    if (changed.length === 0) return changed;
    this.currentEpoch++;
    this.log.record(this.currentEpoch, keys);
    for (const input of changed) this.changedAt.set(input, this.currentEpoch);
    for (const cache of this.caches.values()) cache.epoch = this.currentEpoch;
    this.contributions.epoch = this.currentEpoch;
    return changed;
  }

  /** Drops the dependencies a change may have changed: those of the names it reaches. */
  private dropReachedDependencies(changes: InputChanges): void {
    let dropped = false;
    for (const [generator, byName] of this.deps) {
      for (const [name, deps] of byName) {
        if (!affects(changes, generator.inputs, deps)) continue;
        byName.delete(name);
        dropped = true;
      }
    }
    if (dropped) this.depsGeneration++;
  }

  /**
   * After a push round, forgets resources no proxy holds any more, without scanning the
   * whole cache: every proxy subscribed to a name this epoch's change reached was
   * regenerated in the round, so among those names an entry the round did not use is
   * held by nobody. Generators without dependencies regenerate every subscriber on any
   * change of their inputs: a full sweep each time. Names nobody subscribes to by name any
   * more are left to `sweep` (every SWEEP_EVERY epochs).
   */
  endRound(): void {
    for (const [generator, cache] of this.caches) {
      const changedNow = generator.inputs.some((i) => this.changedAt.get(i) === this.currentEpoch);
      if (!changedNow) continue;
      if (!generator.dependencies) {
        cache.sweep();
      } else if (this.wildcards.has(generator)) {
        // A wildcard subscriber regenerated every name: the precise rule over the whole cache.
        const latest = this.log.latest();
        cache.sweep((name) => affects(latest, generator.inputs, this.dependenciesOf(generator, name)));
      } else {
        cache.sweepNames(this.reached.get(generator) ?? []);
      }
    }
    this.reached.clear();
    this.wildcards.clear();
    this.contributions.endRound();
  }

  /** A full `sweep` is due (SWEEP_EVERY epochs since the last). */
  get sweepDue(): boolean {
    return this.currentEpoch - this.lastFullSweep >= SWEEP_EVERY;
  }

  /**
   * When due, a full pass over the caches drops entries of names nobody subscribes to by
   * name any more (left by proxies that went away), by endRound's rule over the changes
   * since the previous full pass, and forgets their dependencies and history. It costs
   * O(cache), so the server runs it after a round's responses are on the wire (and at the
   * latest before the next snapshot), not inside the round.
   */
  sweep(): void {
    if (!this.sweepDue) return;
    // (`since` is always known: the log holds twice SWEEP_EVERY epochs and a due sweep runs
    // before the next snapshot is installed.)
    const since = this.log.since(this.lastFullSweep);
    for (const [generator, cache] of this.caches) {
      if (generator.dependencies && since) cache.sweep((name) => affects(since, generator.inputs, this.dependenciesOf(generator, name)), this.lastFullSweep + 1);
    }
    this.lastFullSweep = this.currentEpoch;
    // Names nobody subscribes to any more leave dependencies and history behind.
    for (const [generator, byName] of this.deps) {
      const history = this.history.get(generator);
      for (const name of byName.keys()) if (!history?.holds(name)) byName.delete(name);
    }
    for (const h of this.history.values()) h.prune();
  }

  resources(proxy: XdsProxy, typeUrl: string, names: ReadonlySet<string> | undefined): readonly EncodedResource[] | undefined {
    const snapshot = this.snapshot;
    const generator = this.generators.lookup(proxy.generator, typeUrl);
    const contributed = this.contributions.has(typeUrl);
    if (!snapshot || (!generator && !contributed)) return undefined;
    if (generator && !names) this.wildcards.add(generator);
    let resources = generator ? generator.generate({ snapshot, proxy, names, memo: this.cacheFor(generator) }) : [];
    if (contributed) {
      const client = generator?.client ?? (proxy.generator === 'grpc' ? 'grpc' : 'envoy');
      resources = this.contributions.apply(typeUrl, client, snapshot, proxy, resources, names);
    }
    return resources.length < 2 ? resources : [...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  changedSince(proxy: XdsProxy, typeUrl: string, epoch: number, names?: ReadonlySet<string>): boolean {
    return this.reachedSince(proxy, typeUrl, epoch, names, true) !== NONE;
  }

  namesChangedSince(proxy: XdsProxy, typeUrl: string, epoch: number, names: ReadonlySet<string>): ReadonlySet<string> | undefined {
    const reached = this.reachedSince(proxy, typeUrl, epoch, names, false);
    return reached === ALL ? undefined : reached;
  }

  /**
   * Which of `names` the changes since `epoch` may reach: NONE, some, or ALL (a wildcard, a
   * type contributors edit, or names that cannot be told apart). With `first`, stops at
   * the first name reached (a yes/no question).
   */
  private reachedSince(proxy: XdsProxy, typeUrl: string, epoch: number, names: ReadonlySet<string> | undefined, first: boolean): ReadonlySet<string> {
    if (epoch < 1) return ALL;
    // Contributors may read any part of the snapshot.
    if (this.contributions.has(typeUrl)) return epoch < this.currentEpoch ? ALL : NONE;
    const generator = this.generators.lookup(proxy.generator, typeUrl);
    if (!generator || !generator.inputs.some((i) => (this.changedAt.get(i) ?? 0) > epoch)) return NONE;
    if (!names || !generator.dependencies) return ALL;
    // When each name was last reached, as the rounds found: exact for any epoch since it was watched.
    const known = this.history.get(generator)?.since(names, epoch, first);
    if (known !== undefined) return known === 'none' ? NONE : known;
    const changes = this.log.since(epoch);
    if (!changes) return ALL;
    let out: Set<string> | undefined;
    for (const name of names) {
      if (!affects(changes, generator.inputs, this.dependenciesOf(generator, name))) continue;
      (out ??= new Set()).add(name);
      if (first) break;
    }
    return out ?? NONE;
  }

  changedNames(generatorName: string, typeUrl: string, subscribed: SubscribedNames): ReadonlySet<string> | undefined {
    if (this.contributions.has(typeUrl)) return undefined;
    const generator = this.generators.lookup(generatorName, typeUrl);
    if (!generator) return new Set();
    let history: ReachHistory | undefined;
    if (generator.dependencies) {
      history = this.history.get(generator);
      if (!history) this.history.set(generator, (history = new ReachHistory()));
      history.watch(subscribed, this.currentEpoch);
    }
    if (!generator.inputs.some((i) => this.changedAt.get(i) === this.currentEpoch)) return new Set();
    if (!history) return undefined;
    let cached = this.indexes.get(subscribed.byName);
    if (!cached || cached.revision !== subscribed.revision) {
      const index = new DependencyIndex(subscribed.byName.keys(), generator.inputs, (name) => this.dependenciesOf(generator, name));
      cached = { revision: subscribed.revision, generation: this.depsGeneration, index };
      this.indexes.set(subscribed.byName, cached);
    } else if (cached.generation !== this.depsGeneration) {
      // Some dependencies were dropped since: only those names are indexed again.
      cached.index.refresh((name) => this.dependenciesOf(generator, name));
      cached.generation = this.depsGeneration;
    }
    const out = cached.index.reached(this.log.latest());
    history.recordReached(out, this.currentEpoch);
    let reached = this.reached.get(generator);
    if (!reached) this.reached.set(generator, (reached = new Set()));
    for (const name of out) reached.add(name);
    return out;
  }

  private dependenciesOf(generator: Generator, name: string): ResourceDependencies | undefined {
    const snapshot = this.snapshot;
    if (!snapshot || !generator.dependencies) return undefined;
    let byName = this.deps.get(generator);
    if (!byName) this.deps.set(generator, (byName = new Map()));
    let deps = byName.get(name);
    if (!deps) byName.set(name, (deps = generator.dependencies(snapshot, name)));
    return deps;
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

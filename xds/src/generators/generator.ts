import type { MeshSnapshot } from '@isthmus/core';
import type { EncodedResource } from '../resources/encoded.js';
import type { ClientKind, JsonObject, ResourceType } from '../resources/resource-type.js';
import type { XdsProxy } from '../proxy.js';

/** The parts of a MeshSnapshot (maps keyed by host, or `<ns>/<name>` for sidecars). */
export type SnapshotPart = 'services' | 'endpoints' | 'routes' | 'destinations' | 'sidecars';

/**
 * What a generator reads; a change elsewhere cannot change its output. Besides the parts,
 * `routeFaults` is derived from `routes`: the hosts whose route tables changed which ports
 * have a route injecting faults (what a gRPC listener reads of them: its fault filter).
 */
export type SnapshotInput = SnapshotPart | 'routeFaults';

/**
 * The keys (hostnames) of each snapshot input one resource reads. An input left out
 * means "may read any of it": a change anywhere in it may change the resource.
 */
export type ResourceDependencies = Partial<Record<SnapshotInput, readonly string[]>>;

/**
 * Encoded resources shared across proxies. `key` must name exactly the inputs the
 * resource is built from (beyond its name); `build` runs only when no resource was built
 * for that (name, key) yet. Returns undefined when the resource is invalid and no earlier
 * valid copy exists (the refusal is logged with its reasons).
 */
export interface ResourceMemo {
  get(name: string, key: string, build: (warn: (message: string) => void) => JsonObject): EncodedResource | undefined;
}

export interface GenerateContext {
  readonly snapshot: MeshSnapshot;
  readonly proxy: XdsProxy;
  /** The names the proxy subscribed to; undefined for a wildcard subscription. */
  readonly names: ReadonlySet<string> | undefined;
  readonly memo: ResourceMemo;
}

/** Translates a snapshot into the resources of one type for one kind of proxy. */
export interface Generator {
  readonly typeUrl: string;
  readonly resourceType: ResourceType;
  /** Whose rules the output is validated against. */
  readonly client: ClientKind;
  readonly inputs: readonly SnapshotInput[];
  /** Resources for the subscribed names that exist (unknown names are left out). */
  generate(ctx: GenerateContext): EncodedResource[];
  /**
   * What the resource `name` reads of `snapshot`, per input (must be a superset, or a
   * change is not pushed; tested against the generator's output in
   * test/generators/grpc/dependencies.test.ts). Lets a push skip every proxy whose
   * subscribed names no changed host reaches, so an endpoint change costs
   * O(its watchers), not O(proxies). Without it, any change of an input regenerates
   * every proxy's resources of this type. It must not read `snapshot.endpoints` (the
   * answers are kept while only endpoints change), and it must read no more of the
   * snapshot than it lists, within the generator's inputs (after a change, only the
   * answers of the names the change reaches are computed again; also tested there).
   */
  dependencies?(snapshot: MeshSnapshot, name: string): ResourceDependencies;
}

/**
 * Generators by `<GENERATOR>/<typeUrl>`, falling back to `<typeUrl>` (Istio's lookup), where
 * GENERATOR is the node metadata key (`grpc` for proxyless gRPC).
 */
export class GeneratorRegistry {
  private readonly byKey = new Map<string, Generator>();
  /** generator name ('' for none) → type URL → what lookup answers (null: nothing); reset by register. */
  private resolved = new Map<string, Map<string, Generator | null>>();

  /** Registers for nodes whose GENERATOR is `forGenerator`, or as the fallback when omitted. */
  register(generator: Generator, forGenerator?: string): this {
    this.byKey.set(forGenerator ? `${forGenerator}/${generator.typeUrl}` : generator.typeUrl, generator);
    this.resolved = new Map();
    return this;
  }

  /** (Looked up several times per proxy in a push: answered from a map of maps, no key built.) */
  lookup(generatorName: string | undefined, typeUrl: string): Generator | undefined {
    let byType = this.resolved.get(generatorName ?? '');
    // Clients choose their GENERATOR and the type URLs they ask for: only so many answers are kept.
    if (!byType && this.resolved.size < 64) this.resolved.set(generatorName ?? '', (byType = new Map()));
    let found = byType?.get(typeUrl);
    if (found === undefined) {
      found = (generatorName ? this.byKey.get(`${generatorName}/${typeUrl}`) : undefined) ?? this.byKey.get(typeUrl) ?? null;
      if (byType && byType.size < 256) byType.set(typeUrl, found);
    }
    return found ?? undefined;
  }

  keys(): string[] {
    return [...this.byKey.keys()].sort();
  }
}

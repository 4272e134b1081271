import type { XdsProxy } from '../proxy.js';
import type { EncodedResource } from '../resources/encoded.js';

/**
 * What the protocol server asks the cache layer; it knows nothing of the mesh.
 * (go-control-plane splits cache and server the same way.)
 */
export interface ResourceSource {
  /** False until the first snapshot: requests wait, nothing is sent. */
  ready(): boolean;
  /** Advances whenever the content may have changed. */
  readonly epoch: number;
  /** The content version of what is served ('' before the first snapshot): delta's system_version_info. */
  readonly version: string;
  /**
   * The resources of a type for a proxy, sorted by name: the subscribed names that exist,
   * or everything when `names` is undefined (wildcard). Undefined when nothing generates
   * this type for this proxy.
   */
  resources(proxy: XdsProxy, typeUrl: string, names: ReadonlySet<string> | undefined): readonly EncodedResource[] | undefined;
  /**
   * Cheap check: may the type's resources for this proxy differ from what it had at
   * `epoch`? With `names` (a named subscription), only changes that reach those names count.
   */
  changedSince(proxy: XdsProxy, typeUrl: string, epoch: number, names?: ReadonlySet<string>): boolean;
  /**
   * Of a named subscription's `names`, those whose resource may differ from what it was at
   * `epoch` (empty: none); undefined when that cannot be told by name (all may).
   */
  namesChangedSince(proxy: XdsProxy, typeUrl: string, epoch: number, names: ReadonlySet<string>): ReadonlySet<string> | undefined;
  /**
   * Of the names proxies whose GENERATOR is `generator` subscribe to, those the latest
   * epoch's change may reach (empty: none); undefined when that cannot be told by name, so
   * every subscriber must be checked.
   */
  changedNames(generator: string, typeUrl: string, subscribed: SubscribedNames): ReadonlySet<string> | undefined;
}

/** One kind of proxy's subscribed names of one type, as the protocol server indexes them. */
export interface SubscribedNames {
  /** The same object for as long as the group exists: a source may cache what it derives from it. */
  readonly byName: ReadonlyMap<string, unknown>;
  /** Changes whenever the names change. */
  readonly revision: number;
}

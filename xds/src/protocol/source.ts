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
  /**
   * The resources of a type for a proxy, sorted by name: the subscribed names that exist,
   * or everything when `names` is undefined (wildcard). Undefined when nothing generates
   * this type for this proxy.
   */
  resources(proxy: XdsProxy, typeUrl: string, names: ReadonlySet<string> | undefined): readonly EncodedResource[] | undefined;
  /** Cheap check: may the type's resources for this proxy differ from what it had at `epoch`? */
  changedSince(proxy: XdsProxy, typeUrl: string, epoch: number): boolean;
}

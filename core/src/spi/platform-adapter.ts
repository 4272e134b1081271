import type { RegistryShard } from '../model/shard.js';

/** Where an adapter reports its source's state. */
export interface RegistrySink {
  /** Replace the whole state of the source (the adapter's last good, complete listing). */
  replace(shard: RegistryShard): void;
  /** The platform is failing: keep the last state, mark it stale, say why. */
  markStale(error: string): void;
}

export const PlatformAdapter = Symbol.for('isthmus.PlatformAdapter');
/**
 * Turns one platform instance's watch into canonical Services and Workloads.
 * `start` resolves once watching has begun (not necessarily synced: the first
 * `replace` means synced). An adapter never empties its shard because of an error.
 */
export interface PlatformAdapter {
  /** `<platform kind>/<instance id>`, e.g. `consul/dc1`. Unique in a mesh. */
  readonly source: string;
  start(sink: RegistrySink): Promise<void>;
  stop(): Promise<void>;
}

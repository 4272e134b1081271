import type { RegistryShard } from '../model/shard.js';
import type { SourcedObject } from '../config/object.js';

export type Unsubscribe = () => void;

/**
 * A key → value map every process of a mesh sees the same way. Watchers first receive
 * every current entry, then each change (`value` undefined means deleted).
 * In-memory by default; the NATS plugin backs it with JetStream KV.
 */
export interface ReplicatedMap<T> {
  put(key: string, value: T): Promise<void>;
  delete(key: string): Promise<void>;
  get(key: string): T | undefined;
  entries(): ReadonlyMap<string, T>;
  watch(handler: (key: string, value: T | undefined) => void): Unsubscribe;
}

/** What an adapter publishes about its source: its last good state and its health. */
export interface RegistryMessage {
  readonly shard: RegistryShard;
  /** False until the adapter delivered its first complete listing. */
  readonly synced: boolean;
  /** True while the platform fails and `shard` is the last good state. */
  readonly stale: boolean;
  readonly error?: string;
  /** ISO time of the last platform update (or heartbeat). */
  readonly updatedAt: string;
}

/** The accepted objects of one config source (a file, a KV prefix, a CRD watch). */
export interface ConfigMessage {
  readonly source: string;
  readonly objects: readonly SourcedObject[];
  readonly updatedAt: string;
  /**
   * Set on parts written together with others (one `isthmus apply` of several objects): a
   * rules engine waits for the quiet period instead of building the first part at once.
   */
  readonly batch?: string;
}

/** A proxy's xDS state as one xDS server reports it (for proxy-status across replicas). */
export interface ProxyStatusMessage {
  readonly proxyId: string;
  readonly server: string;
  readonly connectedAt: string;
  readonly types: Readonly<Record<string, { sent?: string; acked?: string; nacked?: string; error?: string }>>;
}

export const Bus = Symbol.for('isthmus.Bus');
/** The channels that carry registry state, config and proxy status between roles. */
export interface Bus {
  readonly registry: ReplicatedMap<RegistryMessage>;
  readonly config: ReplicatedMap<ConfigMessage>;
  readonly proxyStatus: ReplicatedMap<ProxyStatusMessage>;
  /**
   * Called by the rules engine after every build that consumed bus changes (whether or
   * not the snapshot version changed), so a bus can measure publish → applied-snapshot lag.
   */
  snapshotApplied?(): void;
  close(): Promise<void>;
}

import type { Service } from '../model/service.js';
import type { Workload } from '../model/workload.js';
import type { SourceStatus } from '../model/shard.js';
import type { ConfigIssue } from '../config/issues.js';
import type { DestinationPolicy, RouteTable } from '../rules/compiled.js';
import type { SidecarScope } from '../rules/sidecar.js';

/** A service as the snapshot holds it, with the content hash of its definition. */
export interface MeshService {
  readonly service: Service;
  readonly version: string;
}

/** All workloads of one service (from every source), with their content hash. */
export interface EndpointSet {
  readonly hostname: string;
  readonly workloads: readonly Workload[];
  readonly version: string;
}

/** What differs from the previous snapshot: a hint that lets xDS skip unchanged work. */
export interface SnapshotChanges {
  /** Hosts whose service definition was added, changed or removed. */
  readonly services: ReadonlySet<string>;
  /** Hosts whose endpoints were added, changed or removed. */
  readonly endpoints: ReadonlySet<string>;
  /** True when routing, destination or Sidecar rules changed. */
  readonly rules: boolean;
}

/**
 * An immutable, content-versioned view of the whole mesh: the merged registry and the
 * compiled rules. xDS generators translate it for one proxy and never look elsewhere.
 * Maps are keyed by mesh hostname. Every entry carries its own content hash so caches
 * can key on exactly what they read; `version` hashes all of them, so two control planes
 * fed the same input compute the same version.
 */
export interface MeshSnapshot {
  readonly version: string;
  /** Monotonic sequence number within this process (not part of the content). */
  readonly sequence: number;
  readonly services: ReadonlyMap<string, MeshService>;
  readonly endpoints: ReadonlyMap<string, EndpointSet>;
  readonly routes: ReadonlyMap<string, RouteTable>;
  readonly destinations: ReadonlyMap<string, DestinationPolicy>;
  /**
   * Compiled `Sidecar` objects by `<namespace>/<name>`, oldest first: what each proxy may
   * see (see sidecarScopeFor / sidecarAllows in rules/sidecar.ts). Empty: every proxy sees
   * every service exported to its namespace.
   */
  readonly sidecars: ReadonlyMap<string, SidecarScope>;
  readonly sources: readonly SourceStatus[];
  /** Warnings from compiling rules against the registry (errors never get this far). */
  readonly issues: readonly ConfigIssue[];
  readonly changes: SnapshotChanges;
}

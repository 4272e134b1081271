import type { Service } from './service.js';
import type { Workload } from './workload.js';

/**
 * Everything one source (one adapter instance) knows, replaced as a whole on each update.
 * Sharding by source means a failing source never touches another source's state.
 */
export interface RegistryShard {
  /** `<platform kind>/<instance id>`, e.g. `consul/dc1`, `static/examples`. */
  readonly source: string;
  readonly services: readonly Service[];
  readonly workloads: readonly Workload[];
}

/** Health of a source as the aggregator sees it. */
export interface SourceStatus {
  readonly source: string;
  /** True once the source delivered its first complete state. */
  readonly synced: boolean;
  /** True when the source is failing and its last good state is being served. */
  readonly stale: boolean;
  readonly lastError?: string;
  readonly lastUpdate?: string;
  readonly services: number;
  readonly workloads: number;
}

export { consulModule, type ConsulModuleOptions } from './consul-module.js';
export { ConsulPlatformAdapter, type ConsulAdapterDeps } from './consul-adapter.js';
export { ConsulKvConfigSource, type ConsulKvConfigSourceOptions } from './kv-config-source.js';
export { consulOptionsFromFlags, type ConsulFlags } from './flags.js';
export {
  DEFAULT_TUNING,
  consulSourceKey,
  type ConnectMode,
  type ConsulAdapterOptions,
  type ConsulConnectionOptions,
  type ConsulMappingOptions,
  type ConsulTlsOptions,
  type ConsulTuning,
  type RateLimit,
} from './options.js';
export { ConsulClient, ConsulRequestError, type ConsulResponse, type ConsulErrorKind } from './consul-client.js';
export { BlockingWatch, type BlockingWatchOptions, type WatchEvents } from './blocking-watch.js';
export { TokenBucket, backoffDelay } from './rate-limit.js';
export { mapService, instanceHealth, instanceLabels, resolveMapping, type MappedService, type ResolvedMapping } from './mapping.js';
export { namingPolicy, DEFAULT_DOMAIN, type NamingPolicy, type ConsulServiceRef } from './naming.js';
export type { HealthEntry, CatalogServices, KvEntry, ConsulCheck } from './consul-types.js';

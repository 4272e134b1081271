export { nomadModule, type NomadModuleOptions } from './nomad-module.js';
export { NomadPlatformAdapter, type NomadAdapterDeps } from './nomad-adapter.js';
export { nomadOptionsFromFlags, type NomadFlags } from './flags.js';
export {
  DEFAULT_TUNING,
  namespaceScopes,
  nomadSourceKey,
  type HealthMode,
  type NomadAdapterOptions,
  type NomadConnectionOptions,
  type NomadMappingOptions,
  type NomadTlsOptions,
  type NomadTuning,
} from './options.js';
export { NomadClient, NomadRequestError, ndjsonLines, type NomadResponse, type NomadErrorKind, type NomadLineStream } from './nomad-client.js';
export { EventStreamWatch, type EventStreamOptions, type EventStreamEvents, type DisconnectReason } from './event-stream.js';
export { CheckPoller, type CheckPollerOptions } from './checks.js';
export { mapService, registrationHealth, tagLabels, ownerOf, resolveMapping, NOMAD_LABELS, type MappedService, type ResolvedMapping } from './mapping.js';
export { namingPolicy, DEFAULT_DOMAIN, type NamingPolicy, type NomadServiceRef } from './naming.js';
export type { ServiceRegistration, NamespaceServices, ServiceStub, CheckResult, CheckStatus, ServiceEvent, StreamFrame } from './nomad-types.js';
export { decodeFrame, decodeChecks, decodeRegistrations, decodeServiceList } from './nomad-types.js';

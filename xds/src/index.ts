export { XdsServer, type XdsServerOptions } from './server.js';
export { buildBootstrap, XDS_CLUSTER_NAME, type BootstrapOptions } from './bootstrap.js';
export type { XdsLogger } from './logger.js';
export type { XdsProxy } from './proxy.js';
export type { ProxyStatus, TypeStatus } from './protocol/sotw-server.js';
export type { SyncStatus, RequestKind, TypeState, RequestView } from './protocol/ack.js';
export { onRequest, onDeltaRequest, onAnswer, decidePush, onSent } from './protocol/ack.js';
export type { XdsProtocol } from './protocol/stream.js';
export { CsdsService, type ResourceStatus, type ProxyConfigStatus, type ConfigStatus, type ClientResourceStatus } from './csds/csds.js';
export type { XdsCallbacks, NackEvent, ResponseEvent, StreamInfo } from './callbacks/callbacks.js';
export {
  GeneratorRegistry,
  type Generator,
  type GenerateContext,
  type ResourceMemo,
  type SnapshotInput,
} from './generators/generator.js';
export { defaultGenerators, envoyGenerators, grpcGenerators, GRPC_GENERATOR } from './generators/index.js';
export type { EncodedResource } from './resources/encoded.js';
export type { ResourceType, ClientKind, JsonObject, Validation } from './resources/resource-type.js';
export { RESOURCE_TYPES } from './resources/index.js';
export * from './resources/type-urls.js';
export { outboundClusterName, hostPortName } from './generators/mesh.js';
export { createProtoRoot, xdsProtoRoot, XDS_PROTO_FILES } from './protos/root.js';
export { xdsModule, XdsServerToken, XdsSettings } from './xds-module.js';
// Traffic management: capability profiles, what each client kind cannot enforce, PGV validation.
export {
  ENVOY_PROFILE,
  GRPC_JS_PROFILE,
  GRPC_C_CORE_PROFILE,
  GRPC_C_CORE_151_PROFILE,
  GRPC_GENERIC_PROFILE,
  PROFILES,
  VERIFIED_PROXYLESS_PROFILES,
  profileFor,
  grpcProfileFor,
  supports,
  type ClientProfile,
  type Feature,
  type ProfileId,
} from './capabilities/profiles.js';
export { adaptRoute, clusterPolicy, formatUnenforced, type Unenforced, type ClusterPolicy } from './capabilities/adapt.js';
export { unenforcedRules, proxylessGaps, describeUnenforced, type UnenforcedRule } from './capabilities/report.js';
export { checkPgv, formatViolation, type PgvViolation } from './validation/pgv.js';
export type { CapabilityReport } from './server.js';
export type { Refusal } from './cache/resource-cache.js';

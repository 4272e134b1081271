export { XdsServer, type XdsServerOptions } from './server.js';
export { buildBootstrap, XDS_CLUSTER_NAME, type BootstrapOptions } from './bootstrap.js';
export type { XdsLogger } from './logger.js';
export type { XdsProxy } from './proxy.js';
export type { ProxyStatus, TypeStatus } from './protocol/sotw-server.js';
export type { SyncStatus, RequestKind, TypeState, RequestView } from './protocol/ack.js';
export { onRequest, decidePush, onSent } from './protocol/ack.js';
export type { XdsCallbacks, NackEvent, ResponseEvent, StreamInfo } from './callbacks/callbacks.js';
export {
  GeneratorRegistry,
  type Generator,
  type GenerateContext,
  type ResourceMemo,
  type SnapshotInput,
} from './generators/generator.js';
export { defaultGenerators, grpcGenerators, GRPC_GENERATOR } from './generators/index.js';
export type { EncodedResource } from './resources/encoded.js';
export type { ResourceType, ClientKind, JsonObject, Validation } from './resources/resource-type.js';
export { RESOURCE_TYPES } from './resources/index.js';
export * from './resources/type-urls.js';
export { outboundClusterName, hostPortName } from './generators/mesh.js';
export { createProtoRoot, xdsProtoRoot, XDS_PROTO_FILES } from './protos/root.js';
export { xdsModule, XdsServerToken, XdsSettings } from './xds-module.js';

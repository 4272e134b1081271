export { NatsBus, type NatsBusOptions, type BusStatus, type MapStatus, type MirroredMap } from './nats-bus.js';
export { natsModule, NatsBusToken, busAdminEndpoint } from './nats-module.js';
export {
  NatsConnector,
  natsConnectOptions,
  redactUrl,
  type NatsConnectionOptions,
  type ConnectionStatus,
  type ConnectionState,
  type ConnectionLogger,
} from './connection.js';
export { KvReplicatedMap, type KvMapOptions } from './kv-map.js';
export { BucketLink, type BucketOptions } from './bucket.js';
export {
  LivenessView,
  HeartbeatPublisher,
  DEFAULT_GRACE_MS,
  DEFAULT_STALE_AFTER_MS,
  type Heartbeat,
  type LivenessOptions,
  type SourceHealth,
  type SourceLiveness,
} from './liveness.js';
export { registryCodec, textCodec, encodeChunks, type ValueCodec, type Envelope } from './chunking.js';
export { bucketName, eventSubject, encodeKey, decodeKey, checkMeshId, parseKvKey, type MapName } from './keys.js';
export { ExportFilter, ExportingSink, isExportAll, parseLabelSelector, type ExportPolicy } from './export-policy.js';
export { ProxyStatusPublisher, proxyStatusKey } from './proxy-status.js';
export { BusMetrics } from './metrics.js';

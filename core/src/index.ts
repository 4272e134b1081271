import 'reflect-metadata';

export * from './model/index.js';
export * from './config/object.js';
export * from './config/issues.js';
export * from './config/parse.js';
export * from './rules/compiled.js';
export * from './rules/traffic-policy.js';
export * from './snapshot/mesh-snapshot.js';
export * from './bus/bus.js';
export * from './bus/in-memory-bus.js';
export * from './spi/contribution-provider.js';
export * from './spi/platform-adapter.js';
export * from './spi/config-source.js';
export * from './spi/admin-endpoint.js';
export * from './util/hash.js';
export * from './spi/xds-contributor.js';
export * from './util/equal.js';
export * from './logging.js';
export * from './registry/aggregator.js';
export * from './registry/host-diff.js';
export * from './registry/service-entries.js';
export * from './registry/bus-registry-sink.js';
export * from './config/kinds.js';
export * from './config/validate.js';
export * from './config/store.js';
export {
  convertLegacy,
  isLegacyObject,
  legacyHost,
  readableSubsetName,
  LEGACY_API_VERSION,
  CONVERTED_FROM_ANNOTATION,
  MERGED_FROM_ANNOTATION,
} from './config/legacy.js';
export { resolveHost, hostMatches, isWildcardHost, DEFAULT_DOMAIN } from './config/hosts.js';
export { tryParseDuration } from './config/duration.js';
export { ISTIO_PROTOCOL_NAMES, isIstioProtocol } from './config/protocols.js';
export { GRPC_STATUS_CODES, grpcStatusCode } from './config/semantics.js';
export type { FieldIssue } from './config/paths.js';
export * from './rules/compile.js';
export * from './rules/sidecar.js';
export * from './snapshot/engine.js';
export * from './snapshot/build-scheduler.js';
export * from './core-module.js';
export * from './platform/token-bucket.js';
export * from './platform/blocking-query.js';
export * from './platform/http-client.js';
export * from './platform/naming.js';
export * from './platform/mapping.js';
export * from './platform/flags.js';
export * from './platform/stale-tracker.js';
export * from './platform/once-log.js';

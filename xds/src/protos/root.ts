import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import { withCorsTypes } from './cors.js';

const require = createRequire(import.meta.url);

/**
 * Envoy v3 protos Isthmus serves or reads. Every type that can appear inside an `Any` must
 * be loaded, or protobufjs silently encodes that `Any` empty (XDS-INTEROP).
 */
export const XDS_PROTO_FILES: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/service/status/v3/csds.proto',
  // Envoy sidecars: outbound TCP, listener filters, upstream HTTP/2, single-type services.
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/service/cluster/v3/cds.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/service/listener/v3/lds.proto',
  'envoy/service/route/v3/rds.proto',
  // Traffic management: retry predicates and priorities (Istio's default retry policy).
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto',
];

/** `node_modules/@grpc/grpc-js-xds/deps`: the Envoy, xDS, googleapis and PGV protos it ships. */
export function protoDepsDir(): string {
  return join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
}

/** Loads proto files (paths relative to the deps include dirs) into a fresh root. */
export function createProtoRoot(files: readonly string[]): protobuf.Root {
  const deps = protoDepsDir();
  const includeDirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
  // The deps do not ship descriptor.proto (validate.proto imports it); protobufjs does.
  const descriptor = require.resolve('protobufjs/google/protobuf/descriptor.proto');
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (isAbsolute(target)) return target;
    if (target === 'google/protobuf/descriptor.proto') return descriptor;
    for (const dir of includeDirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    // protobufjs serves its bundled well-known types (any, struct, ...) by bare name.
    return target;
  };
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}

let shared: protobuf.Root | undefined;

/** The process-wide root with XDS_PROTO_FILES (and the CORS filter types), loaded on first use (~200 ms). */
export function xdsProtoRoot(): protobuf.Root {
  shared ??= withCorsTypes(createProtoRoot(XDS_PROTO_FILES));
  return shared;
}

const types = new Map<string, protobuf.Type>();

/**
 * A message type of the shared root by full name, e.g. `envoy.config.cluster.v3.Cluster`.
 * Remembered: protobufjs splits and joins the path on every lookup, and every request
 * decodes with one.
 */
export function messageType(fullName: string): protobuf.Type {
  let type = types.get(fullName);
  if (!type) types.set(fullName, (type = xdsProtoRoot().lookupType(fullName)));
  return type;
}


const fullNames = new WeakMap<protobuf.ReflectionObject, string>();

/** `type.fullName` computed once per type (protobufjs joins the parents' names on every read). */
export function fullNameOf(type: protobuf.ReflectionObject): string {
  let name = fullNames.get(type);
  if (name === undefined) fullNames.set(type, (name = type.fullName));
  return name;
}

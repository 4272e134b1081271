import { envoyGenerators } from './envoy/index.js';
import { GeneratorRegistry } from './generator.js';
import { grpcClusterGenerator } from './grpc/cds.js';
import { grpcEndpointGenerator } from './grpc/eds.js';
import { grpcListenerGenerator } from './grpc/lds.js';
import { grpcRouteGenerator } from './grpc/rds.js';

export const GRPC_GENERATOR = 'grpc';

/** The proxyless gRPC generators, for nodes whose metadata says GENERATOR=grpc. */
export const grpcGenerators = [grpcListenerGenerator, grpcRouteGenerator, grpcClusterGenerator, grpcEndpointGenerator] as const;

export { envoyGenerators };

/**
 * The built-in registry: proxyless gRPC for GENERATOR=grpc; the Envoy sidecar generators
 * as the fallback for every other node (GENERATOR absent or anything else).
 */
export function defaultGenerators(): GeneratorRegistry {
  const registry = new GeneratorRegistry();
  for (const g of grpcGenerators) registry.register(g, GRPC_GENERATOR);
  for (const g of envoyGenerators) registry.register(g);
  return registry;
}

import { envoyClusterGenerator } from './cds.js';
import { envoyEndpointGenerator } from './eds.js';
import { envoyListenerGenerator } from './lds.js';
import { envoyRouteGenerator } from './rds.js';

export { envoyClusterGenerator, envoyEndpointGenerator, envoyListenerGenerator, envoyRouteGenerator };

/** The Envoy sidecar generators: the fallback for every node whose GENERATOR is not `grpc`. */
export const envoyGenerators = [envoyListenerGenerator, envoyRouteGenerator, envoyClusterGenerator, envoyEndpointGenerator] as const;

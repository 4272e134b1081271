import type { MeshSnapshot } from '@isthmus/core';
import { ResourceCache } from '../../src/cache/resource-cache.js';
import type { Generator, GeneratorRegistry } from '../../src/generators/generator.js';
import { defaultGenerators } from '../../src/generators/index.js';
import type { XdsProxy } from '../../src/proxy.js';
import type { EncodedResource } from '../../src/resources/encoded.js';
import type { JsonObject } from '../../src/resources/resource-type.js';
import { aProxy } from './builders.js';
import { recordingLogger } from './logger.js';

/** Runs one generator over a snapshot, as the cache would for one proxy. */
export function generate(
  generator: Generator,
  snapshot: MeshSnapshot,
  opts: { names?: readonly string[]; proxy?: XdsProxy; cache?: ResourceCache } = {},
): { resources: EncodedResource[]; byName: Map<string, JsonObject>; logger: ReturnType<typeof recordingLogger> } {
  const logger = recordingLogger();
  const cache = opts.cache ?? ResourceCache.forGenerator(generator, logger);
  const resources = generator.generate({
    snapshot,
    proxy: opts.proxy ?? aProxy(),
    names: opts.names ? new Set(opts.names) : undefined,
    memo: cache,
  });
  return { resources, byName: new Map(resources.map((r) => [r.name, r.resource])), logger };
}

/**
 * The default generators, with the gRPC generator of `typeUrl` recording the names each
 * call asks for (sorted; `*` for a wildcard): shows what a push regenerates.
 */
export function recordingGenerators(typeUrl: string): { generators: GeneratorRegistry; asked: string[][] } {
  const generators = defaultGenerators();
  const real = generators.lookup('grpc', typeUrl)!;
  const asked: string[][] = [];
  generators.register({ ...real, generate: (ctx) => (asked.push([...(ctx.names ?? ['*'])].sort()), real.generate(ctx)) }, 'grpc');
  return { generators, asked };
}

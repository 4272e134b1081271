import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { ContainerModule } from 'inversify';
import type { Logger } from '@isthmus/core';

/**
 * What a plugin package exports (default export or `isthmusPlugin`): a name for logs and
 * one ContainerModule that binds contributions to core's extension points
 * (PlatformAdapter, ConfigSource, XdsContributor, AdminEndpoint) or rebinds a core token.
 */
export interface IsthmusPlugin {
  readonly name: string;
  readonly module: ContainerModule;
}

// Duck-typed: a plugin may resolve its own copy of inversify.
function isModule(v: unknown): v is ContainerModule {
  return typeof v === 'object' && v !== null && typeof (v as ContainerModule).load === 'function';
}

function isPlugin(v: unknown): v is IsthmusPlugin {
  return typeof v === 'object' && v !== null && typeof (v as IsthmusPlugin).name === 'string' &&
    isModule((v as IsthmusPlugin).module);
}

/**
 * Loads a plugin by npm package name (or path), resolved from the working directory so
 * users install plugins next to their config, not inside Isthmus. Fails fast and clearly.
 */
export async function loadPlugin(spec: string, logger: Logger, cwd = process.cwd()): Promise<IsthmusPlugin> {
  let resolved: string;
  try {
    resolved = createRequire(pathToFileURL(`${cwd}/`).href).resolve(spec);
  } catch {
    throw new Error(`plugin "${spec}": package not found from ${cwd} (install it with npm, or give a path)`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`plugin "${spec}": failed to load ${resolved}: ${(err as Error).message}`);
  }
  const candidate = mod.isthmusPlugin ?? mod.default;
  if (isModule(candidate)) {
    logger.info({ plugin: spec, path: resolved }, 'plugin loaded');
    return { name: spec, module: candidate };
  }
  if (!isPlugin(candidate)) {
    throw new Error(
      `plugin "${spec}": ${resolved} must export (default or as \`isthmusPlugin\`) a ContainerModule or { name, module: ContainerModule }`,
    );
  }
  logger.info({ plugin: candidate.name, package: spec, path: resolved }, 'plugin loaded');
  return candidate;
}

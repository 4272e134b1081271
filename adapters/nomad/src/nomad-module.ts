import { ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import { LoggerToken, MetricsRegistry, PlatformAdapter, type Logger } from '@isthmus/core';
import { NomadPlatformAdapter } from './nomad-adapter.js';
import type { NomadAdapterOptions } from './options.js';

/** Options of the Nomad module: one adapter per region. */
export interface NomadModuleOptions extends Omit<NomadAdapterOptions, 'region' | 'sourceId'> {
  /** One adapter (source `nomad/<region>`) per region; none means the agent's own (`nomad/local`). */
  readonly regions?: readonly string[];
}

/**
 * Binds a PlatformAdapter per Nomad region. `isthmus serve --nomad <url>` loads it; a
 * program embedding Isthmus can load it too.
 */
export function nomadModule(options: NomadModuleOptions): ContainerModule {
  const regions = options.regions && options.regions.length > 0 ? [...new Set(options.regions)] : [undefined];
  return new ContainerModule(({ bind }) => {
    for (const region of regions) {
      bind<PlatformAdapter>(PlatformAdapter)
        .toDynamicValue(
          (ctx) =>
            new NomadPlatformAdapter(
              { ...options, ...(region ? { region } : {}) },
              {
                metrics: ctx.get<Registry>(MetricsRegistry, { optional: true }),
                logger: ctx.get<Logger>(LoggerToken, { optional: true })?.child({ component: 'nomad', region: region ?? 'local' }),
              },
            ),
        )
        .inSingletonScope();
    }
  });
}

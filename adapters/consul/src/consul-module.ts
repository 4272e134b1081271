import { ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import { ConfigSource, LoggerToken, MetricsRegistry, PlatformAdapter, type Logger } from '@isthmus/core';
import { ConsulPlatformAdapter } from './consul-adapter.js';
import { ConsulKvConfigSource } from './kv-config-source.js';
import type { ConsulAdapterOptions } from './options.js';

/** Options of the Consul module: one adapter per datacenter, and optionally a KV config source. */
export interface ConsulModuleOptions extends Omit<ConsulAdapterOptions, 'datacenter' | 'sourceId'> {
  /** One adapter (source `consul/<dc>`) per datacenter; none means the agent's own (`consul/local`). */
  readonly datacenters?: readonly string[];
  /** Read Istio-kind config from this KV prefix (in the first datacenter). */
  readonly kvPrefix?: string;
}

/**
 * Binds a PlatformAdapter per Consul datacenter and, with `kvPrefix`, a ConfigSource.
 * `isthmus serve --consul <url>` loads it; a program embedding Isthmus can load it too.
 */
export function consulModule(options: ConsulModuleOptions): ContainerModule {
  const dcs = options.datacenters && options.datacenters.length > 0 ? [...new Set(options.datacenters)] : [undefined];
  return new ContainerModule(({ bind }) => {
    for (const dc of dcs) {
      bind<PlatformAdapter>(PlatformAdapter)
        .toDynamicValue((ctx) => {
          const adapter = new ConsulPlatformAdapter(
            { ...options, ...(dc ? { datacenter: dc } : {}) },
            {
              metrics: ctx.get<Registry>(MetricsRegistry, { optional: true }),
              logger: ctx.get<Logger>(LoggerToken, { optional: true })?.child({ component: 'consul', dc: dc ?? 'local' }),
            },
          );
          return adapter;
        })
        .inSingletonScope();
    }
    if (options.kvPrefix) {
      const prefix = options.kvPrefix;
      bind<ConfigSource>(ConfigSource)
        .toDynamicValue(
          (ctx) =>
            new ConsulKvConfigSource(
              { ...options, prefix, ...(dcs[0] ? { datacenter: dcs[0] } : {}) },
              ctx.get<Logger>(LoggerToken, { optional: true })?.child({ component: 'consul-kv' }),
            ),
        )
        .inSingletonScope();
    }
  });
}

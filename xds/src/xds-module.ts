import { ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import { LoggerToken, MetricsRegistry, XdsContributor, type Logger } from '@isthmus/core';
import { XdsServer } from './server.js';

export const XdsServerToken = Symbol.for('isthmus.XdsServer');

/** Settings the cli binds before loading `xdsModule`. */
export const XdsSettings = Symbol.for('isthmus.XdsSettings');
export interface XdsSettings {
  /** Names this replica in responses and proxy status. */
  readonly serverId: string;
}

/** Binds the xDS server, fed with every XdsContributor bound by plugins. */
export const xdsModule = new ContainerModule(({ bind }) => {
  bind<XdsServer>(XdsServerToken)
    .toDynamicValue(
      (ctx) =>
        new XdsServer({
          logger: ctx.get<Logger>(LoggerToken).child({ component: 'xds' }),
          metrics: ctx.get<Registry>(MetricsRegistry),
          serverId: ctx.get<XdsSettings>(XdsSettings).serverId,
          contributors: ctx.getAll<XdsContributor>(XdsContributor, { optional: true }),
        }),
    )
    .inSingletonScope();
});


import { ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import { AdminEndpoint, Bus, LoggerToken, MetricsRegistry, type Logger } from '@isthmus/core';
import { NatsBus, type NatsBusOptions } from './nats-bus.js';

/** The NatsBus itself (the same object as `Bus`), for the roles that need more than Bus. */
export const NatsBusToken = Symbol.for('isthmus.NatsBus');

/**
 * Rebinds core's `Bus` to a NatsBus (built from `options`, or the instance given when two
 * roles of one process share a connection), and adds `/debug/busz` to the admin port.
 * Load it after `coreModule`.
 */
export function natsModule(options: NatsBusOptions | NatsBus): ContainerModule {
  return new ContainerModule(({ bind, isBound, rebind }) => {
    bind<NatsBus>(NatsBusToken)
      .toDynamicValue((ctx) => {
        if (options instanceof NatsBus) return options;
        return new NatsBus({
          ...options,
          logger: options.logger ?? ctx.get<Logger>(LoggerToken).child({ component: 'nats' }),
          metrics: options.metrics ?? ctx.get<Registry>(MetricsRegistry),
        });
      })
      .inSingletonScope();
    (isBound(Bus) ? rebind<Bus>(Bus) : bind<Bus>(Bus)).toDynamicValue((ctx) => ctx.get<NatsBus>(NatsBusToken)).inSingletonScope();
    bind<AdminEndpoint>(AdminEndpoint)
      .toDynamicValue((ctx) => busAdminEndpoint(ctx.get<NatsBus>(NatsBusToken)))
      .inSingletonScope();
  });
}

/** `/debug/busz`: the NATS link, the mirrored maps and the liveness of every source. */
export function busAdminEndpoint(bus: NatsBus): AdminEndpoint {
  return {
    path: '/debug/busz',
    description: 'NATS bus: connection (down since), KV maps (entries, revisions, unsent writes), source heartbeats',
    handle(_req, res) {
      const body = JSON.stringify(bus.status(), null, 2);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body + '\n');
    },
  };
}

import { ContainerModule } from 'inversify';
import { Registry } from 'prom-client';
import { Bus } from './bus/bus.js';
import { InMemoryBus } from './bus/in-memory-bus.js';
import { createLogger, LoggerToken, type Logger } from './logging.js';
import { MeshEngine } from './snapshot/engine.js';

export const MetricsRegistry = Symbol.for('isthmus.MetricsRegistry');
export const MeshEngineToken = Symbol.for('isthmus.MeshEngine');

/** Options the core module reads; the cli binds them from flags. */
export const CoreOptions = Symbol.for('isthmus.CoreOptions');
export interface CoreOptions {
  readonly debounceMs?: number;
  readonly maxDelayMs?: number;
  /** Config changes on a quiet mesh are built at once (MeshEngineOptions; default true). */
  readonly debounceLeadingEdge?: boolean;
  /** Endpoint-only changes: least time between builds (MeshEngineOptions). */
  readonly endpointIntervalMs?: number;
  /** Endpoint-only changes: largest share of time their builds may take (MeshEngineOptions). */
  readonly endpointBuildShare?: number;
  readonly logLevel?: string;
}

/**
 * Core bindings: logger, metrics registry, the in-memory bus (a plugin may rebind Bus,
 * e.g. to NATS) and the rules engine. Extension points (PlatformAdapter, ConfigSource,
 * XdsContributor, AdminEndpoint) are multi-bound by other modules.
 */
export const coreModule = new ContainerModule(({ bind, isBound }) => {
  if (!isBound(CoreOptions)) bind<CoreOptions>(CoreOptions).toConstantValue({});
  bind<Logger>(LoggerToken)
    .toDynamicValue((ctx) => createLogger(ctx.get<CoreOptions>(CoreOptions).logLevel))
    .inSingletonScope();
  bind(MetricsRegistry).toConstantValue(new Registry());
  bind<Bus>(Bus).toDynamicValue(() => new InMemoryBus()).inSingletonScope();
  bind(MeshEngineToken)
    .toDynamicValue((ctx) => {
      const options = ctx.get<CoreOptions>(CoreOptions);
      return new MeshEngine(ctx.get<Bus>(Bus), {
        logger: ctx.get<Logger>(LoggerToken).child({ component: 'engine' }),
        metrics: ctx.get<Registry>(MetricsRegistry),
        ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
        ...(options.maxDelayMs !== undefined ? { maxDelayMs: options.maxDelayMs } : {}),
        ...(options.debounceLeadingEdge !== undefined ? { debounceLeadingEdge: options.debounceLeadingEdge } : {}),
        ...(options.endpointIntervalMs !== undefined ? { endpointIntervalMs: options.endpointIntervalMs } : {}),
        ...(options.endpointBuildShare !== undefined ? { endpointBuildShare: options.endpointBuildShare } : {}),
      });
    })
    .inSingletonScope();
});

import { ContainerModule } from 'inversify';
import { ConfigSource, LoggerToken, type Logger } from '@isthmus/core';
import { StaticConfigSource } from './static-config-source.js';

/** Binds a StaticConfigSource over `paths` (files or directories); nothing when empty. */
export function staticModule(paths: readonly string[]): ContainerModule {
  return new ContainerModule(({ bind }) => {
    if (paths.length === 0) return;
    bind<ConfigSource>(ConfigSource)
      .toDynamicValue(
        (ctx) =>
          new StaticConfigSource({
            paths: [...paths],
            logger: ctx.get<Logger>(LoggerToken).child({ component: 'static' }),
          }),
      )
      .inSingletonScope();
  });
}

import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '@isthmus/core';
import { loadPlugin } from '../plugins.js';
import { MeshRuntime } from '../runtime.js';

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${value}" is not a port (0-65535)`);
  return n;
}

function parseMs(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a number of milliseconds`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('Run the control plane: sources, rules engine, xDS server and admin HTTP in one process')
    .option('--static <path>', 'YAML/JSON file or directory of services and rules (repeatable)', collect, [])
    .option('--xds-port <port>', 'gRPC xDS (ADS) port', parsePort, 15010)
    .option('--http-port <port>', 'admin HTTP port (/healthz/ready, /metrics, /debug/*)', parsePort, 15014)
    .option('--address <ip>', 'address to listen on', '0.0.0.0')
    .option('--plugin <package>', 'load a plugin package by npm name or path (repeatable)', collect, [])
    .option('--debounce-ms <ms>', 'quiet period before a burst of changes is pushed', parseMs, 100)
    .option('--max-delay-ms <ms>', 'longest a change waits during a continuous burst', parseMs, 1000)
    .option('--log-level <level>', 'trace|debug|info|warn|error (env ISTHMUS_LOG_LEVEL)', process.env.ISTHMUS_LOG_LEVEL ?? 'info')
    .addHelpText(
      'after',
      `
Examples:
  isthmus serve --static examples/canary/
  isthmus serve --static mesh.yaml --xds-port 15010 --http-port 15014
  isthmus serve --static rules/ --plugin @acme/isthmus-plugin-eureka`,
    )
    .action(async (opts: {
      static: string[]; xdsPort: number; httpPort: number; address: string; plugin: string[];
      debounceMs: number; maxDelayMs: number; logLevel: string;
    }) => {
      const logger = createLogger(opts.logLevel);
      if (opts.static.length === 0 && opts.plugin.length === 0) {
        logger.warn({}, 'no --static path and no --plugin: serving an empty mesh');
      }
      const plugins = [];
      for (const name of opts.plugin) plugins.push(await loadPlugin(name, logger));
      const runtime = new MeshRuntime({
        staticPaths: opts.static,
        address: opts.address,
        xdsPort: opts.xdsPort,
        httpPort: opts.httpPort,
        debounceMs: opts.debounceMs,
        maxDelayMs: opts.maxDelayMs,
        logLevel: opts.logLevel,
        modules: plugins.map((p) => p.module),
      });
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        runtime.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'error during shutdown');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      try {
        await runtime.start();
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'failed to start');
        await runtime.stop().catch(() => undefined);
        process.exit(1);
      }
    });
}

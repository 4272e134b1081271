import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { createLogger } from '@isthmus/core';
import { natsModule } from '@isthmus/plugin-nats';
import { loadPlugin } from '../plugins.js';
import { MeshRuntime } from '../runtime.js';
import { runUntilSignal } from '../process-lifecycle.js';
import { XdsRoleExtension } from './federation.js';
import { natsBusOptionsFromFlags, parseDurationMs, withNatsOptions, type NatsFlags } from './nats-flags.js';
import { parsePort } from './serve.js';
import { buildPolicyFromFlags, withBuildPolicyOptions, type BuildPolicyFlags } from './build-policy-flags.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** --stale-after / --grace, shared by `xds` and `serve --nats`. */
export interface LivenessFlags {
  readonly staleAfter: number;
  readonly grace: number;
}

export function withLivenessOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--stale-after <duration>', 'mark a source stale after this long without a heartbeat from its adapter').default(15_000, '15s').argParser(parseDurationMs))
    .addOption(new Option('--grace <duration>', 'keep a stale source\'s workloads this long, then remove them').default(300_000, '5m').argParser(parseDurationMs));
}

export function xdsCommand(): Command {
  const cmd = new Command('xds')
    .description('Serve proxies (xDS) from the registry and rules on NATS; not ready until the KV state is loaded')
    .option('--xds-port <port>', 'gRPC xDS (ADS) port', parsePort, 15010)
    .option('--http-port <port>', 'admin HTTP port (/healthz/ready, /metrics, /debug/*)', parsePort, 15014)
    .option('--address <ip>', 'address to listen on', '0.0.0.0')
    .option('--server-id <id>', 'names this replica in responses and proxy status (default <host>:<xds-port>)')
    .option('--plugin <package>', 'load a plugin package by npm name or path (repeatable)', collect, [])
    .option('--require-source <source>', 'serve nothing until this registry source is on NATS, e.g. consul/dc1 (repeatable)', collect, []);
  withBuildPolicyOptions(cmd)
    .option('--log-level <level>', 'trace|debug|info|warn|error (env ISTHMUS_LOG_LEVEL)', process.env.ISTHMUS_LOG_LEVEL ?? 'info');
  withNatsOptions(withLivenessOptions(cmd), { required: true });
  return cmd
    .addHelpText(
      'after',
      `
Every replica computes the same versions from the same KV state, so a proxy may move
between replicas without a push. grpc-js uses only the first xds_servers entry of its
bootstrap: give proxies one server_uri that reaches every replica (DNS or a load balancer).

Examples:
  isthmus xds --nats nats://nats:4222
  isthmus xds --nats nats://n1:4222,nats://n2:4222,nats://n3:4222 --nats-replicas 3 --grace 10m`,
    )
    .action(async (opts: NatsFlags & LivenessFlags & {
      xdsPort: number; httpPort: number; address: string; serverId?: string; plugin: string[]; requireSource: string[];
      logLevel: string;
    } & BuildPolicyFlags) => {
      const logger = createLogger(opts.logLevel);
      const plugins = [];
      for (const name of opts.plugin) plugins.push(await loadPlugin(name, logger));
      const serverId = opts.serverId ?? `${hostname()}:${opts.xdsPort}`;
      const runtime = new MeshRuntime({
        staticPaths: [],
        address: opts.address,
        xdsPort: opts.xdsPort,
        httpPort: opts.httpPort,
        ...buildPolicyFromFlags(opts),
        logLevel: opts.logLevel,
        serverId,
        modules: [
          natsModule(natsBusOptionsFromFlags(opts, { liveness: { staleAfterMs: opts.staleAfter, graceMs: opts.grace }, processId: `xds/${serverId}` })),
          ...plugins.map((p) => p.module),
        ],
        extensions: [new XdsRoleExtension(serverId, undefined, opts.requireSource.flatMap((x) => x.split(',')).filter(Boolean))],
      });
      await runUntilSignal(logger, () => runtime.start(), () => runtime.stop());
    });
}

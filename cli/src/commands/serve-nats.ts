import { hostname } from 'node:os';
import type { Command } from 'commander';
import { ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import { AdminEndpoint, MetricsRegistry, createLogger } from '@isthmus/core';
import { NatsBusToken, natsModule, type NatsBus } from '@isthmus/plugin-nats';
import { MeshRuntime } from '../runtime.js';
import { exportPolicyFromFlags, withAdapterOptions, type AdapterFlags } from './adapter.js';
import { runUntilSignal } from '../process-lifecycle.js';
import { AdapterRole, XdsRoleExtension } from './federation.js';
import { natsBusOptionsFromFlags, withNatsOptions, type NatsFlags } from './nats-flags.js';
import { withLivenessOptions, type LivenessFlags } from './xds.js';
import { buildPolicyFromFlags, type BuildPolicyFlags } from './build-policy-flags.js';

/** Adds `--nats` and the flags that go with it to `serve` (registered in main.ts). */
export function withFederationOptions(serve: Command): Command {
  return withNatsOptions(withAdapterOptions(withLivenessOptions(serve)));
}

/** The flags `serve --nats` reads (serve's own plus the NATS, adapter and liveness ones). */
export type ServeOverNatsFlags = NatsFlags & AdapterFlags & LivenessFlags & {
  static: string[]; xdsPort: number; httpPort: number; address: string; logLevel: string;
} & BuildPolicyFlags;

/**
 * `isthmus serve --nats`: both roles in one process over one NATS connection. The adapter
 * role publishes this runtime's sources (static files, Consul, plugins) like `isthmus
 * adapter`; the xDS role serves what NATS holds, like `isthmus xds` — so a process on its
 * own and a process in a federation behave the same.
 */
export async function serveOverNats(opts: ServeOverNatsFlags, modules: readonly ContainerModule[]): Promise<void> {
  const logger = createLogger(opts.logLevel);
  const id = opts.id ?? hostname();
  const serverId = `${hostname()}:${opts.xdsPort}`;
  const holder: { role?: AdapterRole } = {};
  const local = {
    get isStarted() {
      return holder.role?.isStarted ?? false;
    },
    get sources() {
      return holder.role?.sources ?? [];
    },
  };
  const adapterz = new ContainerModule(({ bind }) => {
    bind<AdminEndpoint>(AdminEndpoint).toConstantValue({
      path: '/debug/adapterz',
      description: 'Adapter role: sources published on NATS, export policy, refused config',
      handle: (req, res, url) => holder.role?.adminEndpoint().handle(req, res, url),
    });
  });
  const runtime = new MeshRuntime({
    staticPaths: [],
    address: opts.address,
    xdsPort: opts.xdsPort,
    httpPort: opts.httpPort,
    ...buildPolicyFromFlags(opts),
    logLevel: opts.logLevel,
    serverId,
    modules: [
      natsModule(natsBusOptionsFromFlags(opts, { liveness: { staleAfterMs: opts.staleAfter, graceMs: opts.grace }, processId: `serve/${id}` })),
      adapterz,
    ],
    extensions: [new XdsRoleExtension(serverId, local)],
  });
  await runUntilSignal(
    logger,
    async () => {
      await runtime.start();
      holder.role = new AdapterRole({
        id,
        bus: runtime.container.get<NatsBus>(NatsBusToken),
        logger,
        metrics: runtime.container.get<Registry>(MetricsRegistry),
        staticPaths: opts.static,
        modules,
        exportPolicy: exportPolicyFromFlags(opts),
        heartbeatMs: opts.heartbeat,
      });
      await holder.role.start();
    },
    async () => {
      await holder.role?.stop();
      await runtime.stop();
    },
  );
}

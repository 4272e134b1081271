import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { Registry } from 'prom-client';
import { createLogger, type AdminEndpoint, type Logger } from '@isthmus/core';
import { NatsBus, busAdminEndpoint, parseLabelSelector, type ExportPolicy } from '@isthmus/plugin-nats';
import { consulModule, consulOptionsFromFlags, type ConsulFlags } from '@isthmus/adapter-consul';
import { nomadModule, nomadOptionsFromFlags, type NomadFlags } from '@isthmus/adapter-nomad';
import { kubernetesModule, kubernetesOptionsFromFlags, type KubernetesFlags } from '@isthmus/adapter-kubernetes';
import type { ContainerModule } from 'inversify';
import { AdminServer, sendJson } from '../admin/admin-server.js';
import { loadPlugin } from '../plugins.js';
import { runUntilSignal } from '../process-lifecycle.js';
import { AdapterRole } from './federation.js';
import { natsBusOptionsFromFlags, parseDurationMs, withNatsOptions, type NatsFlags } from './nats-flags.js';
import { kubernetesRequested, parsePort, serveCommand, withContextAlias } from './serve.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The federation flags every adapter-capable command shares (adapter, serve --nats). */
export interface AdapterFlags {
  readonly id?: string;
  readonly exportNamespace: string[];
  readonly exportLabel: string[];
  readonly exportService: string[];
  readonly heartbeat: number;
}

export function exportPolicyFromFlags(f: AdapterFlags): ExportPolicy {
  const list = (v: readonly string[]) => v.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  const labels = parseLabelSelector(f.exportLabel);
  return {
    ...(f.exportNamespace.length > 0 ? { namespaces: list(f.exportNamespace) } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(f.exportService.length > 0 ? { names: list(f.exportService) } : {}),
  };
}

/** Adds --id, --export-*, --heartbeat. */
export function withAdapterOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--id <name>', 'names this adapter (its static source is static/<id>); default: the host name'))
    .addOption(new Option('--export-namespace <ns>', 'export only services (and rules) of these namespaces (repeatable or comma list)').argParser(collect).default([]))
    .addOption(new Option('--export-label <key=value>', 'export only services (and rules) with these labels (repeatable)').argParser(collect).default([]))
    .addOption(new Option('--export-service <glob>', 'export only services whose hostname or short name matches (repeatable; * and ?)').argParser(collect).default([]))
    .addOption(new Option('--heartbeat <duration>', 'heartbeat interval per source (xDS servers age sources that stop)').default(5000, '5s').argParser(parseDurationMs));
}

export function adapterCommand(): Command {
  const cmd = new Command('adapter')
    .description('Publish one runtime\'s registry and rules on NATS (no xDS): static files, Consul, Nomad, Kubernetes, plugins')
    .option('--static <path>', 'YAML/JSON file or directory of services and rules (repeatable)', collect, [])
    .option('--plugin <package>', 'load a plugin package by npm name or path (repeatable)', collect, [])
    .option('--http-port <port>', 'admin HTTP port (/healthz/ready, /metrics, /debug/busz, /debug/adapterz)', parsePort, 15016)
    .option('--address <ip>', 'address the admin port listens on', '0.0.0.0')
    .option('--log-level <level>', 'trace|debug|info|warn|error (env ISTHMUS_LOG_LEVEL)', process.env.ISTHMUS_LOG_LEVEL ?? 'info');
  // The platform flags are serve's own, so both commands stay in step.
  for (const option of serveCommand().options) {
    const long = option.long ?? '';
    if (['--consul', '--nomad', '--kube'].some((p) => long.startsWith(p)) || long === '--in-cluster' || long === '--context') cmd.addOption(option);
  }
  withNatsOptions(withAdapterOptions(cmd), { required: true });
  return cmd
    .addHelpText(
      'after',
      `
Examples:
  isthmus adapter --nats nats://nats:4222 --id vms-eu --static services/
  isthmus adapter --nats nats://nats:4222 --id dc1 --consul http://127.0.0.1:8500 --export-namespace payments
  isthmus adapter --nats nats://nats:4222 --id eu-west --nomad http://127.0.0.1:4646 --nomad-region global
  isthmus adapter --nats nats://nats:4222 --id east --in-cluster --kube-cluster-id east
  isthmus adapter --nats tls://nats:4222 --nats-creds adapter.creds --nats-ca ca.pem --static mesh.yaml`,
    )
    .action(async (opts: NatsFlags & AdapterFlags & Partial<ConsulFlags> & Partial<NomadFlags> & KubernetesFlags & { context?: string[] } & {
      static: string[]; plugin: string[]; httpPort: number; address: string; logLevel: string;
    }) => {
      const logger = createLogger(opts.logLevel);
      const id = opts.id ?? hostname();
      const modules: ContainerModule[] = [];
      if (opts.consul) modules.push(consulModule(consulOptionsFromFlags({ ...opts, consul: opts.consul })));
      if (opts.nomad) modules.push(nomadModule(nomadOptionsFromFlags({ ...opts, nomad: opts.nomad })));
      const kubeOpts = withContextAlias(opts);
      if (kubernetesRequested(kubeOpts)) modules.push(kubernetesModule(kubernetesOptionsFromFlags(kubeOpts)));
      for (const name of opts.plugin) modules.push((await loadPlugin(name, logger)).module);
      if (opts.static.length === 0 && modules.length === 0) throw new Error('nothing to publish: give --static, --consul, --nomad, --kubeconfig/--in-cluster or --plugin');
      const metrics = new Registry();
      const bus = new NatsBus(natsBusOptionsFromFlags(opts, { mirror: ['config'], logger: logger.child({ component: 'nats' }), metrics, processId: `adapter/${id}` }));
      const role = new AdapterRole({
        id,
        bus,
        logger,
        metrics,
        staticPaths: opts.static,
        modules,
        exportPolicy: exportPolicyFromFlags(opts),
        heartbeatMs: opts.heartbeat,
      });
      const admin = new AdminServer(adapterAdminEndpoints(role, bus, metrics), logger.child({ component: 'admin' }));
      await runUntilSignal(logger, async () => {
        const port = await admin.listen(opts.address, opts.httpPort);
        logger.info({ admin: `${opts.address}:${port}`, adapter: id }, 'adapter admin listening');
        await role.start();
      }, async () => {
        await role.stop();
        await bus.close();
        await admin.close();
      });
    });
}

export function adapterAdminEndpoints(role: AdapterRole, bus: NatsBus, metrics: Registry): AdminEndpoint[] {
  return [
    {
      path: '/healthz/ready',
      description: 'Ready once connected to NATS and everything read so far is published',
      handle: (_req, res) => {
        if (role.isReady()) {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('ready\n');
        } else {
          sendJson(res, 503, { ready: false, waitingFor: [bus.notReadyReason() ?? (role.isStarted ? 'writes to be acknowledged by NATS' : 'sources to start')] });
        }
      },
    },
    {
      path: '/metrics',
      description: 'Prometheus metrics',
      handle: async (_req, res) => {
        const text = await metrics.metrics();
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(text);
      },
    },
    busAdminEndpoint(bus),
    role.adminEndpoint(),
  ];
}


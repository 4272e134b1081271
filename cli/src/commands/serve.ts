import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '@isthmus/core';
import { consulModule, consulOptionsFromFlags, type ConsulFlags } from '@isthmus/adapter-consul';
import { nomadModule, nomadOptionsFromFlags, type NomadFlags } from '@isthmus/adapter-nomad';
import { kubernetesModule, kubernetesOptionsFromFlags, type KubernetesFlags } from '@isthmus/adapter-kubernetes';
import { loadPlugin } from '../plugins.js';
import { MeshRuntime } from '../runtime.js';
import { withConfigFile } from '../config-file.js';
import { runUntilSignal } from '../process-lifecycle.js';
import { serveOverNats, type ServeOverNatsFlags } from './serve-nats.js';
import { buildPolicyFromFlags, withBuildPolicyOptions, type BuildPolicyFlags } from './build-policy-flags.js';

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${value}" is not a port (0-65535)`);
  return n;
}

/** `--context` (kubectl's spelling) adds to `--kube-context`. */
export function withContextAlias<T extends KubernetesFlags & { context?: readonly string[] }>(f: T): T {
  if (!f.context?.length) return f;
  return { ...f, kubeContext: [...(f.kubeContext ?? []), ...f.context] };
}

/**
 * Kubernetes is read when asked for explicitly; a KUBECONFIG in the environment alone does
 * not turn it on (it is set on most developer machines), it only says which file to read.
 */
export function kubernetesRequested(f: KubernetesFlags): boolean {
  return !!f.kubeconfig || !!f.inCluster || (f.kubeContext?.length ?? 0) > 0;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function serveCommand(): Command {
  const cmd = withConfigFile(new Command('serve'))
    .description('Run the control plane: sources, rules engine, xDS server and admin HTTP in one process')
    .option('--static <path>', 'YAML/JSON file or directory of services and rules (repeatable)', collect, [])
    .option('--xds-port <port>', 'gRPC xDS (ADS) port', parsePort, 15010)
    .option('--http-port <port>', 'admin HTTP port (/healthz/ready, /metrics, /debug/*)', parsePort, 15014)
    .option('--address <ip>', 'address to listen on', '0.0.0.0')
    .option('--plugin <package>', 'load a plugin package by npm name or path (repeatable)', collect, []);
  return withBuildPolicyOptions(cmd)
    .option('--log-level <level>', 'trace|debug|info|warn|error (env ISTHMUS_LOG_LEVEL)', process.env.ISTHMUS_LOG_LEVEL ?? 'info')
    .option('--consul <url>', 'read services from Consul at <url> (http://127.0.0.1:8500, https://...:8501)')
    .option('--consul-token <token>', 'Consul ACL token (env CONSUL_HTTP_TOKEN)')
    .option('--consul-token-file <path>', 'file with the Consul ACL token, re-read after a 403 (env CONSUL_HTTP_TOKEN_FILE)')
    .option('--consul-dc <dc>', 'Consul datacenter, one source each (repeatable or comma list; default: the agent\'s)', collect, [])
    .option('--consul-namespace <ns>', 'Consul Enterprise namespace (env CONSUL_NAMESPACE)')
    .option('--consul-partition <name>', 'Consul Enterprise admin partition (env CONSUL_PARTITION)')
    .option('--consul-ca-file <path>', 'CA bundle that signs Consul\'s certificate (env CONSUL_CACERT)')
    .option('--consul-cert-file <path>', 'client certificate for Consul (env CONSUL_CLIENT_CERT)')
    .option('--consul-key-file <path>', 'client key for Consul (env CONSUL_CLIENT_KEY)')
    .option('--consul-tls-server-name <name>', 'name to verify in Consul\'s certificate (env CONSUL_TLS_SERVER_NAME)')
    .option('--consul-tls-skip-verify', 'do not verify Consul\'s certificate (development only)')
    .option('--consul-domain <domain>', 'mesh hostnames <service>.<domain> (default service.consul), or a template with {service} {namespace} {partition} {dc}')
    .option('--consul-service <name>', 'watch only these Consul services (repeatable or comma list; * globs)', collect, [])
    .option('--consul-tag <tag>', 'watch only Consul services with one of these tags (repeatable or comma list)', collect, [])
    .option('--consul-connect <mode>', 'Consul Connect sidecars: ignore (default) or sidecar (route through them)')
    .option('--consul-kv-prefix <prefix>', 'also read Istio config (YAML/JSON) from the Consul KV keys under <prefix>')
    .option('--nomad <url>', 'read Nomad native services (provider = "nomad") from the Nomad agent at <url> (http://127.0.0.1:4646)')
    .option('--nomad-token <token>', 'Nomad ACL token, needs namespace:read-job (env NOMAD_TOKEN)')
    .option('--nomad-token-file <path>', 'file with the Nomad ACL token, re-read after a 403')
    .option('--nomad-namespace <ns>', 'Nomad namespaces to read: one, several (repeatable or comma list) or * (env NOMAD_NAMESPACE; default default)', collect, [])
    .option('--nomad-region <region>', 'Nomad region, one source each (repeatable or comma list; env NOMAD_REGION; default: the agent\'s)', collect, [])
    .option('--nomad-domain <domain>', 'mesh hostnames <service>.<domain> (default service.nomad), or a template with {service} {namespace} {region}')
    .option('--nomad-health <mode>', 'checks (default: allocation check results) or placed (every registration is healthy)')
    .option('--nomad-service <name>', 'watch only these Nomad services (repeatable or comma list; * globs)', collect, [])
    .option('--nomad-tag <tag>', 'watch only Nomad services with one of these tags (repeatable or comma list)', collect, [])
    .option('--nomad-ca-file <path>', 'CA bundle that signs Nomad\'s certificate (env NOMAD_CACERT)')
    .option('--nomad-cert-file <path>', 'client certificate for Nomad (env NOMAD_CLIENT_CERT)')
    .option('--nomad-key-file <path>', 'client key for Nomad (env NOMAD_CLIENT_KEY)')
    .option('--nomad-tls-server-name <name>', 'name to verify in Nomad\'s certificate, e.g. server.global.nomad (env NOMAD_TLS_SERVER_NAME)')
    .option('--nomad-tls-skip-verify', 'do not verify Nomad\'s certificate (development only; env NOMAD_SKIP_VERIFY)')
    .option('--kubeconfig <path>', 'read Services, EndpointSlices, Pods and Istio CRDs from the Kubernetes cluster of this kubeconfig (\':\'-separated list; env KUBECONFIG)')
    .option('--kube-context <name>', 'kubeconfig contexts to read, one cluster each (repeatable or comma list; default: the current context)', collect, [])
    .option('--context <name>', 'same as --kube-context, as kubectl spells it', collect, [])
    .option('--in-cluster', 'read the Kubernetes cluster Isthmus runs in, with its pod\'s service account')
    .option('--kube-cluster-id <id>', 'cluster id (source kubernetes/<id>, label topology.istio.io/cluster; default Kubernetes), or <context>=<id> per context (repeatable)', collect, [])
    .option('--kube-namespace <ns>', 'read only these namespaces (repeatable or comma list; default all)', collect, [])
    .option('--kube-namespace-selector <labels>', 'also read namespaces whose labels match, like Istio\'s discoverySelectors (repeatable)', collect, [])
    .option('--kube-domain <domain>', 'cluster domain: hostnames <svc>.<ns>.svc.<domain> (default cluster.local)')
    .option('--kube-trust-domain <domain>', 'SPIFFE trust domain of workload identities (default cluster.local)')
    .option('--kube-config-context <name>', 'read Istio config only from these contexts (repeatable; default: every context read), for clusters that replicate their config', collect, [])
    .option('--kube-no-config', 'read only the registry from Kubernetes, not the Istio config CRDs')
    .option('--kube-write-status', 'write validation errors into the status of invalid Istio objects (needs the status-writer ClusterRole)')
    .addHelpText(
      'after',
      `
Examples:
  isthmus serve --static examples/canary/
  isthmus serve --static mesh.yaml --xds-port 15010 --http-port 15014
  isthmus serve --static rules/ --plugin @acme/isthmus-plugin-eureka
  isthmus serve --consul http://127.0.0.1:8500 --consul-dc dc1,dc2 --static rules/
  isthmus serve --nomad http://127.0.0.1:4646 --nomad-namespace '*' --static rules/
  isthmus serve --consul http://127.0.0.1:8500 --consul-domain mesh.internal --nomad http://127.0.0.1:4646 --nomad-domain mesh.internal
  isthmus serve --kubeconfig ~/.kube/config --kube-context east,west --kube-cluster-id east=east,west=west
  isthmus serve --in-cluster --kube-write-status
  isthmus serve --config isthmus.yaml      # e.g. {consul: http://127.0.0.1:8500, consul-dc: [dc1, dc2], static: [rules/]}`,
    )
    .action(async (opts: {
      static: string[]; xdsPort: number; httpPort: number; address: string; plugin: string[];
      logLevel: string;
    } & BuildPolicyFlags & Partial<ConsulFlags> & Partial<NomadFlags> & KubernetesFlags) => {
      const logger = createLogger(opts.logLevel);
      const kubeOpts = withContextAlias(opts);
      const kube = kubernetesRequested(kubeOpts);
      if (opts.static.length === 0 && opts.plugin.length === 0 && !opts.consul && !opts.nomad && !kube) {
        logger.warn({}, 'no --static path, no --consul, no --nomad, no --kubeconfig/--in-cluster and no --plugin: serving an empty mesh');
      }
      const platforms = [
        ...(opts.consul ? [consulModule(consulOptionsFromFlags({ ...opts, consul: opts.consul }))] : []),
        ...(opts.nomad ? [nomadModule(nomadOptionsFromFlags({ ...opts, nomad: opts.nomad }))] : []),
        ...(kube ? [kubernetesModule(kubernetesOptionsFromFlags(kubeOpts))] : []),
      ];
      const plugins = [];
      for (const name of opts.plugin) plugins.push(await loadPlugin(name, logger));
      // --nats and its flags are added in main.ts (withFederationOptions): both roles over NATS.
      if ((opts as { nats?: string }).nats) return serveOverNats(opts as unknown as ServeOverNatsFlags, [...platforms, ...plugins.map((p) => p.module)]);
      const runtime = new MeshRuntime({
        staticPaths: opts.static,
        address: opts.address,
        xdsPort: opts.xdsPort,
        httpPort: opts.httpPort,
        ...buildPolicyFromFlags(opts),
        logLevel: opts.logLevel,
        modules: [...platforms, ...plugins.map((p) => p.module)],
      });
      await runUntilSignal(logger, () => runtime.start(), () => runtime.stop());
    });
}

import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { buildBootstrap } from '@isthmus/xds';

function parseLabels(value: string, previous: Record<string, string>): Record<string, string> {
  const out = { ...previous };
  for (const pair of value.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`"${pair}" is not key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function bootstrapCommand(): Command {
  return new Command('bootstrap')
    .description('Print a bootstrap JSON for an Envoy sidecar or a proxyless gRPC client (GRPC_XDS_BOOTSTRAP)')
    .requiredOption('--node-id <id>', 'unique proxy id, e.g. greeter-client-1')
    .option('--generator <kind>', '`grpc` for proxyless gRPC; omit for an Envoy sidecar')
    .option('--namespace <ns>', 'namespace of the workload', 'default')
    .option('--labels <k=v,...>', 'workload labels (repeatable)', parseLabels, {})
    .option('--cluster-id <id>', 'cluster/runtime the workload runs in')
    .option('--xds-address <host:port>', 'where the control plane serves xDS', '127.0.0.1:15010')
    .option('--delta', 'Envoy: use delta (incremental) xDS over ADS (DELTA_GRPC)')
    .option('--instance-ip <ip>', "Envoy: the workload's IP (repeatable); Isthmus finds the sidecar's own workload by it", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--interception <mode>', 'Envoy: REDIRECT (iptables to 15001/15006, default) or NONE (listeners bind on 127.0.0.1 and the workload IP)')
    .option('--workload-name <id>', "Envoy: the workload's registry id, when the sidecar has no IP of its own to be found by")
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .addHelpText('after', `
Examples:
  isthmus bootstrap --node-id client-1 --generator grpc > bootstrap.json
  GRPC_XDS_BOOTSTRAP=bootstrap.json node client.js   # then dial xds:///greeter.default.svc.cluster.local:50051
  isthmus bootstrap --node-id reviews-v1 --namespace shop --instance-ip 10.0.0.7 --labels app=reviews,version=v1 > envoy.json
  envoy -c envoy.json                                   # an Envoy sidecar (see docs/envoy.md)`)
    .action(async (opts: {
      nodeId: string; generator?: string; namespace: string; labels: Record<string, string>;
      clusterId?: string; xdsAddress: string; output?: string;
      delta?: boolean; instanceIp: string[]; interception?: string; workloadName?: string;
    }) => {
      if (opts.generator !== undefined && opts.generator !== 'grpc') {
        throw new InvalidArgumentError(`--generator must be "grpc" (or omitted for Envoy), got "${opts.generator}"`);
      }
      const interception = opts.interception?.toUpperCase();
      if (interception !== undefined && interception !== 'REDIRECT' && interception !== 'NONE') {
        throw new InvalidArgumentError(`--interception must be REDIRECT or NONE, got "${opts.interception}"`);
      }
      if (opts.generator && (opts.delta || opts.instanceIp.length > 0 || interception)) {
        throw new InvalidArgumentError('--delta, --instance-ip and --interception are for Envoy sidecars (without --generator grpc)');
      }
      const bootstrap = buildBootstrap({
        nodeId: opts.nodeId,
        serverUri: opts.xdsAddress,
        ...(opts.generator ? { generator: 'grpc' as const } : {}),
        namespace: opts.namespace,
        labels: opts.labels,
        ...(opts.clusterId ? { clusterId: opts.clusterId } : {}),
        ...(opts.workloadName ? { workloadName: opts.workloadName } : {}),
        ...(opts.delta ? { delta: true } : {}),
        ...(opts.instanceIp.length > 0 ? { instanceIps: opts.instanceIp } : {}),
        ...(interception ? { interceptionMode: interception as 'REDIRECT' | 'NONE' } : {}),
      });
      const text = JSON.stringify(bootstrap, null, 2) + '\n';
      if (opts.output) await writeFile(opts.output, text);
      else process.stdout.write(text);
    });
}

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
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .addHelpText('after', `
Examples:
  isthmus bootstrap --node-id client-1 --generator grpc > bootstrap.json
  GRPC_XDS_BOOTSTRAP=bootstrap.json node client.js   # then dial xds:///greeter.default.svc.cluster.local:50051`)
    .action(async (opts: {
      nodeId: string; generator?: string; namespace: string; labels: Record<string, string>;
      clusterId?: string; xdsAddress: string; output?: string;
    }) => {
      if (opts.generator !== undefined && opts.generator !== 'grpc') {
        throw new InvalidArgumentError(`--generator must be "grpc" (or omitted for Envoy), got "${opts.generator}"`);
      }
      const bootstrap = buildBootstrap({
        nodeId: opts.nodeId,
        serverUri: opts.xdsAddress,
        ...(opts.generator ? { generator: 'grpc' as const } : {}),
        namespace: opts.namespace,
        labels: opts.labels,
        ...(opts.clusterId ? { clusterId: opts.clusterId } : {}),
      });
      const text = JSON.stringify(bootstrap, null, 2) + '\n';
      if (opts.output) await writeFile(opts.output, text);
      else process.stdout.write(text);
    });
}

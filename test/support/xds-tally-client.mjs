// A one-shot proxyless gRPC client for multi-process tests: bootstraps grpc-js-xds on
// 127.0.0.1:<xdsPort>, makes <calls> sequential SayHello calls to <target>, prints
// {"<version>": n, ..., "errors": n} as JSON on stdout.
//   node test/support/xds-tally-client.mjs <xdsPort> <target> <calls> [nodeId]
import { greeterClient, sayHello } from '../../examples/greeter/greeter.mjs';

const [xdsPort, target, calls = '100', nodeId = `tally-${process.pid}`] = process.argv.slice(2);
process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
  xds_servers: [
    { server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', 'ignore_resource_deletion'] },
  ],
  node: { id: nodeId, locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
});
const xds = await import('@grpc/grpc-js-xds');
xds.register();
const client = greeterClient(target);
const tally = { errors: 0 };
for (let i = 0; i < Number(calls); i++) {
  try {
    const reply = await sayHello(client, { deadlineMs: 10_000 });
    tally[reply.version] = (tally[reply.version] ?? 0) + 1;
  } catch (err) {
    tally.errors++;
    tally.lastError = String(err);
  }
}
client.close();
process.stdout.write(JSON.stringify(tally) + '\n');
process.exit(0);

#!/usr/bin/env node
// A proxyless gRPC client of one xDS replica, for the federated demo. grpc-js-xds reads
// its bootstrap once per process, so the demo runs one of these per replica.
//   node examples/federated/client.mjs <xds-port> <name> <calls> [<traced calls>]
// Prints the first <traced calls> answers ("[name] call 1 → runtime-a at 127.0.0.1:port"),
// then a last line "SUMMARY {json counts by runtime}".
import { greeterClient, sayHello } from '../greeter/greeter.mjs';

const [xdsPort, name, calls = '100', traced = '0'] = process.argv.slice(2);
process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
  // One server_uri: grpc-js-xds never tries a second xds_servers entry (see docs/federation.md).
  xds_servers: [
    { server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', 'ignore_resource_deletion'] },
  ],
  node: { id: `demo-${name}`, locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
});
const xds = await import('@grpc/grpc-js-xds');
xds.register();
const client = greeterClient('xds:///greeter.global:50051');
const counts = {};
for (let i = 1; i <= Number(calls); i++) {
  let landed;
  try {
    const reply = await sayHello(client, { deadlineMs: 10_000 });
    landed = reply.version;
    if (i <= Number(traced)) process.stdout.write(`   [${name}] call ${i} → ${reply.version} at ${reply.instance}\n`);
  } catch (err) {
    landed = 'error';
    if (i <= Number(traced)) process.stdout.write(`   [${name}] call ${i} failed: ${err.message}\n`);
  }
  counts[landed] = (counts[landed] ?? 0) + 1;
}
client.close();
process.stdout.write(`SUMMARY ${JSON.stringify(counts)}\n`);
process.exit(0);

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { NomadSimulator } from './simulator.js';

// `npm run sim:nomad [-- --port 4646 --region global --seed]`: a Nomad API simulator for
// local development, so `isthmus serve --nomad <url>` can be tried without a Nomad cluster.
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4646' },
    host: { type: 'string', default: '127.0.0.1' },
    region: { type: 'string', default: 'global' },
    'extra-region': { type: 'string', multiple: true, default: [] },
    dc: { type: 'string', default: 'dc1' },
    token: { type: 'string', multiple: true, default: [] },
    'heartbeat-ms': { type: 'string', default: '30000' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    seed: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(`Usage: npm run sim:nomad -- [options]

  --port <n>            port to listen on (default 4646; 0 = any free port)
  --host <ip>           address to listen on (default 127.0.0.1)
  --region <name>       local region (default global)
  --extra-region <name> another region reachable with ?region= (repeatable)
  --dc <name>           datacenter of registrations (default dc1)
  --token <secret>      enable ACLs; this token is a management token (repeatable)
  --heartbeat-ms <ms>   event stream heartbeat period (default 30000, as Nomad)
  --tls-cert/--tls-key <pem file>  serve HTTPS
  --seed                register greeter v1 (127.0.0.1:50061) and a v2 canary (127.0.0.1:50062)
`);
  process.exit(0);
}

const tls = values['tls-cert'] && values['tls-key'] ? { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) } : undefined;
const tokens = values.token.length > 0 ? Object.fromEntries(values.token.map((t) => [t, 'management' as const])) : undefined;
const sim = await NomadSimulator.start({
  port: Number(values.port),
  host: values.host,
  region: values.region,
  regions: values['extra-region'],
  datacenter: values.dc,
  heartbeatMs: Number(values['heartbeat-ms']),
  ...(tls ? { tls } : {}),
  ...(tokens ? { aclTokens: tokens } : {}),
});
const mesh = ['protocol=grpc', 'mesh_port=50051'];
if (values.seed) {
  const greeter = { service: 'greeter', job: 'greeter', group: 'api', portLabel: 'grpc' };
  sim.registerService({ ...greeter, allocId: 'a1a1a1a1-0000-4000-8000-000000000001', port: 50061, tags: ['v1', ...mesh] });
  sim.registerService({ ...greeter, allocId: 'b2b2b2b2-0000-4000-8000-000000000002', port: 50062, tags: ['v2', 'canary', ...mesh] });
}
const u = sim.url;
const auth = values.token[0] ? ` -H 'X-Nomad-Token: ${values.token[0]}'` : '';
process.stdout.write(`Nomad simulator (region ${sim.region}) listening on ${u}

Run Isthmus against it:
  isthmus serve --nomad ${u}${values.token[0] ? ` --nomad-token ${values.token[0]}` : ''} --static examples/nomad/

Register a service for an allocation (what a Nomad client does when a task starts):
  curl -X POST ${u}/_sim/services -d '{"service":"greeter","allocId":"c3c3c3c3-0000-4000-8000-000000000003",
    "port":50063,"tags":["v1","protocol=grpc","mesh_port=50051"]}'
Fail / pass its health check (GET /v1/client/allocation/<id>/checks):
  curl -X PUT ${u}/_sim/checks -d '{"allocId":"c3c3c3c3-0000-4000-8000-000000000003","status":"failure"}'
Stop the allocation (its registrations go):
  curl -X POST ${u}/_sim/allocations/c3c3c3c3-0000-4000-8000-000000000003/stop
Read what a watcher sees (blocking query, event stream):
  curl -i '${u}/v1/service/greeter?index=1&wait=30s'${auth}
  curl -N '${u}/v1/event/stream?topic=Service'${auth}
Break it / heal it:
  curl -X POST ${u}/_sim/faults -d '{"kind":"error","status":500}'     # also: reset, hang, slow(delayMs), zeroIndex, noIndex,
  curl -X DELETE ${u}/_sim/faults                                      #   indexBack, badJson, silent, lag(delayMs), gap
  curl -X POST ${u}/_sim/streams/drop
Simulate a snapshot restore (indexes go backwards):
  curl -X POST ${u}/_sim/restore-snapshot -d '{"index":5}'
Dump the state:
  curl ${u}/_sim/state
`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void sim.stop().then(() => process.exit(0));
  });
}

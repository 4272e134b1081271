import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { ConsulSimulator } from './simulator.js';

// `npm run sim:consul [-- --port 8500 --dc dc1 --seed]`: a Consul API simulator for local
// development, so `isthmus serve --consul <url>` can be tried without a Consul cluster.
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8500' },
    host: { type: 'string', default: '127.0.0.1' },
    dc: { type: 'string', default: 'dc1' },
    'extra-dc': { type: 'string', multiple: true, default: [] },
    token: { type: 'string', multiple: true, default: [] },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    seed: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(`Usage: npm run sim:consul -- [options]

  --port <n>          port to listen on (default 8500; 0 = any free port)
  --host <ip>         address to listen on (default 127.0.0.1)
  --dc <name>         local datacenter (default dc1)
  --extra-dc <name>   another datacenter reachable with ?dc= (repeatable)
  --token <secret>    enable ACLs; this token may read and write (repeatable)
  --tls-cert/--tls-key <pem file>  serve HTTPS
  --seed              register greeter v1 (127.0.0.1:50061) and v2 (127.0.0.1:50062)
`);
  process.exit(0);
}

const tls = values['tls-cert'] && values['tls-key'] ? { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) } : undefined;
const tokens = values.token.length > 0 ? Object.fromEntries(values.token.map((t) => [t, 'write' as const])) : undefined;
const sim = await ConsulSimulator.start({
  port: Number(values.port),
  host: values.host,
  datacenter: values.dc,
  datacenters: values['extra-dc'],
  ...(tls ? { tls } : {}),
  ...(tokens ? { aclTokens: tokens } : {}),
});
if (values.seed) {
  const mesh = { protocol: 'grpc', mesh_port: '50051' };
  sim.registerInstance({ service: 'greeter', id: 'greeter-v1', port: 50061, meta: { ...mesh, version: 'v1' } });
  sim.registerInstance({ service: 'greeter', id: 'greeter-v2', port: 50062, meta: { ...mesh, version: 'v2' } });
}
const u = sim.url;
const auth = values.token[0] ? ` -H 'X-Consul-Token: ${values.token[0]}'` : '';
process.stdout.write(`Consul simulator (datacenter ${sim.datacenter}) listening on ${u}

Run Isthmus against it:
  isthmus serve --consul ${u}${values.token[0] ? ` --consul-token ${values.token[0]}` : ''} --static examples/canary/

Register an instance (Consul's own catalog API):
  curl -X PUT ${u}/v1/catalog/register${auth} -d '{"Node":"node1","Address":"127.0.0.1",
    "Service":{"ID":"greeter-v1","Service":"greeter","Port":50061,"Meta":{"version":"v1","protocol":"grpc"}},
    "Check":{"CheckID":"service:greeter-v1","Name":"greeter","Status":"passing","ServiceID":"greeter-v1"}}'
Make it critical / passing again:
  curl -X PUT ${u}/_sim/health -d '{"id":"greeter-v1","status":"critical"}'
Deregister it:
  curl -X PUT ${u}/v1/catalog/deregister${auth} -d '{"Node":"node1","ServiceID":"greeter-v1"}'
Read what a watcher sees (blocking query):
  curl -i '${u}/v1/health/service/greeter?passing&index=1&wait=30s'${auth}
Break it / heal it:
  curl -X POST ${u}/_sim/faults -d '{"kind":"error","status":500}'     # also: reset, hang, slow(delayMs), zeroIndex, noIndex, indexBack, badJson
  curl -X DELETE ${u}/_sim/faults
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

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { endpointSlice, node, pod, service } from './fixtures.js';
import { KubernetesSimulator } from './simulator.js';
import { selfSignedCertificate } from './tls.js';

// `npm run sim:kubernetes [-- --port 6443 --kubeconfig ./kubeconfig]`: a Kubernetes API
// server simulator for local development, so `isthmus serve --kubeconfig <path>` can be
// tried without a cluster.
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    kubeconfig: { type: 'string' },
    token: { type: 'string' },
    tls: { type: 'boolean', default: false },
    'bookmark-ms': { type: 'string', default: '1000' },
    'history-limit': { type: 'string', default: '1000' },
    'gone-mode': { type: 'string', default: 'http' },
    'no-seed': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(`Usage: npm run sim:kubernetes -- [options]

  --port <n>            port to listen on (default 0 = any free port)
  --host <ip>           address to listen on (default 127.0.0.1)
  --kubeconfig <path>   where to write the kubeconfig (default: a new temp file)
  --token <secret>      require this bearer token (written into the kubeconfig)
  --tls                 serve HTTPS with a new self-signed certificate (needs openssl)
  --bookmark-ms <ms>    watch bookmark period (default 1000; 0 = none)
  --history-limit <n>   writes kept for watch replay (default 1000)
  --gone-mode http|event  how a too-old watch gets its 410 (default http)
  --no-seed             start empty (no demo nodes, greeter Service, pods, EndpointSlices)
`);
  process.exit(0);
}

const goneMode = values['gone-mode'] === 'event' ? 'event' : 'http';
const dir = mkdtempSync(join(tmpdir(), 'isthmus-k8s-sim-'));
const tls = values.tls ? selfSignedCertificate(dir) : undefined;
const sim = await KubernetesSimulator.start({
  port: Number(values.port),
  host: values.host,
  bookmarkIntervalMs: Number(values['bookmark-ms']),
  historyLimit: Number(values['history-limit']),
  goneMode,
  ...(values.token ? { token: values.token } : {}),
  ...(tls ? { tls } : {}),
});

if (!values['no-seed']) {
  // greeter v1 and v2, one pod each on nodes in two zones; one EndpointSlice per pod because
  // their ports differ (both run on 127.0.0.1, as `npm run demo` greeters do).
  sim.apply(node('node-a', { region: 'eu-west-1', zone: 'eu-west-1a', internalIP: '127.0.0.1' }));
  sim.apply(node('node-b', { region: 'eu-west-1', zone: 'eu-west-1b', internalIP: '127.0.0.1' }));
  sim.apply(service({ name: 'greeter', namespace: 'default', ports: [{ name: 'grpc', port: 50051, targetPort: 'grpc', appProtocol: 'grpc' }], selector: { app: 'greeter' } }));
  for (const [version, port, nodeName, zone] of [
    ['v1', 50061, 'node-a', 'eu-west-1a'],
    ['v2', 50062, 'node-b', 'eu-west-1b'],
  ] as const) {
    const name = `greeter-${version}`;
    sim.apply(pod({ name, namespace: 'default', labels: { app: 'greeter', version }, ip: '127.0.0.1', nodeName, serviceAccountName: 'greeter', containerPorts: [{ name: 'grpc', containerPort: port }] }));
    sim.apply(
      endpointSlice({
        name,
        namespace: 'default',
        service: 'greeter',
        ports: [{ name: 'grpc', port, protocol: 'TCP', appProtocol: 'grpc' }],
        endpoints: [{ address: '127.0.0.1', nodeName, zone, pod: { name } }],
      }),
    );
  }
}

const path = values.kubeconfig ?? join(dir, 'kubeconfig');
sim.writeKubeconfig(path);
const u = sim.url;
// curl needs the CA over HTTPS, and the token for API (not /_sim/) requests.
const curl = `curl${tls ? ` --cacert ${tls.certFile}` : ''}`;
const auth = values.token ? ` -H 'Authorization: Bearer ${values.token}'` : '';
process.stdout.write(`Kubernetes API simulator listening on ${u}

Kubeconfig written to ${path}:
${sim.kubeconfig()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
Run Isthmus against it:
  isthmus serve --kubeconfig ${path}

Look around (kubectl talks to it too):
  kubectl --kubeconfig ${path} get services,pods,endpointslices -A
  kubectl --kubeconfig ${path} get endpointslices -w -o json
  ${curl} -N '${u}/apis/discovery.k8s.io/v1/endpointslices?watch=1&allowWatchBookmarks=true'${auth}
Mark greeter-v2 not ready, as the EndpointSlice controller would:
  ${curl} -X PATCH -H 'Content-Type: application/json-patch+json'${auth} \\
    ${u}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/greeter-v2 \\
    -d '[{"op":"replace","path":"/endpoints/0/conditions/ready","value":false}]'
Break it / heal it:
  ${curl} -X POST ${u}/_sim/faults -d '{"kind":"status","code":500}'   # also: hang, reset, gone, slow(delayMs), dribble(chunkDelayMs)
  ${curl} -X DELETE ${u}/_sim/faults
  ${curl} -X POST ${u}/_sim/watches/drop      # reset every open watch
  ${curl} -X POST ${u}/_sim/watches/expire    # 410 Expired on every open watch
  ${curl} -X POST ${u}/_sim/compact           # forget the history: old resourceVersions get 410
`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void sim.stop().then(() => process.exit(0));
  });
}

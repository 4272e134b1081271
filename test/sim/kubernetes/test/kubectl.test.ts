import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { endpointSlice, KubernetesSimulator, selfSignedCertificate } from '../src/index.js';

// kubectl as a second independent client: discovery, list, selectors, JSON patch. CI installs
// Debian's kubernetes-client (kubectl 1.20) when the machine has no kubectl.

const run = promisify(execFile);

let sim: KubernetesSimulator;
let dir: string | undefined;
afterEach(async () => {
  await sim?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Kubernetes simulator with kubectl', () => {
  it('discovers resources, lists with selectors and patches', async () => {
    // No token: kubectl (client-go) does not send a bearer token over plain http.
    sim = await KubernetesSimulator.start();
    sim.apply(endpointSlice({ name: 'web-1', namespace: 'default', service: 'web', ports: [{ name: 'http', port: 80 }], endpoints: [{ address: '10.0.0.1' }] }));
    sim.apply(endpointSlice({ name: 'api-1', namespace: 'default', service: 'api', ports: [{ name: 'http', port: 80 }], endpoints: null }));
    dir = await mkdtemp(join(tmpdir(), 'k8s-sim-kubectl-'));
    const kubeconfig = join(dir, 'config');
    sim.writeKubeconfig(kubeconfig);
    const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: dir! } })).stdout;

    expect(await kubectl('api-resources', '--api-group=networking.istio.io', '-o', 'name')).toContain('virtualservices.networking.istio.io');
    const slices = JSON.parse(await kubectl('get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json'));
    expect(slices.items.map((i: any) => i.metadata.name)).toEqual(['web-1']);
    await kubectl('patch', 'endpointslice', 'web-1', '--type=json', '-p', '[{"op":"replace","path":"/endpoints/0/conditions/ready","value":false}]');
    expect(sim.get('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'web-1')?.endpoints).toMatchObject([{ conditions: { ready: false } }]);
  });

  it('sends the bearer token over HTTPS, verifying the certificate with the kubeconfig CA', async () => {
    dir = await mkdtemp(join(tmpdir(), 'k8s-sim-kubectl-'));
    sim = await KubernetesSimulator.start({ tls: selfSignedCertificate(dir), token: 'kubectl-token' });
    const kubeconfig = join(dir, 'config');
    sim.writeKubeconfig(kubeconfig);
    const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: dir! } })).stdout;
    expect(await kubectl('get', 'namespaces', '-o', 'name')).toContain('namespace/default');
    sim.token = 'rotated';
    await expect(kubectl('get', 'namespaces')).rejects.toThrow(/Unauthorized/);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesSimulator, selfSignedCertificate, service, type TlsCertificate } from '../src/index.js';
import { until } from './helpers.js';

// The simulator over HTTPS, as client-node sees a real API server: verified against the CA
// in the kubeconfig, with a bearer token.

let dir: string;
let cert: TlsCertificate;
let other: TlsCertificate;
let sim: KubernetesSimulator | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'k8s-sim-tls-'));
  cert = selfSignedCertificate(dir);
  other = selfSignedCertificate(dir, 'other');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

const client = (yaml: string) => {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return { kc, core: kc.makeApiClient(CoreV1Api) };
};
const names = async (core: CoreV1Api) => (await core.listNamespace()).items.map((n) => n.metadata?.name);

describe('Kubernetes simulator over HTTPS', () => {
  it('serves https with its certificate; the kubeconfig trusts it through certificate-authority-data', async () => {
    sim = await KubernetesSimulator.start({ tls: cert, token: 'secret' });
    expect(sim.url).toBe(`https://127.0.0.1:${sim.port}`);
    const yaml = sim.kubeconfig();
    expect(yaml).toContain(`certificate-authority-data: "${Buffer.from(cert.cert).toString('base64')}"`);
    expect(yaml).not.toContain('insecure-skip-tls-verify');
    const { core } = client(yaml);
    expect(await names(core)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    // The token still counts.
    await expect(client(sim.kubeconfig({ token: 'wrong' })).core.listNamespace()).rejects.toThrow(/401/);
  });

  it('is refused by a client that does not trust its CA', async () => {
    sim = await KubernetesSimulator.start({ tls: cert });
    const withoutCa = sim.kubeconfig().replace(/ {4}certificate-authority-data: .*\n/, '');
    expect(withoutCa).not.toContain('certificate-authority');
    await expect(client(withoutCa).core.listNamespace()).rejects.toThrow(/self[- ]signed certificate/);
    await expect(client(sim.kubeconfig({ ca: other.cert })).core.listNamespace()).rejects.toThrow(/self[- ]signed certificate/);
  });

  it('writes a CA given apart from the certificate', async () => {
    sim = await KubernetesSimulator.start({ tls: { ...cert, ca: other.cert } });
    expect(sim.ca).toBe(other.cert);
    expect(sim.kubeconfig()).toContain(Buffer.from(other.cert).toString('base64'));
  });

  it('goes down and comes back up on the same port, cutting open watches', async () => {
    sim = await KubernetesSimulator.start({ tls: cert });
    const { kc, core } = client(sim.kubeconfig());
    let ended: unknown = 'open';
    const seen: string[] = [];
    await new Watch(kc).watch(
      '/api/v1/namespaces/default/services',
      {},
      (type, obj: { metadata?: { name?: string } }) => seen.push(`${type} ${obj.metadata?.name}`),
      (err) => (ended = err ?? null),
    );
    sim.apply(service({ name: 'web', namespace: 'default', ports: [{ name: 'http', port: 80 }] }));
    await until(() => seen.includes('ADDED web'), 'the watch event over TLS');
    const port = sim.port;
    await sim.down();
    await until(() => ended !== 'open', 'the watch cut by down()');
    await expect(core.listNamespace()).rejects.toThrow(/ECONNREFUSED/);
    await sim.up();
    expect(sim.port).toBe(port);
    expect(await names(core)).toContain('default');
  });
});

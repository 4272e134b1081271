import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigStore, InMemoryBus } from '@isthmus/core';
import { KubernetesSimulator, selfSignedCertificate, type KubeObject, type TlsCertificate } from '../../../test/sim/kubernetes/src/index.js';
import { RecordingSink } from '../../../test/conformance/recording-sink.js';
import { waitFor } from '../../../test/support/process.js';
import { KubernetesConfigSource } from '../src/config-source.js';
import { KubernetesPlatformAdapter } from '../src/kubernetes-adapter.js';
import type { KubernetesAdapterOptions } from '../src/options.js';
import { applyApp, captureLogger, FAST } from './helpers.js';

// In-cluster mode and TLS end to end: the simulator serves HTTPS with a self-signed
// certificate and requires a bearer token, as a real API server does for a pod's account.

const WEB = 'web.default.svc.cluster.local';
const VS_PART = 'kubernetes/Kubernetes/VirtualService/default/reviews';

let dir: string;
let cert: TlsCertificate;
let other: TlsCertificate;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'isthmus-in-cluster-'));
  cert = selfSignedCertificate(dir);
  other = selfSignedCertificate(dir, 'other');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stops: (() => Promise<void>)[] = [];
const savedEnv = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  // client-node's loaders read process.env; put back what the test process had.
  for (const [key, value] of [['KUBERNETES_SERVICE_HOST', savedEnv.host], ['KUBERNETES_SERVICE_PORT', savedEnv.port]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

async function startSim(token?: string): Promise<KubernetesSimulator> {
  const sim = await KubernetesSimulator.start({ tls: cert, bookmarkIntervalMs: 200, ...(token ? { token } : {}) });
  stops.push(() => sim.stop());
  return sim;
}

/** What kubelet mounts for the pod: `<root>/serviceaccount/{token,ca.crt,namespace}`, and the service's env. */
function mountServiceAccount(sim: KubernetesSimulator, token: string, ca = sim.ca!): string {
  const sa = join(mkdtempSync(join(dir, 'pod-')), 'serviceaccount');
  mkdirSync(sa);
  writeFileSync(join(sa, 'token'), token);
  writeFileSync(join(sa, 'ca.crt'), ca);
  writeFileSync(join(sa, 'namespace'), 'isthmus-system');
  process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
  process.env.KUBERNETES_SERVICE_PORT = String(sim.port);
  return sa;
}

/** As kubelet rotates it: a new file swapped in whole, never a half-written one. */
function rotateToken(sa: string, token: string): void {
  writeFileSync(join(sa, 'token.new'), token);
  renameSync(join(sa, 'token.new'), join(sa, 'token'));
}

async function startAdapter(o: Partial<KubernetesAdapterOptions>) {
  const adapter = new KubernetesPlatformAdapter({ ...o, tuning: FAST }, { logger: captureLogger() });
  const sink = new RecordingSink(adapter.source);
  stops.push(async () => {
    await adapter.stop();
    sink.closed = true;
  });
  await adapter.start(sink);
  return { adapter, sink };
}

async function startConfigSource(o: Partial<KubernetesAdapterOptions>) {
  const bus = new InMemoryBus();
  const source = new KubernetesConfigSource({ ...o, tuning: FAST }, { logger: captureLogger() });
  stops.push(() => source.stop());
  await source.start(new ConfigStore(bus, { source: 'test' }));
  const spec = () => bus.config.get(VS_PART)?.objects[0]?.object.spec as { http?: { route: { weight?: number }[] }[] } | undefined;
  return { weights: () => spec()?.http?.[0]?.route.map((r) => r.weight) };
}

function virtualService(weights: [number, number]): KubeObject {
  const host = (name: string) => `${name}.default.svc.cluster.local`;
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace: 'default' },
    spec: { hosts: [host('reviews')], http: [{ route: [{ destination: { host: host('reviews') }, weight: weights[0] }, { destination: { host: host('ratings') }, weight: weights[1] }] }] },
  };
}

const addresses = (sink: RecordingSink) => sink.workloads(WEB).map((w) => w.address).join();
const unauthorized = (sim: KubernetesSimulator) => sim.requests().filter((r) => r.status === 401).length;

describe('Kubernetes adapter in a pod (service account, HTTPS)', () => {
  it('syncs over HTTPS with the mounted CA and token, and follows a token rotation by re-reading the file', async () => {
    const sim = await startSim('sa-token-1');
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }] });
    sim.apply(virtualService([90, 10]));
    const sa = mountServiceAccount(sim, 'sa-token-1');

    const { adapter, sink } = await startAdapter({ inCluster: true, serviceAccountDir: sa });
    const config = await startConfigSource({ inCluster: true, serviceAccountDir: sa });
    expect(adapter.context).toBe('inClusterContext');
    await waitFor(() => addresses(sink) === '10.0.0.1', 'the first sync over HTTPS');
    await waitFor(() => config.weights()?.join() === '90,10', 'the VirtualService');
    expect(sink.stale).toBe(false);
    expect(unauthorized(sim)).toBe(0);

    // kubelet rotates the token and the server stops taking the old one. Open watches were
    // authorised when they began, so end them: the re-watches carry the old token until the file changes.
    sim.token = 'sa-token-2';
    sim.closeWatches();
    await waitFor(() => sink.stale && /401 Unauthorized/.test(sink.lastError ?? ''), 'the refused old token marking the source stale');
    expect(sink.lastError).toContain(`(https://127.0.0.1:${sim.port})`);

    // A hand-written file's trailing newline is not part of the token.
    rotateToken(sa, 'sa-token-2\n');
    sim.apply(virtualService([50, 50]));
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }, { name: 'web-2', ip: '10.0.0.2', version: 'v2' }] });
    await waitFor(() => addresses(sink) === '10.0.0.1,10.0.0.2', 'the change after the rotation');
    await waitFor(() => config.weights()?.join() === '50,50', 'the VirtualService change after the rotation');
    await waitFor(() => !sink.stale, 'the stale mark cleared');
    // Well within client-node's 60 s token cache: the file was read again, not the cached token.
    const refusedSoFar = unauthorized(sim);
    sim.apply(virtualService([40, 60]));
    await waitFor(() => config.weights()?.join() === '40,60', 'a later change');
    expect(unauthorized(sim)).toBe(refusedSoFar);
    expect(sink.violations).toEqual([]);
  });

  it('says which CA file failed when ca.crt does not sign the server certificate', async () => {
    const sim = await startSim('sa-token-1');
    const sa = mountServiceAccount(sim, 'sa-token-1', other.cert);
    const { sink } = await startAdapter({ inCluster: true, serviceAccountDir: sa });
    await waitFor(() => /not trusted/.test(sink.lastError ?? ''), 'the TLS error');
    expect(sink.lastError).toContain(`TLS: the API server's certificate is not trusted (self-signed certificate, DEPTH_ZERO_SELF_SIGNED_CERT); is ${join(sa, 'ca.crt')} the CA that signed it?`);
    expect(sink.synced).toBe(false);
    expect(sim.requests()).toEqual([]);
  });
});

describe('Kubernetes adapter with a kubeconfig over HTTPS', () => {
  it('verifies the server with certificate-authority-data', async () => {
    const sim = await startSim('kube-token');
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1' }] });
    const { sink } = await startAdapter({ kubeconfigData: sim.kubeconfig() });
    await waitFor(() => addresses(sink) === '10.0.0.1', 'the sync over HTTPS');
    expect(sink.stale).toBe(false);
  });

  it('marks the source stale with a clear TLS error when the CA is the wrong one, and never reaches the API', async () => {
    const sim = await startSim();
    applyApp(sim, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1' }] });
    const { sink } = await startAdapter({ kubeconfigData: sim.kubeconfig({ ca: other.cert }) });
    await waitFor(() => /not trusted/.test(sink.lastError ?? ''), 'the TLS error');
    expect(sink.lastError).toMatch(
      new RegExp(
        `^kubernetes/Kubernetes \\(https://127\\.0\\.0\\.1:${sim.port}\\): \\d of \\d resources failing: .*: TLS: the API server's certificate is not trusted \\(self-signed certificate, DEPTH_ZERO_SELF_SIGNED_CERT\\); is the kubeconfig's certificate-authority-data the CA that signed it\\?$`,
      ),
    );
    expect(sink.synced).toBe(false);
    expect(sim.requests()).toEqual([]);
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contextNames, loadKubeConfig } from '../src/kube-config.js';

const config = (context: string, server: string, extra = '    insecure-skip-tls-verify: true') => `apiVersion: v1
kind: Config
clusters:
- name: ${context}-cluster
  cluster:
    server: ${server}
${extra}
contexts:
- name: ${context}
  context: {cluster: ${context}-cluster, user: ${context}-user}
current-context: ${context}
users:
- name: ${context}-user
  user: {token: t}
`;

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
function file(name: string, text: string): string {
  dir ??= mkdtempSync(join(tmpdir(), 'isthmus-kubeconfig-'));
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

describe('loadKubeConfig', () => {
  it('reads a file at its current context, or the context asked for', () => {
    const path = file('a.yaml', config('a', 'https://a.example:6443'));
    expect(loadKubeConfig({ kubeconfig: path }, {}, '/nonexistent')).toMatchObject({ context: 'a', server: 'https://a.example:6443' });
    expect(() => loadKubeConfig({ kubeconfig: path, context: 'b' }, {}, '/nonexistent')).toThrow('kubernetes: context "b" not found in the kubeconfig (contexts: a)');
  });

  it('merges a list of files like kubectl (the first current-context wins), from the option or $KUBECONFIG', () => {
    const list = [file('a.yaml', config('a', 'https://a.example')), file('b.yaml', config('b', 'https://b.example'))].join(delimiter);
    expect(contextNames({}, { KUBECONFIG: list }, '/nonexistent')).toEqual(['a', 'b']);
    expect(loadKubeConfig({}, { KUBECONFIG: list }, '/nonexistent').context).toBe('a');
    expect(loadKubeConfig({ kubeconfig: list, context: 'b' }, {}, '/nonexistent').server).toBe('https://b.example');
  });

  it('falls back to ~/.kube/config', () => {
    const home = mkdtempSync(join(tmpdir(), 'isthmus-home-'));
    try {
      const kube = join(home, '.kube');
      mkdirSync(kube);
      writeFileSync(join(kube, 'config'), config('home', 'https://home.example'));
      expect(loadKubeConfig({}, {}, home).context).toBe('home');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('explains what is missing or wrong', () => {
    expect(() => loadKubeConfig({}, {}, '/nonexistent')).toThrow(/no cluster configuration: pass --kubeconfig <path>, set KUBECONFIG, create \/nonexistent\/.kube\/config, or run in a pod \(--in-cluster\)/);
    expect(() => loadKubeConfig({ kubeconfig: '/nonexistent/config' }, {}, '/x')).toThrow(/kubernetes: cannot read kubeconfig \/nonexistent\/config: .*ENOENT/);
    expect(() => loadKubeConfig({ inCluster: true }, {}, '/x')).toThrow(/--in-cluster needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/);
    expect(() => loadKubeConfig({ kubeconfigData: config('a', 'http://a.example', '') }, {}, '/x')).toThrow(/uses plain HTTP \(http:\/\/a.example\); client-node only allows that with insecure-skip-tls-verify: true/);
    expect(() => loadKubeConfig({ kubeconfigData: 'apiVersion: v1\nkind: Config\ncontexts: []\nclusters: []\nusers: []\n' }, {}, '/x')).toThrow(/has no current context/);
  });
});

describe('loadKubeConfig in a pod', () => {
  /** A service account directory as kubelet mounts it. */
  function serviceAccount(files: Record<string, string> = { token: 'sa-token', 'ca.crt': 'PEM', namespace: 'isthmus-system' }): string {
    dir ??= mkdtempSync(join(tmpdir(), 'isthmus-kubeconfig-'));
    const sa = join(dir, 'serviceaccount');
    mkdirSync(sa, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(sa, name), text);
    return sa;
  }
  const pod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  it('builds what client-node\'s loadFromCluster builds, from the given env and directory', () => {
    const sa = serviceAccount();
    const { kc, context, server } = loadKubeConfig({ inCluster: true, serviceAccountDir: sa }, pod, '/x');
    expect({ context, server }).toEqual({ context: 'inClusterContext', server: 'https://10.96.0.1:443' });
    expect(kc.getCurrentCluster()).toMatchObject({ name: 'inCluster', caFile: join(sa, 'ca.crt'), skipTLSVerify: false });
    expect(kc.getCurrentUser()?.authProvider).toEqual({ name: 'tokenFile', config: { tokenFile: join(sa, 'token') } });
    expect(kc.getContextObject(context)?.namespace).toBe('isthmus-system');
    expect(loadKubeConfig({ inCluster: true, serviceAccountDir: sa }, { ...pod, KUBERNETES_SERVICE_HOST: 'fd00::1' }, '/x').server).toBe('https://[fd00::1]:443');
    // client-node's rule: ports 80, 8080 and 8001 are plain HTTP, which it then refuses to verify.
    expect(() => loadKubeConfig({ inCluster: true, serviceAccountDir: sa }, { ...pod, KUBERNETES_SERVICE_PORT: '8080' }, '/x')).toThrow(/uses plain HTTP \(http:\/\/10.96.0.1:8080\)/);
  });

  it('is the fallback when nothing else is configured, and names the token file it misses', () => {
    const sa = serviceAccount();
    expect(loadKubeConfig({ serviceAccountDir: sa }, pod, '/nonexistent').context).toBe('inClusterContext');
    expect(() => loadKubeConfig({ serviceAccountDir: join(sa, 'nope') }, pod, '/nonexistent')).toThrow(/no cluster configuration/);
    expect(() => loadKubeConfig({ inCluster: true, serviceAccountDir: join(sa, 'nope') }, pod, '/x')).toThrow(
      `kubernetes: --in-cluster needs the service account token at ${join(sa, 'nope', 'token')} (is automountServiceAccountToken off?)`,
    );
  });
});

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

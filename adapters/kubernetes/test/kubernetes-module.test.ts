import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Container } from 'inversify';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigSource, ConfigStore, InMemoryBus, PlatformAdapter } from '@isthmus/core';
import { KubernetesSimulator } from '../../../test/sim/kubernetes/src/index.js';
import { RecordingSink } from '../../../test/conformance/recording-sink.js';
import { kubernetesOptionsFromFlags } from '../src/flags.js';
import { kubernetesClusters, kubernetesModule } from '../src/kubernetes-module.js';
import { applyApp, eventually, FAST } from './helpers.js';

let dir: string | undefined;
let sims: KubernetesSimulator[] = [];
let running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await Promise.all(sims.map((s) => s.stop()));
  running = [];
  sims = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function tmp(name: string, text: string): string {
  dir ??= mkdtempSync(join(tmpdir(), 'isthmus-kube-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('kubernetesModule', () => {
  it('binds one registry adapter and one config source per context, each its own cluster', async () => {
    const east = await KubernetesSimulator.start();
    const west = await KubernetesSimulator.start();
    sims.push(east, west);
    applyApp(east, { name: 'web', pods: [{ name: 'web-1', ip: '10.0.0.1', version: 'v1' }] });
    applyApp(west, { name: 'web', pods: [{ name: 'web-1', ip: '10.1.0.1', version: 'v1' }, { name: 'web-2', ip: '10.1.0.2', version: 'v2' }] });
    // Two kubeconfig files (KUBECONFIG-style list), one context each.
    const files = [tmp('east.yaml', east.kubeconfig({ context: 'ctx-east', cluster: 'east' })), tmp('west.yaml', west.kubeconfig({ context: 'ctx-west', cluster: 'west' }))];
    const options = kubernetesOptionsFromFlags({ kubeconfig: files.join(delimiter), kubeContext: ['ctx-east', 'ctx-west'], kubeClusterId: ['ctx-east=east'] }, {});
    const container = new Container();
    await container.load(kubernetesModule({ ...options, tuning: FAST }));
    const adapters = container.getAll<PlatformAdapter>(PlatformAdapter);
    expect(adapters.map((a) => a.source)).toEqual(['kubernetes/east', 'kubernetes/ctx-west']);
    expect(container.getAll<ConfigSource>(ConfigSource).map((s) => s.source)).toEqual(['kubernetes/east', 'kubernetes/ctx-west']);

    const sinks = adapters.map((a) => new RecordingSink(a.source));
    for (const [i, a] of adapters.entries()) {
      running.push(a);
      await a.start(sinks[i]!);
    }
    await eventually('both synced', () => sinks.every((s) => s.synced));
    expect(sinks[0]!.workloads().map((w) => [w.address, w.labels['topology.istio.io/cluster']])).toEqual([['10.0.0.1', 'east']]);
    expect(sinks[1]!.workloads().map((w) => [w.address, w.labels['topology.istio.io/cluster']])).toEqual([
      ['10.1.0.1', 'ctx-west'],
      ['10.1.0.2', 'ctx-west'],
    ]);

    // The config sources read each cluster's Istio config as their own parts.
    const store = new ConfigStore(new InMemoryBus(), { source: 'test' });
    const [configEast] = container.getAll<ConfigSource>(ConfigSource);
    running.push(configEast!);
    await configEast!.start(store);
    await eventually('config synced', () => store.synced);
  });

  it('leaves out the config source with config: false', async () => {
    const sim = await KubernetesSimulator.start();
    sims.push(sim);
    const container = new Container();
    await container.load(kubernetesModule({ kubeconfigData: sim.kubeconfig(), config: false }));
    expect(container.getAll<PlatformAdapter>(PlatformAdapter).map((a) => a.source)).toEqual(['kubernetes/Kubernetes']);
    expect(container.isBound(ConfigSource)).toBe(false);
  });

  it('reads Istio config only from the contexts named in configContexts', async () => {
    const sim = await KubernetesSimulator.start();
    sims.push(sim);
    const a = sim.kubeconfig({ context: 'a', cluster: 'ca' });
    const b = sim.kubeconfig({ context: 'b', cluster: 'cb' });
    const options = kubernetesOptionsFromFlags({ kubeconfig: [tmp('a.yaml', a), tmp('b.yaml', b)].join(delimiter), kubeContext: ['a', 'b'], kubeConfigContext: ['b'] }, {});
    const container = new Container();
    await container.load(kubernetesModule(options));
    expect(container.getAll<PlatformAdapter>(PlatformAdapter).map((x) => x.source)).toEqual(['kubernetes/a', 'kubernetes/b']);
    expect(container.getAll<ConfigSource>(ConfigSource).map((x) => x.source)).toEqual(['kubernetes/b']);
    expect(() => kubernetesOptionsFromFlags({ kubeContext: ['a'], kubeConfigContext: ['c'] }, {})).toThrow(/--kube-config-context names contexts not selected with --kube-context: c/);
  });

  it('fails with a clear error for an unknown context', async () => {
    const sim = await KubernetesSimulator.start();
    sims.push(sim);
    const container = new Container();
    await container.load(kubernetesModule({ kubeconfig: tmp('c.yaml', sim.kubeconfig({ context: 'a' })), contexts: ['b'] }));
    expect(() => container.getAll<PlatformAdapter>(PlatformAdapter)).toThrow(/context "b" not found in the kubeconfig \(contexts: a\)/);
  });
});

describe('kubernetesClusters', () => {
  it('names clusters: the given id, Kubernetes by default, each context its own name when several', () => {
    expect(kubernetesClusters({})).toEqual([{ context: undefined, clusterId: 'Kubernetes' }]);
    expect(kubernetesClusters({ clusterId: 'c1' })).toEqual([{ context: undefined, clusterId: 'c1' }]);
    expect(kubernetesClusters({ contexts: ['prod'] })).toEqual([{ context: 'prod', clusterId: 'Kubernetes' }]);
    expect(kubernetesClusters({ contexts: ['a', 'b', 'a'], clusterIds: { b: 'west' } })).toEqual([
      { context: 'a', clusterId: 'a' },
      { context: 'b', clusterId: 'west' },
    ]);
  });

  it('refuses contradictions', () => {
    expect(() => kubernetesClusters({ contexts: ['a', 'b'], clusterId: 'x' })).toThrow(/name each as <context>=<cluster id>/);
    expect(() => kubernetesClusters({ contexts: ['a', 'b'], clusterIds: { a: 'x', b: 'x' } })).toThrow(/cluster id "x" is used twice/);
    expect(() => kubernetesClusters({ contexts: ['a'], clusterIds: { c: 'x' } })).toThrow(/contexts not selected with --kube-context: c/);
    expect(() => kubernetesClusters({ contexts: ['a'], inCluster: true })).toThrow(/--in-cluster .* cannot be combined with --kube-context/);
  });
});

describe('kubernetesOptionsFromFlags', () => {
  it('maps every flag, splitting repeated and comma-separated lists', () => {
    const o = kubernetesOptionsFromFlags(
      {
        kubeconfig: '/etc/kube/config',
        kubeContext: ['east,west'],
        kubeClusterId: ['east=c1', 'west=c2'],
        kubeNamespace: ['shop, lab', 'named'],
        kubeNamespaceSelector: ['istio-discovery=enabled,env in (prod,staging)'],
        kubeDomain: 'example.internal',
        kubeTrustDomain: 'example.org',
        kubeWriteStatus: true,
      },
      {},
    );
    expect(o).toEqual({
      kubeconfig: '/etc/kube/config',
      contexts: ['east', 'west'],
      clusterIds: { east: 'c1', west: 'c2' },
      namespaces: ['shop', 'lab', 'named'],
      namespaceSelectors: ['istio-discovery=enabled,env in (prod,staging)'],
      domain: 'example.internal',
      trustDomain: 'example.org',
      config: true,
      writeStatus: true,
    });
  });

  it('falls back to $KUBECONFIG; --in-cluster ignores it', () => {
    expect(kubernetesOptionsFromFlags({}, { KUBECONFIG: '/a:/b' })).toMatchObject({ kubeconfig: '/a:/b', config: true, writeStatus: false });
    const inCluster = kubernetesOptionsFromFlags({ inCluster: true, kubeClusterId: ['c1'], kubeNoConfig: true }, { KUBECONFIG: '/a' });
    expect(inCluster).toMatchObject({ inCluster: true, clusterId: 'c1', config: false });
    expect(inCluster).not.toHaveProperty('kubeconfig');
  });

  it('refuses bad combinations and values', () => {
    expect(() => kubernetesOptionsFromFlags({ kubeClusterId: ['a', 'b'] }, {})).toThrow(/given twice without a context/);
    expect(() => kubernetesOptionsFromFlags({ kubeClusterId: ['=x'] }, {})).toThrow(/expected <cluster id> or <context>=<cluster id>/);
    expect(() => kubernetesOptionsFromFlags({ kubeClusterId: ['my cluster'] }, {})).toThrow(/use letters, digits/);
    expect(() => kubernetesOptionsFromFlags({ kubeNoConfig: true, kubeWriteStatus: true }, {})).toThrow(/--kube-write-status/);
    expect(() => kubernetesOptionsFromFlags({ inCluster: true, kubeContext: ['a'] }, {})).toThrow(/--in-cluster/);
  });
});

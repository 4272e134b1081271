import { ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import { ConfigSource, LoggerToken, MetricsRegistry, PlatformAdapter, type Logger } from '@isthmus/core';
import { KubernetesConfigSource } from './config-source.js';
import { KubernetesPlatformAdapter } from './kubernetes-adapter.js';
import { DEFAULT_CLUSTER_ID, type KubernetesAdapterOptions } from './options.js';

/** Options of the Kubernetes module: one registry adapter (and config source) per cluster. */
export interface KubernetesModuleOptions extends Omit<KubernetesAdapterOptions, 'context' | 'clusterId'> {
  /** One cluster per kubeconfig context; none: the kubeconfig's current context (or the pod's, in-cluster). */
  readonly contexts?: readonly string[];
  /** Cluster id of the one cluster (with no context or one). Default `Kubernetes` (Istio's CLUSTER_ID). */
  readonly clusterId?: string;
  /** Cluster id per context name; a context not listed is its own id when there are several. */
  readonly clusterIds?: Readonly<Record<string, string>>;
  /** Also read Istio config (CRDs) from each cluster. Default true. */
  readonly config?: boolean;
  /**
   * Read Istio config only from these contexts (default: every one). The same object in two
   * clusters is "defined more than once" to the config store, so clusters that replicate
   * their config should name one here (Istio's primary-remote model).
   */
  readonly configContexts?: readonly string[];
  /** Write validation results to the status of Istio config objects. Default false. */
  readonly writeStatus?: boolean;
}

/** One cluster the module binds: its context (undefined: the current one) and cluster id. */
export interface KubernetesCluster {
  readonly context: string | undefined;
  readonly clusterId: string;
}

/**
 * The clusters of the module options: each context with its id (`clusterIds[ctx]`, else
 * `clusterId` for a single context, else the context's name when there are several, else
 * `Kubernetes`). Throws on a repeated cluster id: sources must be unique.
 */
export function kubernetesClusters(o: Pick<KubernetesModuleOptions, 'contexts' | 'clusterId' | 'clusterIds' | 'inCluster' | 'configContexts'>): KubernetesCluster[] {
  const contexts = [...new Set(o.contexts ?? [])];
  if (o.inCluster && contexts.length > 0) throw new Error('kubernetes: --in-cluster reads the pod\'s own cluster; it cannot be combined with --kube-context');
  const unknown = Object.keys(o.clusterIds ?? {}).filter((c) => !contexts.includes(c));
  if (unknown.length > 0) throw new Error(`kubernetes: cluster ids given for contexts not selected with --kube-context: ${unknown.join(', ')}`);
  const notSelected = (o.configContexts ?? []).filter((c) => !contexts.includes(c));
  if (notSelected.length > 0) throw new Error(`kubernetes: --kube-config-context names contexts not selected with --kube-context: ${notSelected.join(', ')}`);
  if (o.clusterId && contexts.length > 1) throw new Error('kubernetes: one --kube-cluster-id for several contexts; name each as <context>=<cluster id>');
  const clusters: KubernetesCluster[] =
    contexts.length === 0
      ? [{ context: undefined, clusterId: o.clusterId || DEFAULT_CLUSTER_ID }]
      : contexts.map((context) => ({
          context,
          clusterId: o.clusterIds?.[context] || (contexts.length === 1 ? o.clusterId || DEFAULT_CLUSTER_ID : context),
        }));
  const seen = new Set<string>();
  for (const c of clusters) {
    if (seen.has(c.clusterId)) throw new Error(`kubernetes: cluster id "${c.clusterId}" is used twice; every cluster needs its own (source kubernetes/<cluster id>)`);
    seen.add(c.clusterId);
  }
  return clusters;
}

/**
 * Binds a PlatformAdapter per cluster (kubeconfig context) and, unless `config` is false,
 * a ConfigSource for the Istio config of each. `isthmus serve --kubeconfig ...` loads it;
 * a program embedding Isthmus can load it too.
 */
export function kubernetesModule(options: KubernetesModuleOptions): ContainerModule {
  const clusters = kubernetesClusters(options);
  const { contexts: _contexts, clusterIds: _ids, config, configContexts, writeStatus, ...shared } = options;
  const readsConfig = (context: string | undefined) => config !== false && (!configContexts?.length || (context !== undefined && configContexts.includes(context)));
  return new ContainerModule(({ bind }) => {
    for (const { context, clusterId } of clusters) {
      const perCluster = { ...shared, clusterId, ...(context ? { context } : {}) };
      const logger = (ctx: { get<T>(id: symbol, o: { optional: true }): T | undefined }, component: string) =>
        ctx.get<Logger>(LoggerToken, { optional: true })?.child({ component, cluster: clusterId });
      bind<PlatformAdapter>(PlatformAdapter)
        .toDynamicValue(
          (ctx) =>
            new KubernetesPlatformAdapter(perCluster, {
              metrics: ctx.get<Registry>(MetricsRegistry, { optional: true }),
              logger: logger(ctx, 'kubernetes'),
            }),
        )
        .inSingletonScope();
      if (!readsConfig(context)) continue;
      bind<ConfigSource>(ConfigSource)
        .toDynamicValue(
          (ctx) =>
            new KubernetesConfigSource(
              { ...perCluster, ...(writeStatus ? { writeStatus } : {}) },
              { metrics: ctx.get<Registry>(MetricsRegistry, { optional: true }), logger: logger(ctx, 'kubernetes-config') },
            ),
        )
        .inSingletonScope();
    }
  });
}

import { splitListFlag } from '@isthmus/core';
import { kubernetesClusters, type KubernetesModuleOptions } from './kubernetes-module.js';

/** The `isthmus serve --kube*` flags as commander parses them (camelCase). */
export interface KubernetesFlags {
  /** `--kubeconfig <path>`: kubeconfig file(s), `:`-separated. Default `$KUBECONFIG`, else ~/.kube/config. */
  readonly kubeconfig?: string;
  /** `--kube-context <name>`, repeatable and/or comma separated: one cluster each. */
  readonly kubeContext?: readonly string[];
  /** `--kube-cluster-id <id>` for the one cluster, or `<context>=<id>` per context; repeatable. */
  readonly kubeClusterId?: readonly string[];
  /** `--in-cluster`: the pod's service account. */
  readonly inCluster?: boolean;
  /** `--kube-namespace <ns>`, repeatable and/or comma separated: read only these namespaces. */
  readonly kubeNamespace?: readonly string[];
  /** `--kube-namespace-selector <labels>`, repeatable: also read namespaces whose labels match (Istio's discoverySelectors). */
  readonly kubeNamespaceSelector?: readonly string[];
  /** `--kube-domain <domain>`: cluster domain (`cluster.local`) or a `{service}` template. */
  readonly kubeDomain?: string;
  /** `--kube-trust-domain <domain>`: SPIFFE trust domain of workload identities. */
  readonly kubeTrustDomain?: string;
  /** `--kube-config-context <name>`, repeatable: read Istio config only from these contexts (default all). */
  readonly kubeConfigContext?: readonly string[];
  /** `--kube-no-config`: registry only, no Istio config from the cluster. */
  readonly kubeNoConfig?: boolean;
  /** `--kube-write-status`: write validation results to Istio objects' status. */
  readonly kubeWriteStatus?: boolean;
}

/**
 * Flags → module options. `--kubeconfig` falls back to `$KUBECONFIG` (as kubectl). Throws
 * on flags that contradict each other (`--in-cluster` with `--kube-context`, a cluster id
 * for a context not selected, the same id twice).
 */
export function kubernetesOptionsFromFlags(f: KubernetesFlags, env: NodeJS.ProcessEnv = process.env): KubernetesModuleOptions {
  const contexts = splitListFlag(f.kubeContext);
  let clusterId: string | undefined;
  const clusterIds: Record<string, string> = {};
  for (const v of splitListFlag(f.kubeClusterId)) {
    const eq = v.indexOf('=');
    if (eq < 0) {
      if (clusterId !== undefined) throw new Error(`--kube-cluster-id given twice without a context ("${clusterId}", "${v}"); name each as <context>=<cluster id>`);
      clusterId = v;
      continue;
    }
    const ctx = v.slice(0, eq).trim();
    const id = v.slice(eq + 1).trim();
    if (!ctx || !id) throw new Error(`--kube-cluster-id "${v}": expected <cluster id> or <context>=<cluster id>`);
    clusterIds[ctx] = id;
  }
  for (const id of [clusterId, ...Object.values(clusterIds)]) {
    if (id !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) throw new Error(`--kube-cluster-id "${id}": use letters, digits, '.', '_' and '-' (it becomes the source kubernetes/<id>)`);
  }
  if (f.kubeWriteStatus && f.kubeNoConfig) throw new Error('--kube-write-status writes the status of Istio config, which --kube-no-config does not read');
  const kubeconfig = f.kubeconfig ?? env.KUBECONFIG;
  const options: KubernetesModuleOptions = {
    ...(kubeconfig && !f.inCluster ? { kubeconfig } : {}),
    ...(f.inCluster ? { inCluster: true } : {}),
    contexts,
    ...(clusterId !== undefined ? { clusterId } : {}),
    ...(Object.keys(clusterIds).length > 0 ? { clusterIds } : {}),
    namespaces: splitListFlag(f.kubeNamespace),
    // Selectors hold commas themselves (`a=1,b=2` is one selector): repeat the flag instead.
    namespaceSelectors: (f.kubeNamespaceSelector ?? []).map((s) => s.trim()).filter(Boolean),
    ...(f.kubeDomain ? { domain: f.kubeDomain } : {}),
    ...(f.kubeTrustDomain ? { trustDomain: f.kubeTrustDomain } : {}),
    config: !f.kubeNoConfig,
    ...(f.kubeConfigContext?.length ? { configContexts: splitListFlag(f.kubeConfigContext) } : {}),
    writeStatus: !!f.kubeWriteStatus,
  };
  // Check the combination now, at flag parsing, rather than when the container resolves.
  kubernetesClusters(options);
  return options;
}

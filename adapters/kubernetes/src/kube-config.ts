import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { inClusterAvailable, inClusterConfig, SERVICE_ACCOUNT_DIR } from './in-cluster.js';

/** Where the cluster's address and credentials come from. */
export interface KubeConnectionOptions {
  /** Path of a kubeconfig file (or several, `:`-separated, merged). Default: `$KUBECONFIG`, else `~/.kube/config`. */
  readonly kubeconfig?: string;
  /** A kubeconfig's YAML text instead of a file (tests, programs embedding Isthmus). */
  readonly kubeconfigData?: string;
  /** The kubeconfig context to use. Default: its `current-context`. */
  readonly context?: string;
  /** Use the pod's service account (`KUBERNETES_SERVICE_HOST`, the mounted token and CA). */
  readonly inCluster?: boolean;
  /** Where the service account is mounted (`token`, `ca.crt`, `namespace`). Default `/var/run/secrets/kubernetes.io/serviceaccount`. */
  readonly serviceAccountDir?: string;
  /** An already loaded configuration (wins over everything above). */
  readonly kubeConfig?: KubeConfig;
}

/** A usable client configuration, pointed at one context. */
export interface LoadedKubeConfig {
  readonly kc: KubeConfig;
  /** The context in use (`inClusterContext` in a pod). */
  readonly context: string;
  /** The API server's URL. */
  readonly server: string;
}

/**
 * Loads the client configuration of one context: kubeconfig text, the in-cluster service
 * account (asked for), an explicit file, `$KUBECONFIG`, `~/.kube/config`, or the service
 * account of the pod this runs in (kubectl's order). Throws
 * an error naming what was tried when none works, or when the context or its cluster is
 * missing or unusable. `env` and `home` are injectable for tests.
 */
export function loadKubeConfig(o: KubeConnectionOptions, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): LoadedKubeConfig {
  const kc = o.kubeConfig ? copyOf(o.kubeConfig) : readConfig(o, env, home);
  if (o.context) {
    const names = kc.getContexts().map((c) => c.name);
    if (!names.includes(o.context)) {
      throw new Error(`kubernetes: context "${o.context}" not found in the kubeconfig (contexts: ${names.join(', ') || 'none'})`);
    }
    kc.setCurrentContext(o.context);
  }
  const context = kc.getCurrentContext();
  if (!context || !kc.getContextObject(context)) {
    throw new Error(`kubernetes: the kubeconfig has no current context; name one with --kube-context (contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new Error(`kubernetes: context "${context}" names no cluster with a server address`);
  // client-node refuses plain HTTP unless TLS verification is off; say so now, not on the first request.
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    throw new Error(`kubernetes: cluster "${cluster.name}" of context "${context}" uses plain HTTP (${cluster.server}); client-node only allows that with insecure-skip-tls-verify: true`);
  }
  return { kc, context, server: cluster.server };
}

function readConfig(o: KubeConnectionOptions, env: NodeJS.ProcessEnv, home: string): KubeConfig {
  const kc = new KubeConfig();
  if (o.kubeconfigData !== undefined) {
    wrap('the kubeconfig text', () => kc.loadFromString(o.kubeconfigData!));
    return kc;
  }
  const saDir = o.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (o.inCluster) {
    if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) {
      throw new Error('kubernetes: --in-cluster needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (set in every pod); is this running in a pod?');
    }
    if (!existsSync(join(saDir, 'token'))) {
      throw new Error(`kubernetes: --in-cluster needs the service account token at ${join(saDir, 'token')} (is automountServiceAccountToken off?)`);
    }
    return inClusterConfig(env, saDir);
  }
  // An explicit path wins over $KUBECONFIG; either may list several files (kubectl merges them).
  const paths = (o.kubeconfig ?? env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (paths.length > 0) {
    for (const path of paths) {
      const next = new KubeConfig();
      wrap(`kubeconfig ${path}`, () => next.loadFromFile(path));
      merge(kc, next);
    }
    return kc;
  }
  const file = join(home, '.kube', 'config');
  if (existsSync(file)) {
    wrap(`kubeconfig ${file}`, () => kc.loadFromFile(file));
    return kc;
  }
  // Like kubectl and client-go: in a pod, with nothing else configured, use the service account.
  if (inClusterAvailable(env, saDir)) return inClusterConfig(env, saDir);
  throw new Error(
    `kubernetes: no cluster configuration: pass --kubeconfig <path>, set KUBECONFIG, create ${file}, or run in a pod (--in-cluster)`,
  );
}

/** A KubeConfig of its own (setCurrentContext must not change another adapter's). */
function copyOf(src: KubeConfig): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: src.getClusters(), contexts: src.getContexts(), users: src.getUsers(), currentContext: src.getCurrentContext() });
  return kc;
}

function wrap(what: string, load: () => void): void {
  try {
    load();
  } catch (err) {
    throw new Error(`kubernetes: cannot read ${what}: ${(err as Error).message}`);
  }
}

/** kubectl's merge: the first file's current-context, and the first definition of each name, win. */
function merge(into: KubeConfig, next: KubeConfig): void {
  const has = (list: readonly { name: string }[], name: string) => list.some((x) => x.name === name);
  if (!into.getCurrentContext() && next.getCurrentContext()) into.setCurrentContext(next.getCurrentContext());
  for (const c of next.getClusters()) if (!has(into.getClusters(), c.name)) into.addCluster(c);
  for (const u of next.getUsers()) if (!has(into.getUsers(), u.name)) into.addUser(u);
  for (const c of next.getContexts()) if (!has(into.getContexts(), c.name)) into.addContext(c);
}

/** The contexts of a kubeconfig (for `--kube-context` validation and help). */
export function contextNames(o: Omit<KubeConnectionOptions, 'context'>, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string[] {
  return (o.kubeConfig ?? readConfig(o, env, home)).getContexts().map((c) => c.name);
}

/**
 * A kubeconfig for the simulator. Over plain HTTP, which client-node 1.x refuses unless the
 * cluster sets `insecure-skip-tls-verify: true` ("HTTP protocol is not allowed when
 * skipTLSVerify is not set or false"), that is set; over HTTPS the CA to trust is written
 * as `certificate-authority-data` and verification stays on.
 */

export interface KubeconfigOptions {
  /** Context name. Default `isthmus-sim`. */
  readonly context?: string;
  /** Cluster name. Default `isthmus-sim`. */
  readonly cluster?: string;
  /** The context's default namespace. */
  readonly namespace?: string;
  /** Bearer token for the user. Default: the simulator's token (none when it has none). */
  readonly token?: string;
  /** CA PEM to trust over HTTPS. Default: the simulator's CA (its certificate when self-signed). */
  readonly ca?: string;
}

/** YAML scalars as JSON strings: valid YAML, and immune to quoting surprises. */
const q = (s: string) => JSON.stringify(s);

export function kubeconfigYaml(server: string, opts: KubeconfigOptions = {}): string {
  const context = opts.context ?? 'isthmus-sim';
  const cluster = opts.cluster ?? 'isthmus-sim';
  const user = `${context}-user`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${q(cluster)}`,
    '  cluster:',
    `    server: ${q(server)}`,
    ...(server.startsWith('http:') ? ['    insecure-skip-tls-verify: true'] : []),
    ...(opts.ca && !server.startsWith('http:') ? [`    certificate-authority-data: ${q(Buffer.from(opts.ca).toString('base64'))}`] : []),
    'contexts:',
    `- name: ${q(context)}`,
    '  context:',
    `    cluster: ${q(cluster)}`,
    `    user: ${q(user)}`,
    ...(opts.namespace ? [`    namespace: ${q(opts.namespace)}`] : []),
    `current-context: ${q(context)}`,
    'users:',
    `- name: ${q(user)}`,
    ...(opts.token ? ['  user:', `    token: ${q(opts.token)}`] : ['  user: {}']),
    'preferences: {}',
    '',
  ].join('\n');
}

import { endpointSlice, node, pod, service, type EndpointSpec, type KubernetesSimulator } from '../../../test/sim/kubernetes/src/index.js';
import type { KubernetesTuning } from '../src/options.js';

/** Short timeouts, backoff and coalescing so tests run fast; the logic is that of the defaults. */
export const FAST: KubernetesTuning = {
  requestTimeoutMs: 1000,
  listPageSize: 500,
  watchTimeoutSeconds: 30,
  watchIdleTimeoutMs: 1500,
  backoffBaseMs: 20,
  backoffMaxMs: 200,
  slowRetryMs: 300,
  informerRate: { burst: 2, perSecond: 20 },
  globalRate: { burst: 50, perSecond: 100 },
  coalesceMs: 10,
  staleReportIntervalMs: 100,
  statusWriteRate: { burst: 10, perSecond: 50 },
};

export { captureLogger, eventually, type LogLine } from '../../../test/support/adapter-helpers.js';

export interface AppOptions {
  readonly namespace?: string;
  readonly name: string;
  readonly port?: number;
  readonly portName?: string;
  /** Pods: name → address, version, ready. */
  readonly pods: readonly { readonly name: string; readonly ip: string; readonly version?: string; readonly ready?: boolean; readonly node?: string; readonly zone?: string; readonly sa?: string; readonly targetPort?: number }[];
  readonly headless?: boolean;
  readonly annotations?: Record<string, string>;
}

/**
 * A Service with one port, its Pods and one EndpointSlice for them, as a cluster's
 * controllers would write them.
 */
export function applyApp(sim: KubernetesSimulator, o: AppOptions): void {
  const ns = o.namespace ?? 'default';
  const port = o.port ?? 8080;
  const portName = o.portName ?? 'http';
  sim.apply(service({ name: o.name, namespace: ns, ports: [{ name: portName, port }], selector: { app: o.name }, ...(o.headless ? { clusterIP: 'None' } : {}), ...(o.annotations ? { annotations: o.annotations } : {}) }));
  for (const p of o.pods) {
    sim.apply(
      pod({
        name: p.name,
        namespace: ns,
        ip: p.ip,
        nodeName: p.node ?? 'node-a',
        labels: { app: o.name, ...(p.version ? { version: p.version } : {}) },
        ...(p.sa ? { serviceAccountName: p.sa } : {}),
        ...(p.ready === false ? { ready: false } : {}),
      }),
    );
  }
  const endpoints: EndpointSpec[] = o.pods.map((p) => ({
    address: p.ip,
    ready: p.ready ?? true,
    nodeName: p.node ?? 'node-a',
    ...(p.zone ? { zone: p.zone } : {}),
    pod: { name: p.name },
  }));
  sim.apply(endpointSlice({ name: `${o.name}-abc`, namespace: ns, service: o.name, ports: [{ name: portName, port: o.pods[0]?.targetPort ?? port }], endpoints }));
}

/** Two nodes in two zones of one region. */
export function applyNodes(sim: KubernetesSimulator): void {
  sim.apply(node('node-a', { region: 'eu-west-1', zone: 'eu-west-1a', labels: { 'topology.istio.io/subzone': 'rack-1' } }));
  sim.apply(node('node-b', { region: 'eu-west-1', zone: 'eu-west-1b' }));
}

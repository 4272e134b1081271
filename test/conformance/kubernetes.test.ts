import { KubernetesPlatformAdapter, type KubernetesTuning } from '@isthmus/adapter-kubernetes';
import { endpointSlice, KubernetesSimulator, pod, service } from '../sim/kubernetes/src/index.js';
import { describeAdapterConformance, type BreakMode, type ConformanceDriver, type InstanceSpec } from './adapter-conformance.js';

// Short timeouts, backoff and coalescing so the suite runs in seconds. The simulator sends
// bookmarks every 200 ms, so a watch silent for 1.5 s is dead (a frozen connection).
const TUNING: Partial<KubernetesTuning> = {
  requestTimeoutMs: 1000,
  watchTimeoutSeconds: 60,
  watchIdleTimeoutMs: 1500,
  backoffBaseMs: 20,
  backoffMaxMs: 200,
  slowRetryMs: 500,
  informerRate: { burst: 2, perSecond: 20 },
  globalRate: { burst: 20, perSecond: 50 },
  coalesceMs: 10,
  staleReportIntervalMs: 100,
};

const NAMESPACE = 'default';

/**
 * Each conformance instance is a Pod (labelled with its version) behind its own
 * EndpointSlice of the instance's Service, as the EndpointSlice controller would write
 * them; the Service has one port, named `http`.
 */
class KubernetesDriver implements ConformanceDriver {
  readonly name = 'kubernetes (simulator)';
  // A frozen watch is noticed after the idle timeout, the hung re-watch after the request timeout.
  readonly hangTimeoutMs = 15_000;
  sim!: KubernetesSimulator;
  private faults: (() => void)[] = [];

  async setup(): Promise<void> {
    this.sim = await KubernetesSimulator.start({ bookmarkIntervalMs: 200 });
  }

  async teardown(): Promise<void> {
    await this.sim.stop();
  }

  createAdapter(): KubernetesPlatformAdapter {
    return new KubernetesPlatformAdapter({ kubeconfigData: this.sim.kubeconfig(), clusterId: 'conformance', tuning: TUNING });
  }

  hostname(svc: string): string {
    return `${svc}.${NAMESPACE}.svc.cluster.local`;
  }

  async register(i: InstanceSpec): Promise<void> {
    if (!this.sim.get('v1', 'Service', NAMESPACE, i.service)) {
      this.sim.apply(service({ name: i.service, namespace: NAMESPACE, ports: [{ name: 'http', port: i.port }], selector: { app: i.service } }));
    }
    this.sim.apply(pod({ name: i.id, namespace: NAMESPACE, ip: i.address, nodeName: 'node-1', labels: { app: i.service, ...(i.version ? { version: i.version } : {}) } }));
    this.applySlice(i.service, i.id, i.address, i.port, true);
  }

  async deregister(svc: string, id: string): Promise<void> {
    this.sim.remove('discovery.k8s.io/v1', 'EndpointSlice', NAMESPACE, `${svc}-${id}`);
    this.sim.remove('v1', 'Pod', NAMESPACE, id);
  }

  async setHealthy(svc: string, id: string, healthy: boolean): Promise<void> {
    const slice = this.sim.get('discovery.k8s.io/v1', 'EndpointSlice', NAMESPACE, `${svc}-${id}`) as unknown as { endpoints: { addresses: string[] }[]; ports: { port: number }[] };
    this.applySlice(svc, id, slice.endpoints[0]!.addresses[0]!, slice.ports[0]!.port, healthy);
  }

  private applySlice(svc: string, id: string, address: string, port: number, ready: boolean): void {
    this.sim.apply(
      endpointSlice({
        name: `${svc}-${id}`,
        namespace: NAMESPACE,
        service: svc,
        ports: [{ name: 'http', port }],
        endpoints: [{ address, ready, nodeName: 'node-1', pod: { name: id } }],
      }),
    );
  }

  async break(mode: BreakMode): Promise<void> {
    if (mode === 'down') await this.sim.down();
    else this.faults.push(this.sim.inject(mode === 'errors' ? { kind: 'status', code: 500 } : { kind: 'hang' }));
  }

  async restore(): Promise<void> {
    for (const remove of this.faults.splice(0)) remove();
    await this.sim.up();
  }

  requestCount(): number {
    return this.sim.requests('/api').length;
  }

  /** Every list and watch of the adapter goes through its shared token bucket. */
  maxRequestsWhileFailing(elapsedMs: number): number {
    const r = TUNING.globalRate!;
    return r.burst + (r.perSecond * elapsedMs) / 1000;
  }
}

describeAdapterConformance(() => new KubernetesDriver());

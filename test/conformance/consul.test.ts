import { ConsulPlatformAdapter, type ConsulTuning } from '@isthmus/adapter-consul';
import { ConsulSimulator } from '../sim/consul/src/index.js';
import { describeAdapterConformance, type BreakMode, type ConformanceDriver, type InstanceSpec } from './adapter-conformance.js';

// Short timeouts and backoff so the suite runs in seconds. The wait stays longer than the
// suite's convergence bound (15 s), so recovery and changes must never depend on a
// blocking query timing out; only noticing a hung agent does.
const TUNING: Partial<ConsulTuning> = {
  waitMs: 16_000,
  timeoutMarginMs: 300,
  requestTimeoutMs: 1000,
  backoffBaseMs: 20,
  backoffMaxMs: 200,
  perWatchRate: { burst: 2, perSecond: 20 },
  globalRate: { burst: 100, perSecond: 100 },
  staleReportIntervalMs: 100,
};

class ConsulDriver implements ConformanceDriver {
  readonly name = 'consul (simulator)';
  // A hung agent is only noticed at wait + wait/16 + margin ≈ 17.3 s; generous for loaded CI.
  readonly hangTimeoutMs = 45_000;
  sim!: ConsulSimulator;
  private faults: (() => void)[] = [];

  async setup(): Promise<void> {
    this.sim = await ConsulSimulator.start({ jitter: false });
  }

  async teardown(): Promise<void> {
    await this.sim.stop();
  }

  createAdapter(): ConsulPlatformAdapter {
    return new ConsulPlatformAdapter({ address: this.sim.url, datacenter: 'dc1', tuning: TUNING });
  }

  hostname(service: string): string {
    return `${service}.service.consul`;
  }

  async register(i: InstanceSpec): Promise<void> {
    this.sim.registerInstance({
      service: i.service,
      id: i.id,
      node: `node-${i.address}`,
      nodeAddress: i.address,
      port: i.port,
      ...(i.version ? { meta: { version: i.version } } : {}),
    });
  }

  async deregister(_service: string, id: string): Promise<void> {
    this.sim.deregisterInstance(id);
  }

  async setHealthy(_service: string, id: string, healthy: boolean): Promise<void> {
    this.sim.setHealth(id, healthy ? 'passing' : 'critical');
  }

  async break(mode: BreakMode): Promise<void> {
    if (mode === 'down') await this.sim.down();
    else this.faults.push(this.sim.inject(mode === 'errors' ? { kind: 'error', status: 500, body: 'No cluster leader' } : { kind: 'hang' }));
  }

  async restore(): Promise<void> {
    for (const remove of this.faults.splice(0)) remove();
    await this.sim.up();
  }

  requestCount(): number {
    return this.sim.requests('/v1/').length;
  }

  /** Per watch at most one request per backoff step (≥ 10 ms with jitter), and never above the shared bucket. */
  maxRequestsWhileFailing(elapsedMs: number): number {
    return TUNING.globalRate!.burst + (TUNING.globalRate!.perSecond * elapsedMs) / 1000;
  }
}

describeAdapterConformance(() => new ConsulDriver());

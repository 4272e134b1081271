import { NomadPlatformAdapter, type NomadTuning } from '@isthmus/adapter-nomad';
import { NomadSimulator, uuid } from '../sim/nomad/src/index.js';
import { describeAdapterConformance, type BreakMode, type ConformanceDriver, type InstanceSpec } from './adapter-conformance.js';

// Short timeouts, backoff and check interval so the suite runs in seconds. The wait stays
// longer than the suite's convergence bound (15 s), so recovery and changes never depend
// on a blocking query timing out; only noticing a hung agent does.
const TUNING: Partial<NomadTuning> = {
  waitMs: 20_000,
  timeoutMarginMs: 300,
  requestTimeoutMs: 1000,
  backoffBaseMs: 20,
  backoffMaxMs: 200,
  perWatchRate: { burst: 2, perSecond: 20 },
  globalRate: { burst: 100, perSecond: 100 },
  streamIdleTimeoutMs: 1000,
  streamRate: { burst: 2, perSecond: 10 },
  checkIntervalMs: 100,
  checkRate: { burst: 50, perSecond: 100 },
  checkConcurrency: 16,
  staleReportIntervalMs: 100,
};

/** Each conformance instance is one allocation registering one service. */
const allocOf = (id: string) => uuid(`conformance/${id}`);

class NomadDriver implements ConformanceDriver {
  readonly name = 'nomad (simulator)';
  // A hung agent is only noticed at wait + wait/16 + margin ≈ 21.5 s.
  readonly hangTimeoutMs = 30_000;
  sim!: NomadSimulator;
  private faults: (() => void)[] = [];

  async setup(): Promise<void> {
    this.sim = await NomadSimulator.start({ jitter: false, heartbeatMs: 200 });
  }

  async teardown(): Promise<void> {
    await this.sim.stop();
  }

  createAdapter(): NomadPlatformAdapter {
    return new NomadPlatformAdapter({ address: this.sim.url, region: 'global', tuning: TUNING });
  }

  hostname(service: string): string {
    return `${service}.service.nomad`;
  }

  async register(i: InstanceSpec): Promise<void> {
    this.sim.registerService({
      service: i.service,
      allocId: allocOf(i.id),
      address: i.address,
      port: i.port,
      tags: i.version ? [i.version] : [],
    });
  }

  async deregister(_service: string, id: string): Promise<void> {
    this.sim.stopAllocation(allocOf(id));
  }

  async setHealthy(service: string, id: string, healthy: boolean): Promise<void> {
    this.sim.setCheck({ allocId: allocOf(id), service, status: healthy ? 'success' : 'failure' });
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

  /** Every request goes through one of three buckets: blocking queries, event-stream connects, check reads. */
  maxRequestsWhileFailing(elapsedMs: number): number {
    const bound = (r: { burst: number; perSecond: number }) => r.burst + (r.perSecond * elapsedMs) / 1000;
    return bound(TUNING.globalRate!) + bound(TUNING.streamRate!) + bound(TUNING.checkRate!);
  }
}

describeAdapterConformance(() => new NomadDriver());

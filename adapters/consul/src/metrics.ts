import { Counter, Gauge, type Registry } from 'prom-client';

/** Prometheus metrics of the Consul adapters, shared by every adapter on one registry. */
export class ConsulMetrics {
  readonly requests: Counter<'source' | 'endpoint' | 'outcome'>;
  readonly stale: Gauge<'source'>;
  readonly watchedServices: Gauge<'source'>;
  readonly indexResets: Counter<'source'>;

  private constructor(registry: Registry | undefined) {
    const registers = registry ? [registry] : [];
    this.requests = new Counter({
      name: 'isthmus_consul_requests_total',
      help: 'Consul HTTP reads by endpoint and outcome (HTTP status, or network/timeout/invalid)',
      labelNames: ['source', 'endpoint', 'outcome'],
      registers,
    });
    this.stale = new Gauge({
      name: 'isthmus_consul_source_stale',
      help: '1 while the Consul source is failing and its last good state is being served',
      labelNames: ['source'],
      registers,
    });
    this.watchedServices = new Gauge({
      name: 'isthmus_consul_watched_services',
      help: 'Consul services with a running health watch',
      labelNames: ['source'],
      registers,
    });
    this.indexResets = new Counter({
      name: 'isthmus_consul_index_resets_total',
      help: 'Blocking queries restarted from index 0 because X-Consul-Index went backwards',
      labelNames: ['source'],
      registers,
    });
  }

  private static readonly perRegistry = new WeakMap<Registry, ConsulMetrics>();

  /** The metrics registered on `registry` (created once: prom-client refuses duplicates); unregistered without one. */
  static for(registry: Registry | undefined): ConsulMetrics {
    if (!registry) return new ConsulMetrics(undefined);
    let m = ConsulMetrics.perRegistry.get(registry);
    if (!m) {
      m = new ConsulMetrics(registry);
      ConsulMetrics.perRegistry.set(registry, m);
    }
    return m;
  }
}

import { Counter, Gauge, type Registry } from 'prom-client';

/** Prometheus metrics of the Kubernetes adapters and config sources, shared by all of them on one registry. */
export class KubernetesMetrics {
  readonly requests: Counter<'source' | 'resource' | 'verb' | 'outcome'>;
  readonly errors: Counter<'source' | 'resource' | 'reason'>;
  readonly restarts: Counter<'source' | 'resource' | 'reason'>;
  readonly objects: Gauge<'source' | 'resource'>;
  readonly stale: Gauge<'source'>;
  readonly degraded: Gauge<'source' | 'resource'>;
  readonly statusWrites: Counter<'source' | 'outcome'>;

  private constructor(registry: Registry | undefined) {
    const registers = registry ? [registry] : [];
    this.requests = new Counter({
      name: 'isthmus_kubernetes_requests_total',
      help: 'Kubernetes API list and watch requests by resource and outcome (HTTP status, or network/timeout/invalid)',
      labelNames: ['source', 'resource', 'verb', 'outcome'],
      registers,
    });
    this.errors = new Counter({
      name: 'isthmus_kubernetes_errors_total',
      help: 'Failed list/watch cycles by resource and reason (HTTP status, or network/timeout/invalid)',
      labelNames: ['source', 'resource', 'reason'],
      registers,
    });
    this.restarts = new Counter({
      name: 'isthmus_kubernetes_watch_restarts_total',
      help: 'Watch restarts by resource and reason (gone: 410, relisted; idle: silent watch; ended: server closed it; error)',
      labelNames: ['source', 'resource', 'reason'],
      registers,
    });
    this.objects = new Gauge({
      name: 'isthmus_kubernetes_objects',
      help: 'Objects held in memory per watched resource',
      labelNames: ['source', 'resource'],
      registers,
    });
    this.stale = new Gauge({
      name: 'isthmus_kubernetes_source_stale',
      help: '1 while the Kubernetes source is failing (or degraded) and its last good state is being served',
      labelNames: ['source'],
      registers,
    });
    this.degraded = new Gauge({
      name: 'isthmus_kubernetes_resource_unavailable',
      help: '1 while a resource cannot be read at all (403 forbidden, or not served: CRD not installed)',
      labelNames: ['source', 'resource'],
      registers,
    });
    this.statusWrites = new Counter({
      name: 'isthmus_kubernetes_status_writes_total',
      help: 'Validation status writes (PATCH .../status) to Istio config objects, by outcome',
      labelNames: ['source', 'outcome'],
      registers,
    });
  }

  private static readonly perRegistry = new WeakMap<Registry, KubernetesMetrics>();

  /** The metrics registered on `registry` (created once: prom-client refuses duplicates); unregistered without one. */
  static for(registry: Registry | undefined): KubernetesMetrics {
    if (!registry) return new KubernetesMetrics(undefined);
    let m = KubernetesMetrics.perRegistry.get(registry);
    if (!m) {
      m = new KubernetesMetrics(registry);
      KubernetesMetrics.perRegistry.set(registry, m);
    }
    return m;
  }
}

import { Counter, Gauge, type Registry } from 'prom-client';

/** Prometheus metrics of the Nomad adapters, shared by every adapter on one registry. */
export class NomadMetrics {
  readonly requests: Counter<'source' | 'endpoint' | 'outcome'>;
  readonly stale: Gauge<'source'>;
  readonly watchedServices: Gauge<'source'>;
  readonly indexResets: Counter<'source'>;
  readonly events: Counter<'source' | 'type' | 'outcome'>;
  readonly streamConnected: Gauge<'source' | 'namespace'>;
  readonly streamReconnects: Counter<'source' | 'namespace' | 'reason'>;

  private constructor(registry: Registry | undefined) {
    const registers = registry ? [registry] : [];
    this.requests = new Counter({
      name: 'isthmus_nomad_requests_total',
      help: 'Nomad HTTP reads by endpoint and outcome (HTTP status, or network/timeout/invalid)',
      labelNames: ['source', 'endpoint', 'outcome'],
      registers,
    });
    this.stale = new Gauge({
      name: 'isthmus_nomad_source_stale',
      help: '1 while the Nomad source is failing and its last good state is being served',
      labelNames: ['source'],
      registers,
    });
    this.watchedServices = new Gauge({
      name: 'isthmus_nomad_watched_services',
      help: 'Nomad services with a running blocking query',
      labelNames: ['source'],
      registers,
    });
    this.indexResets = new Counter({
      name: 'isthmus_nomad_index_resets_total',
      help: 'Blocking queries restarted from index 0 because X-Nomad-Index went backwards',
      labelNames: ['source'],
      registers,
    });
    this.events = new Counter({
      name: 'isthmus_nomad_events_total',
      help: 'Service events read from /v1/event/stream: applied, or ignored because a blocking query already reflects them',
      labelNames: ['source', 'type', 'outcome'],
      registers,
    });
    this.streamConnected = new Gauge({
      name: 'isthmus_nomad_event_stream_connected',
      help: '1 while the event stream of a namespace scope is open',
      labelNames: ['source', 'namespace'],
      registers,
    });
    this.streamReconnects = new Counter({
      name: 'isthmus_nomad_event_stream_reconnects_total',
      help: 'Event stream reconnections by reason (ended, error, idle: no event nor heartbeat in time)',
      labelNames: ['source', 'namespace', 'reason'],
      registers,
    });
  }

  private static readonly perRegistry = new WeakMap<Registry, NomadMetrics>();

  /** The metrics registered on `registry` (created once: prom-client refuses duplicates); unregistered without one. */
  static for(registry: Registry | undefined): NomadMetrics {
    if (!registry) return new NomadMetrics(undefined);
    let m = NomadMetrics.perRegistry.get(registry);
    if (!m) {
      m = new NomadMetrics(registry);
      NomadMetrics.perRegistry.set(registry, m);
    }
    return m;
  }
}

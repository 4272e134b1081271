import { Counter, Gauge, Histogram, Registry } from 'prom-client';

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/** The bus's Prometheus metrics (reused when a registry already has them). */
export class BusMetrics {
  readonly messages: Counter<'map' | 'op'>;
  readonly lag: Histogram<'map'>;
  readonly snapshotLag: Histogram<'map'>;
  /**
   * Entries received but not yet in a built snapshot. Bounded: a process without an engine
   * (an adapter, `apply`) never drains it, and stops adding once it is full.
   */
  private unapplied: { map: string; published: number }[] = [];
  readonly reconnects: Counter;
  readonly connected: Gauge;
  readonly downSince: Gauge;
  readonly kvRevision: Gauge<'source'>;
  readonly staleSources: Gauge;
  readonly writeRetries: Counter<'map'>;

  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    this.messages =
      existing(registry, 'isthmus_bus_messages_total') ??
      new Counter({
        name: 'isthmus_bus_messages_total',
        help: 'Bus entries written (op put|delete) and received (op received_put|received_delete), by map',
        labelNames: ['map', 'op'],
        registers,
      });
    this.lag =
      existing(registry, 'isthmus_bus_lag_seconds') ??
      new Histogram({
        name: 'isthmus_bus_lag_seconds',
        help: 'Time from an entry being published (writer clock) to its being applied on this process',
        labelNames: ['map'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      });
    this.snapshotLag =
      existing(registry, 'isthmus_bus_snapshot_lag_seconds') ??
      new Histogram({
        name: 'isthmus_bus_snapshot_lag_seconds',
        help: 'Time from an entry being published (writer clock) to the rules engine having built it into a snapshot on this process',
        labelNames: ['map'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      });
    this.reconnects =
      existing(registry, 'isthmus_bus_reconnects_total') ??
      new Counter({ name: 'isthmus_bus_reconnects_total', help: 'Reconnections to NATS after a lost connection', registers });
    this.connected =
      existing(registry, 'isthmus_bus_connected') ??
      new Gauge({ name: 'isthmus_bus_connected', help: '1 while connected to NATS, 0 otherwise', registers });
    this.downSince =
      existing(registry, 'isthmus_bus_down_since_seconds') ??
      new Gauge({
        name: 'isthmus_bus_down_since_seconds',
        help: 'Unix time the NATS connection was lost (0 while connected)',
        registers,
      });
    this.kvRevision =
      existing(registry, 'isthmus_bus_kv_revision') ??
      new Gauge({
        name: 'isthmus_bus_kv_revision',
        help: 'KV revision of the registry entry applied last, by source',
        labelNames: ['source'],
        registers,
      });
    this.staleSources =
      existing(registry, 'isthmus_bus_stale_sources') ??
      new Gauge({ name: 'isthmus_bus_stale_sources', help: 'Registry sources whose adapter missed its heartbeats', registers });
    this.writeRetries =
      existing(registry, 'isthmus_bus_write_retries_total') ??
      new Counter({
        name: 'isthmus_bus_write_retries_total',
        help: 'Bus writes retried because NATS did not acknowledge them, by map',
        labelNames: ['map'],
        registers,
      });
  }

  /** An entry published at `published` (ms) arrived on this process. */
  received(map: string, published: number): void {
    this.lag.observe({ map }, Math.max(0, Date.now() - published) / 1000);
    // Processes without an engine (adapters, apply) never build snapshots: track nothing.
    // Only the maps the engine builds from; proxy status never becomes a snapshot.
    const built = map === 'registry' || map === 'config';
    if (built && this.unapplied.length < 10_000) this.unapplied.push({ map, published });
  }

  /** The engine built what arrived so far into a snapshot. */
  snapshotApplied(): void {
    const now = Date.now();
    for (const { map, published } of this.unapplied) this.snapshotLag.observe({ map }, Math.max(0, now - published) / 1000);
    this.unapplied = [];
  }
}

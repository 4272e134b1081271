import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { RESOURCE_TYPES } from '../resources/index.js';
import type { XdsCallbacks } from './callbacks.js';

/** Known type URLs label as themselves; anything a client invents labels as `other` (bounded cardinality). */
export function typeLabel(typeUrl: string): string {
  return RESOURCE_TYPES.has(typeUrl) ? typeUrl : 'other';
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/** The xDS server's Prometheus metrics, as callbacks. Reuses metrics already in `registry`. */
export function metricsCallbacks(registry: Registry): XdsCallbacks {
  const registers = [registry];
  const connected =
    existing<Gauge>(registry, 'isthmus_xds_connected_proxies') ??
    new Gauge({ name: 'isthmus_xds_connected_proxies', help: 'Open ADS streams (one per connected proxy)', registers });
  // Pushes and bytes are counted in plain numbers per type and handed to prom-client when
  // the metric is read (collect): prom-client hashes a labels object on every inc(), and a
  // push round counts every proxy. Servers sharing a registry share the pending counts.
  const pushes = pendingCounter(registry, 'isthmus_xds_pushes_total', 'DiscoveryResponses sent, by type URL');
  const bytes = pendingCounter(registry, 'isthmus_xds_push_bytes_total', 'Bytes of DiscoveryResponses sent, by type URL');
  const nacks =
    existing<Counter<'type'>>(registry, 'isthmus_xds_nacks_total') ??
    new Counter({ name: 'isthmus_xds_nacks_total', help: 'Responses proxies rejected (NACK), by type URL', labelNames: ['type'], registers });
  const duration =
    existing<Histogram>(registry, 'isthmus_xds_push_duration_seconds') ??
    new Histogram({
      name: 'isthmus_xds_push_duration_seconds',
      help: 'Time from a new snapshot to its push being written to a proxy',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  return {
    onStreamOpen: () => connected.inc(),
    onStreamClosed: () => connected.dec(),
    onResponse: (e) => {
      pushes.add(e.typeUrl, 1);
      bytes.add(e.typeUrl, e.bytes);
    },
    onNack: (e) => nacks.inc({ type: typeLabel(e.typeUrl) }),
    onPushComplete: (_s, seconds) => duration.observe(seconds),
  };
}

/** A counter by type label whose increments wait in plain numbers until it is read. */
interface PendingCounter {
  add(typeUrl: string, n: number): void;
}

const pendingByRegistry = new WeakMap<Registry, Map<string, PendingCounter>>();

function pendingCounter(registry: Registry, name: string, help: string): PendingCounter {
  let byName = pendingByRegistry.get(registry);
  if (!byName) pendingByRegistry.set(registry, (byName = new Map()));
  const known = byName.get(name);
  if (known) return known;
  const pending = new Map<string, number>();
  const flush = (counter: Counter<'type'>) => {
    for (const [typeUrl, n] of pending) if (n > 0) counter.inc({ type: typeLabel(typeUrl) }, n);
    pending.clear();
  };
  const registered = existing<Counter<'type'>>(registry, name);
  // A counter of that name registered by someone else: no collect of ours runs, count at once.
  if (registered) return { add: (typeUrl, n) => registered.inc({ type: typeLabel(typeUrl) }, n) };
  const counter = new Counter({
    name,
    help,
    labelNames: ['type'],
    registers: [registry],
    collect() {
      flush(this);
    },
  });
  const made: PendingCounter = {
    add(typeUrl, n) {
      // Clients may ask for any type URL: past 64, fold them in at once.
      if (!pending.has(typeUrl) && pending.size >= 64) flush(counter);
      pending.set(typeUrl, (pending.get(typeUrl) ?? 0) + n);
    },
  };
  byName.set(name, made);
  return made;
}

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
  const pushes =
    existing<Counter<'type'>>(registry, 'isthmus_xds_pushes_total') ??
    new Counter({ name: 'isthmus_xds_pushes_total', help: 'DiscoveryResponses sent, by type URL', labelNames: ['type'], registers });
  const nacks =
    existing<Counter<'type'>>(registry, 'isthmus_xds_nacks_total') ??
    new Counter({ name: 'isthmus_xds_nacks_total', help: 'Responses proxies rejected (NACK), by type URL', labelNames: ['type'], registers });
  const bytes =
    existing<Counter<'type'>>(registry, 'isthmus_xds_push_bytes_total') ??
    new Counter({ name: 'isthmus_xds_push_bytes_total', help: 'Bytes of DiscoveryResponses sent, by type URL', labelNames: ['type'], registers });
  const duration =
    existing<Histogram>(registry, 'isthmus_xds_push_duration_seconds') ??
    new Histogram({
      name: 'isthmus_xds_push_duration_seconds',
      help: 'Time from a new snapshot to its push being written to a proxy',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  // Children bound to each type label, looked up once: prom-client hashes a labels object
  // on every inc(), and a push round calls this for every proxy.
  const byType = new Map<string, { pushes: { inc(n?: number): void }; bytes: { inc(n?: number): void } }>();
  const forType = (typeUrl: string) => {
    let c = byType.get(typeUrl);
    if (!c) {
      const type = typeLabel(typeUrl);
      c = { pushes: pushes.labels({ type }), bytes: bytes.labels({ type }) };
      if (byType.size < 64) byType.set(typeUrl, c);
    }
    return c;
  };
  return {
    onStreamOpen: () => connected.inc(),
    onStreamClosed: () => connected.dec(),
    onResponse: (e) => {
      const c = forType(e.typeUrl);
      c.pushes.inc();
      c.bytes.inc(e.bytes);
    },
    onNack: (e) => nacks.inc({ type: typeLabel(e.typeUrl) }),
    onPushComplete: (_s, seconds) => duration.observe(seconds),
  };
}

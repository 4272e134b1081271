import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { metricsCallbacks } from '../../src/callbacks/metrics.js';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../src/resources/type-urls.js';

const response = (typeUrl: string, bytes: number) =>
  ({ stream: {} as never, typeUrl, version: 'v', nonce: 'n', resources: 1, bytes, trigger: 'push' }) as const;

async function value(registry: Registry, name: string, type: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => v.labels.type === type)?.value;
}

describe('xDS metrics', () => {
  it('pushes and bytes counted between scrapes show in the next one, once, from every server on the registry', async () => {
    const registry = new Registry();
    const a = metricsCallbacks(registry);
    const b = metricsCallbacks(registry);
    a.onResponse!(response(CLUSTER_TYPE_URL, 100));
    b.onResponse!(response(CLUSTER_TYPE_URL, 50));
    a.onResponse!(response(LISTENER_TYPE_URL, 7));
    expect(await value(registry, 'isthmus_xds_pushes_total', CLUSTER_TYPE_URL)).toBe(2);
    expect(await value(registry, 'isthmus_xds_push_bytes_total', CLUSTER_TYPE_URL)).toBe(150);
    expect(await value(registry, 'isthmus_xds_push_bytes_total', LISTENER_TYPE_URL)).toBe(7);
    // Read again with nothing new: the same totals (nothing counted twice).
    expect(await value(registry, 'isthmus_xds_pushes_total', CLUSTER_TYPE_URL)).toBe(2);
    b.onResponse!(response(CLUSTER_TYPE_URL, 1));
    expect(await registry.metrics()).toContain(`isthmus_xds_pushes_total{type="${CLUSTER_TYPE_URL}"} 3`);
  });

  it('an invented type URL counts as "other"; a counter someone else registered is counted at once', async () => {
    const registry = new Registry();
    const foreign = new Counter({ name: 'isthmus_xds_pushes_total', help: 'x', labelNames: ['type'], registers: [registry] });
    const callbacks = metricsCallbacks(registry);
    callbacks.onResponse!(response('type.googleapis.com/made.Up', 3));
    expect((await foreign.get()).values).toEqual([{ labels: { type: 'other' }, value: 1 }]);
    expect(await value(registry, 'isthmus_xds_push_bytes_total', 'other')).toBe(3);
  });
});

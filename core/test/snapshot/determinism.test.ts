import { afterEach, describe, expect, it } from 'vitest';
import {
  InMemoryBus,
  MeshEngine,
  silentLogger,
  stableStringify,
  type ConfigMessage,
  type MeshSnapshot,
  type RegistryMessage,
  type Service,
  type Workload,
} from '@isthmus/core';

// Property: every xDS replica computes the same snapshot — same content hash, same
// content — from the same bus state, whatever order and batching the state arrived in
// (NATS delivers per-key updates interleaved differently to each replica; a replica that
// restarts sees only the final values). xDS generation is a pure function of the
// snapshot, so equal snapshots mean equal per-proxy versions (the e2e failover test checks
// that on a real client).

/** mulberry32: a small seeded PRNG, so a failure names its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
function shuffle<T>(r: Rand, list: readonly T[]): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const HOSTS = ['greeter.global', 'ledger.global', 'cart.shop.svc.cluster.local', 'auth.global', 'search.service.consul', 'db.service.nomad'];
const VERSIONS = ['v1', 'v2', 'v3'];

function randomService(r: Rand, host: string, source: string): Service {
  const ports = shuffle(r, [
    { name: 'grpc', number: 50051, protocol: 'GRPC' as const },
    { name: 'http', number: 8080, protocol: 'HTTP' as const },
    { name: 'tcp', number: 9000, protocol: 'TCP' as const },
  ]).slice(0, int(r, 1, 3));
  return {
    hostname: host,
    namespace: host.includes('shop') ? 'shop' : 'default',
    ports,
    labels: r() < 0.5 ? { team: pick(r, ['a', 'b']) } : {},
    sources: [source],
    exportTo: ['*'],
  };
}

function randomShard(r: Rand, source: string, index: number): RegistryMessage {
  const hosts = shuffle(r, HOSTS).slice(0, int(r, 1, 4));
  const services = hosts.filter(() => r() < 0.85).map((h) => randomService(r, h, source));
  const workloads: Workload[] = [];
  for (const host of hosts) {
    for (let i = 0; i < int(r, 0, 4); i++) {
      workloads.push({
        id: `${source}/${host}/${i}`,
        hostname: host,
        namespace: 'default',
        address: `10.${index}.${HOSTS.indexOf(host)}.${i + 1}`,
        ports: r() < 0.5 ? { grpc: int(r, 20000, 20100) } : {},
        labels: { version: pick(r, VERSIONS), ...(r() < 0.3 ? { zone: pick(r, ['a', 'b']) } : {}) },
        health: pick(r, ['HEALTHY', 'HEALTHY', 'UNHEALTHY', 'DRAINING'] as const),
        locality: r() < 0.5 ? { region: pick(r, ['eu', 'us']), zone: pick(r, ['1', '2']) } : {},
        weight: int(r, 1, 3),
        source,
      });
    }
  }
  // Platforms list things in any order.
  return { shard: { source, services: shuffle(r, services), workloads: shuffle(r, workloads) }, synced: true, stale: false, updatedAt: `2026-01-0${index + 1}T00:00:00Z` };
}

function destinationRule(host: string, subsets: readonly string[]) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: host.split('.')[0]!, namespace: 'default' },
    spec: { host, subsets: subsets.map((v) => ({ name: v, labels: { version: v } })) },
  };
}

function weights(r: Rand, n: number): number[] {
  const cuts = Array.from({ length: n - 1 }, () => int(r, 0, 100)).sort((a, b) => a - b);
  return [...cuts, 100].map((c, i) => c - (i === 0 ? 0 : cuts[i - 1]!));
}

function virtualService(r: Rand, host: string, subsets: readonly string[]) {
  const routes = Array.from({ length: int(r, 1, 3) }, (_, i) => {
    const dests = shuffle(r, subsets).slice(0, int(r, 1, subsets.length));
    const w = weights(r, dests.length);
    return {
      name: `r${i}`,
      ...(i > 0 || r() < 0.3 ? { match: [{ headers: { 'x-user': { exact: `u${i}` } } }] } : {}),
      route: dests.map((s, k) => ({ destination: { host, subset: s }, weight: w[k] })),
      ...(r() < 0.3 ? { timeout: `${int(r, 1, 5)}s` } : {}),
    };
  });
  // The catch-all last, as Istio wants.
  routes.sort((a, b) => ('match' in a ? 0 : 1) - ('match' in b ? 0 : 1));
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: host.split('.')[0]!, namespace: 'default' }, spec: { hosts: [host], http: routes } };
}

function randomConfig(r: Rand): Map<string, ConfigMessage> {
  const parts = new Map<string, ConfigMessage>();
  for (const host of shuffle(r, HOSTS).slice(0, int(r, 1, 4))) {
    const subsets = shuffle(r, VERSIONS).slice(0, int(r, 1, 3));
    const objects = [destinationRule(host, subsets), ...(r() < 0.8 ? [virtualService(r, host, subsets)] : [])];
    // Rules of one host in one part, or spread over two (a file and an `isthmus apply`).
    if (objects.length === 2 && r() < 0.5) {
      parts.set(`files/${host}.yaml`, { source: `files/${host}.yaml`, objects: [{ object: objects[0]!, origin: `files/${host}.yaml:1` }], updatedAt: 't' });
      parts.set(`apply/VirtualService/default/${host}`, { source: `apply/${host}`, objects: [{ object: objects[1]!, origin: `nats:apply/${host}` }], updatedAt: 't' });
    } else {
      parts.set(`files/${host}.yaml`, { source: `files/${host}.yaml`, objects: objects.map((o, i) => ({ object: o, origin: `files/${host}.yaml:${i * 10 + 1}` })), updatedAt: 't' });
    }
  }
  return parts;
}

interface Input {
  readonly registry: Map<string, RegistryMessage>;
  readonly config: Map<string, ConfigMessage>;
}

function randomInput(seed: number): Input {
  const r = prng(seed);
  const registry = new Map<string, RegistryMessage>();
  const sources = ['consul/dc1', 'nomad/global', 'static/vms', 'kubernetes/c1'].slice(0, int(r, 1, 4));
  sources.forEach((s, i) => registry.set(s, randomShard(r, s, i)));
  return { registry, config: randomConfig(r) };
}

const engines: MeshEngine[] = [];
afterEach(() => engines.splice(0).forEach((e) => e.stop()));

function startEngine(): { bus: InMemoryBus; engine: MeshEngine } {
  const bus = new InMemoryBus();
  const engine = new MeshEngine(bus, { logger: silentLogger(), debounceMs: 1, maxDelayMs: 5 });
  engines.push(engine);
  engine.start();
  return { bus, engine };
}

/** Replica A: the final state in one go, in key order (a process that starts from KV). */
async function feedInOrder(bus: InMemoryBus, input: Input): Promise<void> {
  for (const k of [...input.config.keys()].sort()) await bus.config.put(k, input.config.get(k)!);
  for (const k of [...input.registry.keys()].sort()) await bus.registry.put(k, input.registry.get(k)!);
}

/**
 * Replica B: the same final state after a history — other values first (an earlier
 * listing, a source that came and went), everything interleaved in a random order, with
 * the engine building snapshots in between.
 */
async function feedWithHistory(bus: InMemoryBus, engine: MeshEngine, input: Input, seed: number): Promise<void> {
  const r = prng(seed ^ 0x5eed);
  const noise = randomInput(seed + 1_000_003);
  type Op = () => Promise<void>;
  const ops: Op[] = [];
  for (const [k, v] of noise.registry) ops.push(() => bus.registry.put(k, v));
  for (const [k, v] of noise.config) ops.push(() => bus.config.put(k, v));
  ops.push(() => bus.registry.put('gone/source', randomShard(r, 'gone/source', 7)));
  ops.push(() => bus.config.put('gone/part.yaml', { source: 'gone', objects: [], updatedAt: 't' }));
  const finals: Op[] = [];
  for (const [k, v] of input.registry) finals.push(() => bus.registry.put(k, v));
  for (const [k, v] of input.config) finals.push(() => bus.config.put(k, v));
  for (const k of noise.registry.keys()) if (!input.registry.has(k)) finals.push(() => bus.registry.delete(k));
  for (const k of noise.config.keys()) if (!input.config.has(k)) finals.push(() => bus.config.delete(k));
  finals.push(() => bus.registry.delete('gone/source'), () => bus.config.delete('gone/part.yaml'));
  for (const op of [...shuffle(r, ops), ...shuffle(r, finals)]) {
    await op();
    if (r() < 0.3) engine.flush();
  }
}

function content(s: MeshSnapshot): string {
  return stableStringify({ services: s.services, endpoints: s.endpoints, routes: s.routes, destinations: s.destinations });
}

async function settle(engine: MeshEngine): Promise<MeshSnapshot> {
  engine.flush();
  await new Promise((r) => setTimeout(r, 10));
  engine.flush();
  const s = engine.current();
  expect(s).toBeDefined();
  return s!;
}

describe('snapshot determinism across replicas', () => {
  const seeds = Array.from({ length: 60 }, (_, i) => 1 + i * 7919);

  it.each(seeds)('seed %i: two engines given the same input by different histories agree on versions and content', async (seed) => {
    const input = randomInput(seed);
    const a = startEngine();
    const b = startEngine();
    await feedInOrder(a.bus, input);
    await feedWithHistory(b.bus, b.engine, input, seed);
    const sa = await settle(a.engine);
    const sb = await settle(b.engine);
    expect(sb.version).toBe(sa.version);
    for (const key of ['services', 'endpoints', 'routes', 'destinations'] as const) {
      expect([...sb[key].entries()].map(([k, v]) => `${k}=${v.version}`).sort()).toEqual([...sa[key].entries()].map(([k, v]) => `${k}=${v.version}`).sort());
    }
    expect(content(sb)).toBe(content(sa));
    // And the version tracks content: a different input gives a different version.
    const c = startEngine();
    await feedInOrder(c.bus, randomInput(seed + 1));
    const sc = await settle(c.engine);
    if (content(sc) !== content(sa)) expect(sc.version).not.toBe(sa.version);
  });
});

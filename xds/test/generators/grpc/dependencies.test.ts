import { describe, expect, it } from 'vitest';
import type { MeshSnapshot } from '@isthmus/core';
import { affects, changedKeys } from '../../../src/cache/change-log.js';
import { grpcGenerators } from '../../../src/generators/index.js';
import type { Generator } from '../../../src/generators/generator.js';
import { grpcEndpointGenerator } from '../../../src/generators/grpc/eds.js';
import { grpcListenerGenerator } from '../../../src/generators/grpc/lds.js';
import { grpcRouteGenerator } from '../../../src/generators/grpc/rds.js';
import { aDestinationPolicy, aRouteTable, aService, aSnapshot, aWorkload, versionSubsets } from '../../helpers/builders.js';
import { generate } from '../../helpers/generate.js';

/**
 * Generator.dependencies lets a push skip every proxy whose names a change cannot reach.
 * If it ever leaves out something a generator reads, a change is silently not pushed, so
 * this checks it against the generators' real output: for every single-host change of
 * every input and every resource name, a resource whose output changed must be one its
 * dependencies say the change reaches.
 */

const A = 'a.default.svc.cluster.local'; // routes: split to b v1/v2, mirror to c
const B = 'b.default.svc.cluster.local'; // subsets v1, v2
const C = 'c.default.svc.cluster.local';
const D = 'd.default.svc.cluster.local'; // routes: all to c
const HOSTS = [A, B, C, D];

interface Mesh {
  ports?: Record<string, number[]>;
  addresses?: Record<string, string>;
  bV2Health?: 'HEALTHY' | 'UNHEALTHY';
  split?: [number, number];
  dRoutesTo?: string;
  bPolicy?: boolean;
  cSubsets?: boolean;
  bRoutes?: boolean;
  namespaceOfC?: string;
  /** A fault on a's route (the listener's fault filter), or a changed one. */
  aFault?: 'abort' | 'delay';
}

function mesh(m: Mesh = {}): MeshSnapshot {
  const b = aSnapshot();
  for (const h of HOSTS) {
    const svc = aService(h);
    for (const p of m.ports?.[h] ?? [50051]) svc.withPort(`p${p}`, p);
    if (h === C && m.namespaceOfC) svc.inNamespace(m.namespaceOfC);
    b.withService(svc.build());
    const addr = m.addresses?.[h] ?? `10.0.${HOSTS.indexOf(h)}.1`;
    b.withWorkloads(
      aWorkload(h, `${h}-1`).at(addr).withLabels({ version: 'v1' }).build(),
      aWorkload(h, `${h}-2`).at(`10.1.${HOSTS.indexOf(h)}.2`).withLabels({ version: 'v2' }).withHealth(h === B ? m.bV2Health ?? 'HEALTHY' : 'HEALTHY').build(),
    );
  }
  const [w1, w2] = m.split ?? [50, 50];
  b.withRoutes(
    aRouteTable(A, [
      {
        destinations: [{ host: B, subset: 'v1', weight: w1 }, { host: B, subset: 'v2', weight: w2 }],
        mirrors: [{ host: C, percentage: { value: 10 } }],
        ...(m.aFault === 'abort' ? { fault: { abort: { grpcStatus: 8, percentage: { value: 50 } } } } : {}),
        ...(m.aFault === 'delay' ? { fault: { delay: { fixedDelayMs: 100, percentage: { value: 100 } } } } : {}),
      },
    ]),
    aRouteTable(D, [{ destinations: [{ host: m.dRoutesTo ?? C, weight: 100 }] }]),
  );
  if (m.bRoutes) b.withRoutes(aRouteTable(B, [{ destinations: [{ host: B, subset: 'v2', weight: 100 }] }]));
  b.withDestinations(versionSubsets(B, m.bPolicy ? { connectionPool: { maxRequests: 7 } } : undefined));
  if (m.cSubsets) b.withDestinations(aDestinationPolicy(C, [{ name: 'v1', labels: { version: 'v1' } }]));
  return b.build();
}

const MUTATIONS: [string, Mesh][] = [
  ...HOSTS.map((h): [string, Mesh] => [`endpoint address of ${h}`, { addresses: { [h]: '10.9.9.9' } }]),
  ['health of a split destination (b v2)', { bV2Health: 'UNHEALTHY' }],
  ...HOSTS.map((h): [string, Mesh] => [`a new port on ${h}`, { ports: { [h]: [50051, 8080] } }]),
  ['namespace of c (visibility)', { namespaceOfC: 'other' }],
  ['route weights of a', { split: [90, 10] }],
  ['route table of d (now to b)', { dRoutesTo: B }],
  ['a new route table for b', { bRoutes: true }],
  ['DestinationRule policy of b', { bPolicy: true }],
  ['a fault on the route of a', { aFault: 'abort' }],
  ['a new DestinationRule for c', { cSubsets: true }],
];

function namesFor(typeUrl: string): string[] {
  const ports = [50051, 8080];
  if (typeUrl.endsWith('Listener') || typeUrl.endsWith('RouteConfiguration')) return HOSTS.flatMap((h) => ports.map((p) => `${h}:${p}`));
  return HOSTS.flatMap((h) => ports.flatMap((p) => ['', 'v1', 'v2'].map((s) => `outbound|${p}|${s}|${h}`)));
}

function output(g: Generator, snapshot: MeshSnapshot, name: string): string {
  return generate(g, snapshot, { names: [name] }).resources.map((r) => `${r.name}@${r.version}`).join(',');
}

/** Every (single-host change, resource name) of the generator's type: the mesh before and after it. */
function* changesAndNames(g: Generator): IterableIterator<{ what: string; name: string; base: MeshSnapshot; next: MeshSnapshot; changes: ReturnType<typeof changedKeys> }> {
  const base = mesh();
  for (const [what, m] of MUTATIONS) {
    const next = mesh(m);
    const changes = changedKeys(base, next);
    for (const name of namesFor(g.typeUrl)) yield { what, name, base, next, changes };
  }
}

/** Every (change, name) whose output changed although the dependencies say the change cannot reach it. */
function missedChanges(g: Generator, dependencies: NonNullable<Generator['dependencies']>): { misses: string[]; skipped: number } {
  const misses: string[] = [];
  let skipped = 0;
  for (const { what, name, base, next, changes } of changesAndNames(g)) {
    if (affects(changes, g.inputs, dependencies(next, name))) continue;
    skipped++;
    if (output(g, base, name) !== output(g, next, name)) misses.push(`${what}: ${name}`);
  }
  return { misses, skipped };
}

/** Every (change, name) the change does not reach whose dependencies differ after it. */
function staleDependencies(g: Generator, dependencies: NonNullable<Generator['dependencies']>): { stale: string[]; kept: number } {
  const stale: string[] = [];
  let kept = 0;
  for (const { what, name, base, next, changes } of changesAndNames(g)) {
    const before = dependencies(base, name);
    if (affects(changes, g.inputs, before)) continue;
    kept++;
    if (JSON.stringify(dependencies(next, name)) !== JSON.stringify(before)) stale.push(`${what}: ${name}`);
  }
  return { stale, kept };
}

describe('grpc generators: dependencies cover everything a resource reads', () => {
  it.each(grpcGenerators.map((g) => [g.resourceType.shortName, g] as const))('%s', (_t, g) => {
    expect(g.dependencies).toBeDefined();
    const { misses, skipped } = missedChanges(g, g.dependencies!.bind(g));
    expect(misses).toEqual([]);
    // Not vacuous: most (change, name) pairs are skipped, which is the point.
    expect(skipped).toBeGreaterThan(namesFor(g.typeUrl).length * MUTATIONS.length * 0.5);
  });

  it.each(grpcGenerators.map((g) => [g.resourceType.shortName, g] as const))('%s: dependencies a change does not reach stay as they were', (_t, g) => {
    // The cache keeps those answers across config changes and computes again only the reached ones.
    const { stale, kept } = staleDependencies(g, g.dependencies!.bind(g));
    expect(stale).toEqual([]);
    expect(kept).toBeGreaterThan(0);
  });

  it('that check catches dependencies that read more than they list', () => {
    // RDS also naming what d routes to, without listing d's route table.
    const { stale } = staleDependencies(grpcRouteGenerator, (s, n) => {
      const deps = grpcRouteGenerator.dependencies!(s, n);
      const viaD = (s.routes.get(D)?.routes ?? []).flatMap((r) => r.destinations.map((d) => d.host));
      return { ...deps, services: [...new Set([...(deps.services ?? []), ...viaD])] };
    });
    expect(stale).toContain(`route table of d (now to b): ${C}:50051`);
  });

  it('the check catches dependencies that leave something out', () => {
    // EDS claiming it reads no endpoints: every endpoint change would go unpushed.
    const { misses } = missedChanges(grpcEndpointGenerator, (s, n) => ({ ...grpcEndpointGenerator.dependencies!(s, n), endpoints: [] }));
    expect(misses).toContain(`endpoint address of ${B}: outbound|50051|v1|${B}`);
    // RDS without the split's endpoints: a subset losing its last healthy endpoint would keep its share.
    const rds = missedChanges(grpcRouteGenerator, (s, n) => ({ ...grpcRouteGenerator.dependencies!(s, n), endpoints: [] }));
    expect(rds.misses).toEqual([`health of a split destination (b v2): ${A}:50051`]);
    // LDS without the route faults: a new fault would never reach the listener's filter chain.
    const lds = missedChanges(grpcListenerGenerator, (s, n) => ({ ...grpcListenerGenerator.dependencies!(s, n), routeFaults: [] }));
    expect(lds.misses).toEqual([`a fault on the route of a: ${A}:50051`]);
  });

  it('a listener is not reached by route changes that add or remove no fault', () => {
    const base = mesh();
    for (const m of [{ split: [90, 10] as [number, number] }, { dRoutesTo: B }, { bRoutes: true }]) {
      const changes = changedKeys(base, mesh(m));
      expect(changes.has('routes')).toBe(true);
      expect(affects(changes, grpcListenerGenerator.inputs, grpcListenerGenerator.dependencies!(mesh(m), `${A}:50051`))).toBe(false);
    }
    const faulted = changedKeys(mesh({ aFault: 'abort' }), mesh({ aFault: 'delay' }));
    expect(faulted.get('routes')).toEqual(new Set([A]));
    expect(faulted.has('routeFaults')).toBe(false); // another fault on the same port: the same filter
  });
});

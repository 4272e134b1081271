import {
  compileRules,
  DEFAULT_NAMESPACE,
  effectiveTrafficPolicy,
  objectKey,
  REGISTRY_KINDS,
  resolveHost,
  type ConfigIssue,
  type DestinationPolicy,
  type RouteTable,
  type SourcedObject,
} from '@isthmus/core';
import { Gauge, type Registry } from 'prom-client';
import { adaptRoute, clusterPolicy, type Unenforced } from './adapt.js';
import { VERIFIED_PROXYLESS_PROFILES, type ClientProfile, type ProfileId } from './profiles.js';

/** A rule part one kind of client does not enforce as written, with that client. */
export interface UnenforcedRule extends Unenforced {
  readonly client: ProfileId;
  readonly clientName: string;
}

/** What the capability check reads: the compiled rules, and the service ports when known. */
export interface CompiledRules {
  readonly routes: ReadonlyMap<string, RouteTable>;
  readonly destinations: ReadonlyMap<string, DestinationPolicy>;
  readonly services?: ReadonlyMap<string, { readonly service: { readonly ports: readonly { readonly number: number }[] } }>;
}

/**
 * Every rule part the given kinds of client cannot enforce (or enforce only
 * approximately), by rule and client, sorted and without duplicates. Runs the same
 * decisions the generators make (capabilities/adapt.ts) over the whole rule set, so what
 * is reported is exactly what is left out of the config those clients get.
 */
export function unenforcedRules(rules: CompiledRules, profiles: readonly ClientProfile[]): UnenforcedRule[] {
  const seen = new Map<string, UnenforcedRule>();
  for (const profile of profiles) {
    const report = (u: Unenforced): void => {
      const r: UnenforcedRule = { ...u, client: profile.id, clientName: profile.name };
      seen.set(`${r.client}\0${r.origin}\0${r.path}\0${r.kind}\0${r.message}`, r);
    };
    for (const table of rules.routes.values()) for (const route of table.routes) adaptRoute(route, profile, report);
    for (const policy of rules.destinations.values()) {
      for (const port of policyPorts(policy, rules.services?.get(policy.host)?.service.ports ?? [])) {
        clusterPolicy(effectiveTrafficPolicy(policy, port), profile, report);
        for (const s of policy.subsets) clusterPolicy(effectiveTrafficPolicy(policy, port, s.name), profile, report);
      }
    }
  }
  return [...seen.values()].sort((a, b) => {
    const ka = `${a.origin}\0${a.path}\0${a.client}\0${a.kind}\0${a.message}`;
    const kb = `${b.origin}\0${b.path}\0${b.client}\0${b.kind}\0${b.message}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** The ports whose clusters can differ: the service's, every port-level setting's, and "any other" (0). */
function policyPorts(policy: DestinationPolicy, servicePorts: readonly { number: number }[]): number[] {
  const ports = new Set<number>([0, ...servicePorts.map((p) => p.number)]);
  for (const tp of [policy.trafficPolicy, ...policy.subsets.map((s) => s.trafficPolicy)]) {
    for (const pl of tp?.portLevelSettings ?? []) ports.add(pl.port);
  }
  return [...ports].sort((a, b) => a - b);
}

/** `not enforced on proxyless gRPC (C-core ≤ 1.51): ...` — one line for a rule part, naming every client that misses it. */
export function describeUnenforced(list: readonly UnenforcedRule[], allProxyless: readonly ClientProfile[] = VERIFIED_PROXYLESS_PROFILES): string {
  const first = list[0];
  if (!first) return '';
  const verb = first.level === 'left-out' ? 'not enforced on' : 'approximated on';
  const clients = new Set(list.map((u) => u.client));
  const everyProxyless = allProxyless.every((p) => clients.has(p.id)) && [...clients].every((c) => c !== 'envoy');
  const who = everyProxyless ? 'proxyless gRPC' : [...new Set(list.map((u) => u.clientName))].join(', ');
  return `${verb} ${who}: ${first.message}`;
}

/**
 * For `isthmus validate`: what proxyless gRPC clients (the verified ones: grpc-js 1.14,
 * C-core 1.51) would not enforce of these objects, as warnings on the objects' fields.
 * Hosts are not resolved against a registry (ServiceEntries in the set give the ports).
 */
export function proxylessGaps(objects: readonly SourcedObject[], profiles: readonly ClientProfile[] = VERIFIED_PROXYLESS_PROFILES): ConfigIssue[] {
  const services = new Map<string, { service: { ports: { number: number }[] } }>();
  for (const o of objects) {
    if (!REGISTRY_KINDS.has(o.object.kind) || !Array.isArray(o.object.spec.hosts)) continue;
    const ports = (Array.isArray(o.object.spec.ports) ? o.object.spec.ports : []).flatMap((p: unknown) =>
      typeof p === 'object' && p !== null && typeof (p as { number?: unknown }).number === 'number' ? [{ number: (p as { number: number }).number }] : [],
    );
    for (const h of o.object.spec.hosts) {
      if (typeof h === 'string') services.set(resolveHost(h, o.object.metadata.namespace ?? DEFAULT_NAMESPACE), { service: { ports } });
    }
  }
  const compiled = compileRules(objects, services);
  const byKey = new Map(objects.map((o) => [objectKey(o.object), o]));
  // One warning per rule field and outcome, naming every client it concerns.
  const grouped = new Map<string, UnenforcedRule[]>();
  for (const u of unenforcedRules({ ...compiled, services }, profiles)) {
    for (const origin of u.origin.split(',')) {
      const key = `${origin}\0${u.path}\0${u.level}\0${u.message}`;
      grouped.set(key, [...(grouped.get(key) ?? []), { ...u, origin }]);
    }
  }
  const out: ConfigIssue[] = [];
  for (const list of grouped.values()) {
    const u = list[0]!;
    const o = byKey.get(u.origin);
    if (!o) continue;
    out.push({
      severity: 'warning',
      source: o.origin,
      kind: o.object.kind,
      namespace: o.object.metadata.namespace ?? DEFAULT_NAMESPACE,
      name: o.object.metadata.name,
      path: u.path,
      message: describeUnenforced(list, profiles),
    });
  }
  return out;
}

/**
 * `isthmus_xds_unenforced_rules{kind,client}`: rule parts left out for a kind of client
 * that is connected, computed when scraped.
 */
export function unenforcedRulesGauge(registry: Registry, current: () => readonly UnenforcedRule[]): Gauge<'kind' | 'client'> {
  const name = 'isthmus_xds_unenforced_rules';
  const existing = registry.getSingleMetric(name) as Gauge<'kind' | 'client'> | undefined;
  if (existing) registry.removeSingleMetric(name);
  return new Gauge({
    name,
    help: 'Rule parts (VirtualService/DestinationRule fields) left out of the config of a kind of connected client that cannot enforce them',
    labelNames: ['kind', 'client'],
    registers: [registry],
    collect() {
      this.reset();
      for (const u of current()) if (u.level === 'left-out') this.inc({ kind: u.kind, client: u.client });
    },
  });
}

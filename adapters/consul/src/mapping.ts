import { isIP } from 'node:net';
import {
  DEFAULT_NAMESPACE,
  DEFAULT_TRUST_DOMAIN,
  compileVersionTagPattern,
  keyValueTagLabels,
  mostCommon,
  toProtocol,
  validPort,
  versionFromTags,
  type HealthStatus,
  type Protocol,
  type Service,
  type ServicePort,
  type Workload,
} from '@isthmus/core';
import type { ConsulCheck, HealthEntry } from './consul-types.js';
import { namingPolicy, type NamingPolicy } from './naming.js';
import type { ConnectMode, ConsulAdapterOptions } from './options.js';

/** The mapping options with every default applied. */
export interface ResolvedMapping {
  readonly source: string;
  /** `--consul-dc`, or undefined for the agent's own datacenter. */
  readonly datacenter: string | undefined;
  readonly consulNamespace: string;
  readonly partition: string;
  readonly meshNamespace: string;
  readonly naming: NamingPolicy;
  readonly warning: 'HEALTHY' | 'UNHEALTHY';
  readonly includeUnhealthy: boolean;
  readonly connect: ConnectMode;
  readonly versionMetaKey: string;
  readonly versionTag: RegExp;
  readonly zoneMetaKey: string;
  readonly meshPortMetaKey: string;
  readonly protocolMetaKey: string;
  readonly defaultProtocol: Protocol;
  readonly trustDomain: string;
}

export function resolveMapping(o: ConsulAdapterOptions, source: string): ResolvedMapping {
  const versionTag = compileVersionTagPattern(o.versionTagPattern, 'consul');
  return {
    source,
    datacenter: o.datacenter || undefined,
    consulNamespace: o.namespace || 'default',
    partition: o.partition || 'default',
    meshNamespace: o.meshNamespace || o.namespace || DEFAULT_NAMESPACE,
    naming: namingPolicy(o.domain),
    warning: o.warning ?? 'UNHEALTHY',
    includeUnhealthy: o.includeUnhealthy ?? false,
    connect: o.connect ?? 'ignore',
    versionMetaKey: o.versionMetaKey ?? 'version',
    versionTag,
    zoneMetaKey: o.zoneMetaKey ?? 'zone',
    meshPortMetaKey: o.meshPortMetaKey ?? 'mesh_port',
    protocolMetaKey: o.protocolMetaKey ?? 'protocol',
    defaultProtocol: o.defaultProtocol ?? 'TCP',
    trustDomain: o.trustDomain ?? DEFAULT_TRUST_DOMAIN,
  };
}

/** True when Consul's `?passing` filter gives exactly the instances the mapping keeps. */
export function canUsePassingFilter(m: ResolvedMapping): boolean {
  return m.warning === 'UNHEALTHY' && !m.includeUnhealthy;
}

/** The mesh hostname of a Consul service, or undefined when its name cannot be a host name. */
export function hostnameOf(name: string, m: ResolvedMapping): string | undefined {
  return m.naming({ service: name, namespace: m.consulNamespace, partition: m.partition, datacenter: m.datacenter ?? 'local' });
}

/**
 * Health of an instance from all its checks (node checks such as serfHealth included):
 * maintenance mode → DRAINING, any critical → UNHEALTHY, any warning → as configured,
 * else HEALTHY. Consul's own `?passing` filter is the same rule with warning = UNHEALTHY.
 */
export function instanceHealth(checks: readonly ConsulCheck[], warning: 'HEALTHY' | 'UNHEALTHY'): HealthStatus {
  let worst: HealthStatus = 'HEALTHY';
  for (const c of checks) {
    if (c.Status !== 'critical') {
      if (c.Status === 'warning' && warning === 'UNHEALTHY') worst = 'UNHEALTHY';
      continue;
    }
    if (c.CheckID === '_node_maintenance' || c.CheckID.startsWith('_service_maintenance')) return 'DRAINING';
    worst = 'UNHEALTHY';
  }
  return worst;
}

function hasWarning(checks: readonly ConsulCheck[]): boolean {
  return checks.some((c) => c.Status === 'warning');
}

/**
 * Labels of an instance: `key=value` tags, then `Service.Meta` (meta wins), then `version`:
 * `Meta[versionMetaKey]`, else a `version=…` tag, else the first bare tag matching the
 * version pattern (`v1`, `v2.1`): Nomad copies canary tags like that into Consul.
 */
export function instanceLabels(tags: readonly string[], meta: Readonly<Record<string, string>>, m: ResolvedMapping): Record<string, string> {
  const labels = keyValueTagLabels(tags);
  for (const [k, v] of Object.entries(meta)) if (k !== '') labels[k] = v;
  const version = meta[m.versionMetaKey] || versionFromTags(tags, labels, m.versionTag);
  if (version) labels.version = version;
  return labels;
}

/** A mapped Consul service: the mesh Service (if it can be named) and its Workloads. */
export interface MappedService {
  readonly hostname: string | undefined;
  readonly service: Service | undefined;
  readonly workloads: readonly Workload[];
  /** Things an operator should know (skipped instances, ambiguous ports). */
  readonly notes: readonly string[];
}

interface Candidate {
  readonly entry: HealthEntry;
  readonly address: string;
  readonly port: number;
  readonly health: HealthStatus;
  readonly warning: boolean;
}

/**
 * Maps one Consul service's health entries (and, in `sidecar` mode, its Connect entries)
 * to a Service and Workloads.
 *
 * The mesh port (what clients dial: `xds:///<host>:<port>`) is, in order:
 *  1. the value of the `mesh_port` meta key on the instances (the most common one);
 *  2. the instances' common port, when they all listen on one;
 *  3. the port published before, when no instance is left (clients keep their listener
 *     and see "no healthy upstream" rather than "no such service");
 *  4. none: instances listen on different ports and nothing declares one. A ServiceEntry
 *     for the host declares it (its port named after the protocol, e.g. `grpc`); a note
 *     says so.
 * The port is named after the protocol (`grpc`, `http`, `tcp` ...), from the `protocol`
 * meta key or the default. Each workload keeps its own port in `ports`, so EDS sends
 * every endpoint's real port whatever the mesh port is.
 */
export function mapService(
  name: string,
  entries: readonly HealthEntry[],
  connectEntries: readonly HealthEntry[] | undefined,
  m: ResolvedMapping,
  previousPorts: readonly ServicePort[] = [],
): MappedService {
  const notes: string[] = [];
  const hostname = hostnameOf(name, m);
  if (!hostname) {
    return { hostname, service: undefined, workloads: [], notes: [`service "${name}" is not a valid DNS label; not mapped`] };
  }
  const sidecars = new Map<string, HealthEntry>();
  if (m.connect === 'sidecar') {
    for (const e of connectEntries ?? []) {
      const dest = e.Service.Proxy?.DestinationServiceID;
      if (e.Service.Kind === 'connect-proxy' && dest) sidecars.set(`${e.Node.Node}/${dest}`, e);
    }
  }
  const candidates: Candidate[] = [];
  const sorted = [...entries].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  for (const e of sorted) {
    // Sidecars and gateways are other kinds of registration; they never serve as the service itself.
    if (e.Service.Kind) continue;
    const sidecar = sidecars.get(`${e.Node.Node}/${e.Service.ID}`);
    const via = sidecar ?? e;
    const address = via.Service.Address || via.Node.Address;
    if (!isIP(address)) {
      notes.push(`instance ${e.Service.ID} on ${e.Node.Node}: address "${address}" is not an IP address; skipped`);
      continue;
    }
    const checks = sidecar ? [...e.Checks, ...sidecar.Checks] : e.Checks;
    candidates.push({ entry: e, address, port: via.Service.Port, health: instanceHealth(checks, m.warning), warning: hasWarning(checks) });
  }

  const protocol = protocolOf(candidates, m);
  const portName = protocol.toLowerCase();
  const declared = candidates.map((c) => validPort(c.entry.Service.Meta[m.meshPortMetaKey])).filter((p): p is number => p !== undefined);
  const distinct = [...new Set(candidates.map((c) => c.port))].sort((a, b) => a - b);
  let ports: ServicePort[];
  if (declared.length > 0) {
    const chosen = mostCommon(declared)!;
    if (new Set(declared).size > 1) notes.push(`instances of "${name}" declare different ${m.meshPortMetaKey} values; using ${chosen}`);
    ports = [{ name: portName, number: chosen, protocol }];
  } else if (distinct.length === 1) {
    ports = [{ name: portName, number: distinct[0]!, protocol }];
  } else if (distinct.length === 0) {
    ports = [...previousPorts];
  } else {
    ports = [];
    notes.push(
      `instances of "${name}" listen on different ports (${distinct.join(', ')}) and none declares ${m.meshPortMetaKey}: ` +
        `set that meta key, or declare the port in a ServiceEntry for ${hostname} (port name "${portName}")`,
    );
  }

  const identity = `spiffe://${m.trustDomain}/ns/${m.meshNamespace}/sa/${name}`;
  const workloads: Workload[] = [];
  for (const c of candidates) {
    if (c.health !== 'HEALTHY' && !m.includeUnhealthy) continue;
    const s = c.entry.Service;
    const zone = s.Locality?.Zone || c.entry.Node.Meta[m.zoneMetaKey];
    const region = c.entry.Node.Datacenter || m.datacenter;
    const weights = s.Weights;
    const weight = c.warning && c.health === 'HEALTHY' ? weights?.Warning : weights?.Passing;
    workloads.push({
      id: `${m.source}/${c.entry.Node.Node}/${s.ID}`,
      hostname,
      namespace: m.meshNamespace,
      address: c.address,
      ports: { [portName]: c.port },
      labels: instanceLabels(s.Tags, s.Meta, m),
      health: c.health,
      locality: { ...(region ? { region } : {}), ...(zone ? { zone } : {}) },
      weight: weight !== undefined && weight >= 1 ? Math.floor(weight) : 1,
      identity,
      source: m.source,
    });
  }
  const service: Service = {
    hostname,
    namespace: m.meshNamespace,
    ports,
    labels: {},
    sources: [m.source],
    exportTo: ['*'],
  };
  return { hostname, service, workloads, notes };
}

function keyOf(e: HealthEntry): string {
  return `${e.Node.Node}/${e.Service.ID}`;
}

function protocolOf(candidates: readonly Candidate[], m: ResolvedMapping): Protocol {
  for (const c of candidates) {
    const p = c.entry.Service.Meta[m.protocolMetaKey];
    if (p) return toProtocol(p);
  }
  return m.defaultProtocol;
}

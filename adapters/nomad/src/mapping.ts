import { isIP } from 'node:net';
import {
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
import type { CheckResult, ServiceRegistration } from './nomad-types.js';
import { namingPolicy, type NamingPolicy } from './naming.js';
import type { HealthMode, NomadAdapterOptions } from './options.js';

/** Label keys under which a workload keeps where it runs in Nomad. */
export const NOMAD_LABELS = {
  namespace: 'nomad.hashicorp.com/namespace',
  job: 'nomad.hashicorp.com/job',
  taskGroup: 'nomad.hashicorp.com/task-group',
  task: 'nomad.hashicorp.com/task',
  allocId: 'nomad.hashicorp.com/alloc-id',
  nodeId: 'nomad.hashicorp.com/node-id',
  datacenter: 'nomad.hashicorp.com/datacenter',
  region: 'nomad.hashicorp.com/region',
} as const;

/** The mapping options with every default applied. */
export interface ResolvedMapping {
  readonly source: string;
  /** `--nomad-region`, or undefined for the agent's own. */
  readonly region: string | undefined;
  /** Fixed mesh namespace, or undefined to use each service's Nomad namespace. */
  readonly meshNamespace: string | undefined;
  readonly naming: NamingPolicy;
  readonly health: HealthMode;
  readonly includeUnhealthy: boolean;
  readonly versionTag: RegExp;
  readonly canaryTag: string;
  readonly meshPortTagKey: string;
  readonly protocolTagKey: string;
  readonly defaultProtocol: Protocol;
  readonly trustDomain: string;
}

export function resolveMapping(o: NomadAdapterOptions, source: string): ResolvedMapping {
  const versionTag = compileVersionTagPattern(o.versionTagPattern, 'nomad');
  const health = o.health ?? 'checks';
  if (health !== 'checks' && health !== 'placed') throw new Error(`nomad: health must be "checks" or "placed", not "${String(health)}"`);
  return {
    source,
    region: o.region || undefined,
    meshNamespace: o.meshNamespace || undefined,
    naming: namingPolicy(o.domain),
    health,
    includeUnhealthy: o.includeUnhealthy ?? false,
    versionTag,
    canaryTag: o.canaryTag ?? 'canary',
    meshPortTagKey: o.meshPortTagKey ?? 'mesh_port',
    protocolTagKey: o.protocolTagKey ?? 'protocol',
    defaultProtocol: o.defaultProtocol ?? 'TCP',
    trustDomain: o.trustDomain ?? DEFAULT_TRUST_DOMAIN,
  };
}

/** The mesh namespace of a Nomad namespace's services. */
export function meshNamespaceOf(nomadNamespace: string, m: ResolvedMapping): string {
  return m.meshNamespace ?? nomadNamespace;
}

/** The mesh hostname of a Nomad service, or undefined when its name cannot be a host name. */
export function hostnameOf(name: string, nomadNamespace: string, m: ResolvedMapping): string | undefined {
  return m.naming({ service: name, namespace: nomadNamespace, region: m.region ?? 'local' });
}

/**
 * Health of one registration from its allocation's check results (`undefined`: not read,
 * or health mode `placed`). Only the checks of this service count (an allocation may run
 * several); any `failure` or `pending` one makes it UNHEALTHY: Nomad itself does not route
 * on checks, so nothing else would keep traffic off a failing or not yet ready instance.
 * No checks at all: placed = HEALTHY.
 */
export function registrationHealth(reg: Pick<ServiceRegistration, 'ServiceName'>, checks: readonly CheckResult[] | undefined): HealthStatus {
  if (!checks) return 'HEALTHY';
  for (const c of checks) {
    if (c.Service && c.Service !== reg.ServiceName) continue;
    if (c.Status !== 'success') return 'UNHEALTHY';
  }
  return 'HEALTHY';
}

/**
 * Labels from tags (native registrations carry no meta): `key=value` tags as they are,
 * then `version`: a `version=…` tag, else the first bare tag matching the version pattern
 * (`v1`, `v2.1`; during a canary deployment Nomad registers `canary_tags` instead of
 * `tags`, so the canary's version tag is what it runs). The canary tag adds `canary: "true"`.
 */
export function tagLabels(tags: readonly string[], m: Pick<ResolvedMapping, 'versionTag' | 'canaryTag'>): Record<string, string> {
  const labels = keyValueTagLabels(tags);
  const version = versionFromTags(tags, labels, m.versionTag);
  if (version) labels.version = version;
  if (m.canaryTag && tags.includes(m.canaryTag)) labels.canary = 'true';
  return labels;
}

/**
 * The task group (group services) or task (task services) and port label, read from the
 * registration ID Nomad builds (`structs.MakeAllocServiceID`):
 * `_nomad-task-<allocID>-group-<group>-<service>-<portLabel>` or
 * `_nomad-task-<allocID>-<task>-<service>-<portLabel>`. Empty when the ID is not one of those.
 */
export function ownerOf(reg: Pick<ServiceRegistration, 'ID' | 'AllocID' | 'ServiceName'>): { group?: string; task?: string; portLabel?: string } {
  const prefix = `_nomad-task-${reg.AllocID}-`;
  if (!reg.AllocID || !reg.ID.startsWith(prefix)) return {};
  const rest = reg.ID.slice(prefix.length);
  const marker = `-${reg.ServiceName}-`;
  const at = rest.lastIndexOf(marker);
  if (at <= 0) return {};
  const owner = rest.slice(0, at);
  const portLabel = rest.slice(at + marker.length);
  const port = portLabel ? { portLabel } : {};
  if (owner.startsWith('group-')) return { group: owner.slice('group-'.length), ...port };
  return { task: owner, ...port };
}

/** A mapped Nomad service: the mesh Service (if it can be named) and its Workloads. */
export interface MappedService {
  readonly hostname: string | undefined;
  readonly service: Service | undefined;
  readonly workloads: readonly Workload[];
  /** Things an operator should know (skipped registrations, ambiguous ports). */
  readonly notes: readonly string[];
}

/**
 * Maps one Nomad service (one name in one namespace) to a Service and Workloads.
 *
 * The mesh port (what clients dial: `xds:///<host>:<port>`) is, as for Consul:
 *  1. the value of the `mesh_port=<n>` tag on the registrations (the most common one);
 *  2. the registrations' common port, when they all listen on one;
 *  3. the port published before, when no registration is left;
 *  4. none: registrations listen on different (dynamic) ports and nothing declares one. A
 *     ServiceEntry for the host declares it (its port named after the protocol); a note says so.
 * The port is named after the protocol (`protocol=<p>` tag, else the default). Each
 * workload keeps its own port, so EDS sends every allocation's real (dynamic) port.
 */
export function mapService(
  name: string,
  nomadNamespace: string,
  registrations: readonly ServiceRegistration[],
  healthOf: (reg: ServiceRegistration) => HealthStatus,
  m: ResolvedMapping,
  previousPorts: readonly ServicePort[] = [],
): MappedService {
  const notes: string[] = [];
  const hostname = hostnameOf(name, nomadNamespace, m);
  if (!hostname) {
    return { hostname, service: undefined, workloads: [], notes: [`service "${name}" is not a valid DNS label; not mapped`] };
  }
  const meshNamespace = meshNamespaceOf(nomadNamespace, m);
  const usable: ServiceRegistration[] = [];
  for (const r of [...registrations].sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0))) {
    if (!isIP(r.Address)) {
      notes.push(`registration ${r.ID}: address "${r.Address}" is not an IP address (address_mode?); skipped`);
      continue;
    }
    if (!(r.Port >= 1 && r.Port <= 65535)) {
      notes.push(`registration ${r.ID}: port ${r.Port} is not a port; skipped`);
      continue;
    }
    usable.push(r);
  }

  const tagged = (r: ServiceRegistration, key: string) => r.Tags.find((t) => t.startsWith(`${key}=`))?.slice(key.length + 1);
  const protocolTag = usable.map((r) => tagged(r, m.protocolTagKey)).find((p) => p);
  const protocol = protocolTag ? toProtocol(protocolTag) : m.defaultProtocol;
  const portName = protocol.toLowerCase();
  const declared = usable.map((r) => validPort(tagged(r, m.meshPortTagKey))).filter((p): p is number => p !== undefined);
  const distinct = [...new Set(usable.map((r) => r.Port))].sort((a, b) => a - b);
  let ports: ServicePort[];
  if (declared.length > 0) {
    const chosen = mostCommon(declared)!;
    if (new Set(declared).size > 1) notes.push(`registrations of "${name}" declare different ${m.meshPortTagKey} values; using ${chosen}`);
    ports = [{ name: portName, number: chosen, protocol }];
  } else if (distinct.length === 1) {
    ports = [{ name: portName, number: distinct[0]!, protocol }];
  } else if (distinct.length === 0) {
    ports = [...previousPorts];
  } else {
    ports = [];
    notes.push(
      `registrations of "${name}" listen on different ports (${distinct.join(', ')}) and none has a ${m.meshPortTagKey}=<port> tag: ` +
        `add that tag, or declare the port in a ServiceEntry for ${hostname} (port name "${portName}")`,
    );
  }

  const identity = `spiffe://${m.trustDomain}/ns/${meshNamespace}/sa/${name}`;
  const workloads: Workload[] = [];
  for (const r of usable) {
    const health = healthOf(r);
    if (health !== 'HEALTHY' && !m.includeUnhealthy) continue;
    const owner = ownerOf(r);
    const labels: Record<string, string> = {
      ...tagLabels(r.Tags, m),
      [NOMAD_LABELS.namespace]: r.Namespace,
      ...(r.JobID ? { [NOMAD_LABELS.job]: r.JobID } : {}),
      ...(owner.group ? { [NOMAD_LABELS.taskGroup]: owner.group } : {}),
      ...(owner.task ? { [NOMAD_LABELS.task]: owner.task } : {}),
      ...(r.AllocID ? { [NOMAD_LABELS.allocId]: r.AllocID } : {}),
      ...(r.NodeID ? { [NOMAD_LABELS.nodeId]: r.NodeID } : {}),
      ...(r.Datacenter ? { [NOMAD_LABELS.datacenter]: r.Datacenter } : {}),
      ...(m.region ? { [NOMAD_LABELS.region]: m.region } : {}),
    };
    workloads.push({
      id: `${m.source}/${r.Namespace}/${r.ID}`,
      hostname,
      namespace: meshNamespace,
      address: r.Address,
      ports: { [portName]: r.Port },
      labels,
      health,
      // The datacenter is the region of the locality, as the Consul adapter maps Consul's
      // datacenter: Nomad and Consul agents of one site share the datacenter name, so the
      // same service from both runtimes gets the same locality.
      locality: r.Datacenter ? { region: r.Datacenter } : {},
      weight: 1,
      identity,
      source: m.source,
    });
  }
  const service: Service = {
    hostname,
    namespace: meshNamespace,
    ports,
    labels: {},
    sources: [m.source],
    exportTo: ['*'],
  };
  return { hostname, service, workloads, notes };
}

import type { Protocol, Service, ServicePort } from '../model/service.js';
import type { HealthStatus, Locality, Workload } from '../model/workload.js';
import type { RegistryShard } from '../model/shard.js';
import { DEFAULT_NAMESPACE, type SourcedObject } from '../config/object.js';

/** Kinds that describe registry state rather than rules. */
export const REGISTRY_KINDS: ReadonlySet<string> = new Set(['ServiceEntry', 'WorkloadEntry']);

/** Trust domain of SPIFFE identities derived from `serviceAccount`. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

interface PortSpec {
  number?: number;
  protocol?: string;
  name?: string;
  targetPort?: number;
}
interface EndpointSpec {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}
interface ServiceEntrySpec {
  hosts?: string[];
  ports?: PortSpec[];
  resolution?: string;
  endpoints?: EndpointSpec[];
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
}

/** Istio's port protocol names onto ours; anything not routed as HTTP is proxied as TCP. */
export function toProtocol(p: string | undefined): Protocol {
  switch ((p ?? '').toUpperCase()) {
    case 'HTTP':
      return 'HTTP';
    case 'HTTP2':
    case 'GRPC-WEB':
      return 'HTTP2';
    case 'GRPC':
      return 'GRPC';
    case 'HTTPS':
    case 'TLS':
      return 'TLS';
    default:
      return 'TCP';
  }
}

export function parseLocality(s: string | undefined): Locality {
  if (!s) return {};
  const [region, zone, subzone] = s.split('/');
  return { ...(region ? { region } : {}), ...(zone ? { zone } : {}), ...(subzone ? { subzone } : {}) };
}

function identity(ns: string, sa: string | undefined): string | undefined {
  return sa ? `spiffe://${DEFAULT_TRUST_DOMAIN}/ns/${ns}/sa/${sa}` : undefined;
}

function matchesLabels(labels: Record<string, string>, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * Turns (already validated) ServiceEntry and WorkloadEntry objects into registry state,
 * as Istio's ServiceEntry controller does: each host of a ServiceEntry is a Service;
 * inline `endpoints` and WorkloadEntries selected by `workloadSelector` (same namespace)
 * are its Workloads. Other kinds are ignored.
 */
export function serviceEntriesToShard(source: string, objects: readonly SourcedObject[]): RegistryShard {
  const services: Service[] = [];
  const workloads: Workload[] = [];
  const entries = objects.filter((o) => o.object.kind === 'WorkloadEntry');
  for (const { object } of objects) {
    if (object.kind !== 'ServiceEntry') continue;
    const spec = object.spec as ServiceEntrySpec;
    const ns = object.metadata.namespace ?? DEFAULT_NAMESPACE;
    const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({
      name: p.name ?? `port-${p.number}`,
      number: p.number ?? 0,
      protocol: toProtocol(p.protocol),
    }));
    const targetPorts: Record<string, number> = {};
    for (const p of spec.ports ?? []) if (p.targetPort) targetPorts[p.name ?? `port-${p.number}`] = p.targetPort;
    const members: { id: string; e: EndpointSpec }[] = (spec.endpoints ?? []).map((e, i) => ({
      id: `${ns}/${object.metadata.name}/${i}`,
      e,
    }));
    const selector = spec.workloadSelector?.labels;
    if (selector) {
      for (const { object: we } of entries) {
        if ((we.metadata.namespace ?? DEFAULT_NAMESPACE) !== ns) continue;
        const e = we.spec as EndpointSpec;
        if (matchesLabels(e.labels ?? {}, selector)) members.push({ id: `${ns}/${we.metadata.name}`, e });
      }
    }
    for (const hostname of spec.hosts ?? []) {
      services.push({
        hostname,
        namespace: ns,
        ports,
        labels: { ...(object.metadata.labels ?? {}) },
        sources: [source],
        exportTo: spec.exportTo && spec.exportTo.length > 0 ? [...spec.exportTo] : ['*'],
      });
      for (const { id, e } of members) {
        if (!e.address) continue;
        const health: HealthStatus = 'HEALTHY';
        const sa = identity(ns, e.serviceAccount);
        workloads.push({
          id: `${id}@${hostname}`,
          hostname,
          namespace: ns,
          address: e.address,
          ports: { ...targetPorts, ...(e.ports ?? {}) },
          labels: { ...(e.labels ?? {}) },
          health,
          locality: parseLocality(e.locality),
          weight: e.weight && e.weight > 0 ? e.weight : 1,
          ...(sa ? { identity: sa } : {}),
          source,
        });
      }
    }
  }
  return { source, services, workloads };
}

import { isIP } from 'node:net';
import { templateNamingPolicy, type HealthStatus, type Locality, type Service, type ServicePort, type Workload } from '@isthmus/core';
import type { KubeEndpointConditions, KubeEndpointSlice, KubeLabelled, KubePod, KubeService, KubeServicePort } from './kube-types.js';
import { DEFAULT_CLUSTER_ID, DEFAULT_DOMAIN, DEFAULT_TRUST_DOMAIN, type KubernetesMappingOptions } from './options.js';
import { portProtocol } from './protocols.js';

/*
 * Kubernetes objects → mesh Services and Workloads, as pure functions.
 *
 * Headless Services (clusterIP None) map like any other: the model has no virtual IP, so
 * what Istio does differently for them (per-pod listeners and passthrough, DNS names
 * `<pod>.<svc>.<ns>.svc`) does not apply; their endpoints are the workloads, as for a
 * ClusterIP Service.
 */

/** Istio's annotation restricting which namespaces see a Service. */
export const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';
/** The label every workload carries with its cluster id (Istio's). */
export const CLUSTER_LABEL = 'topology.istio.io/cluster';
/** Istio's pod label overriding the locality (`region.zone.subzone`). */
export const LOCALITY_LABEL = 'istio-locality';
export const REGION_LABEL = 'topology.kubernetes.io/region';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const SUBZONE_LABEL = 'topology.istio.io/subzone';
const LEGACY_REGION_LABEL = 'failure-domain.beta.kubernetes.io/region';
const LEGACY_ZONE_LABEL = 'failure-domain.beta.kubernetes.io/zone';

/** What the naming policy knows of a Service. */
export interface KubernetesServiceRef {
  readonly service: string;
  readonly namespace: string;
  readonly cluster: string;
}

export type NamingPolicy = (ref: KubernetesServiceRef) => string | undefined;

/**
 * `<svc>.<ns>.svc.<domain>` (DESIGN.md's Kubernetes default with domain `cluster.local`),
 * or, when `domain` holds `{service}`, that template with `{namespace}` and `{cluster}`.
 */
export function namingPolicy(domain: string = DEFAULT_DOMAIN): NamingPolicy {
  const template = domain.includes('{') ? domain : `{service}.{namespace}.svc.${domain.replace(/^\.+|\.+$/g, '')}`;
  return templateNamingPolicy<KubernetesServiceRef>('kubernetes', template, { namespace: (r) => r.namespace, cluster: (r) => r.cluster });
}

/** The mapping options resolved once per adapter. */
export interface ResolvedMapping {
  readonly source: string;
  readonly clusterId: string;
  readonly trustDomain: string;
  readonly naming: NamingPolicy;
}

export function resolveMapping(o: KubernetesMappingOptions & { readonly clusterId?: string }, source: string): ResolvedMapping {
  return {
    source,
    clusterId: o.clusterId || DEFAULT_CLUSTER_ID,
    trustDomain: o.trustDomain || DEFAULT_TRUST_DOMAIN,
    naming: namingPolicy(o.domain || DEFAULT_DOMAIN),
  };
}

/** The mesh name of a Service port: its Kubernetes name; `port-<number>` for the unnamed port of a one-port Service. */
export function meshPortName(p: Pick<KubeServicePort, 'name' | 'port'>): string {
  return p.name || `port-${p.port}`;
}

/** `exportTo` from Istio's annotation (comma-separated: `*`, `.`, `~`, namespaces); default `['*']`. */
export function exportToOf(annotations: Readonly<Record<string, string>> | undefined): string[] {
  const list = (annotations?.[EXPORT_TO_ANNOTATION] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return list.length > 0 ? [...new Set(list)] : ['*'];
}

export type MappedService = { readonly service: Service } | { readonly skipped: string };

/** A Kubernetes Service as a mesh Service, or why it is left out (ExternalName, a name that cannot be a host). */
export function mapService(svc: KubeService, m: ResolvedMapping): MappedService {
  const name = svc.metadata.name ?? '';
  const namespace = svc.metadata.namespace ?? 'default';
  // An ExternalName Service is a DNS alias: it has no endpoints and workloads must be IPs.
  if (svc.spec?.type === 'ExternalName') return { skipped: `Service ${namespace}/${name} is of type ExternalName (a DNS alias, not mapped)` };
  const hostname = m.naming({ service: name, namespace, cluster: m.clusterId });
  if (!hostname) return { skipped: `Service ${namespace}/${name}: its name cannot be a mesh hostname` };
  const ports: ServicePort[] = [];
  for (const p of svc.spec?.ports ?? []) {
    const protocol = portProtocol(p);
    // UDP and SCTP ports are not proxied (Istio does not capture them either).
    if (protocol === undefined || !Number.isInteger(p.port)) continue;
    ports.push({ name: meshPortName(p), number: p.port, protocol });
  }
  return {
    service: {
      hostname,
      namespace,
      ports,
      labels: { ...(svc.metadata.labels ?? {}) },
      sources: [m.source],
      exportTo: exportToOf(svc.metadata.annotations),
    },
  };
}

/**
 * Health from an endpoint's conditions (EndpointSlice API docs): a nil `ready` means
 * ready; `serving` nil defers to `ready`. Ready → HEALTHY; serving while terminating →
 * DRAINING (finishes what it has, gets no new traffic); anything else → UNHEALTHY.
 */
export function endpointHealth(c: KubeEndpointConditions | undefined): HealthStatus {
  const ready = c?.ready ?? true;
  if (ready) return 'HEALTHY';
  const serving = c?.serving ?? ready;
  return serving && c?.terminating === true ? 'DRAINING' : 'UNHEALTHY';
}

/**
 * Where an endpoint runs: the pod's `istio-locality` label (`region.zone.subzone`) when set,
 * else the endpoint's zone and its node's region/zone/subzone labels.
 */
export function localityOf(zone: string | undefined, nodeLabels: Readonly<Record<string, string>> | undefined, podLabels?: Readonly<Record<string, string>>): Locality {
  const override = podLabels?.[LOCALITY_LABEL];
  if (override) {
    const [r, z, s] = override.split('.');
    return compactLocality(r, z, s);
  }
  const n = nodeLabels ?? {};
  return compactLocality(n[REGION_LABEL] ?? n[LEGACY_REGION_LABEL], zone || n[ZONE_LABEL] || n[LEGACY_ZONE_LABEL], n[SUBZONE_LABEL]);
}

function compactLocality(region: string | undefined, zone: string | undefined, subzone: string | undefined): Locality {
  return { ...(region ? { region } : {}), ...(zone ? { zone } : {}), ...(subzone ? { subzone } : {}) };
}

/** Pods and Nodes an endpoint joins to (the adapter's caches). */
export interface EndpointLookups {
  pod(namespace: string, name: string): KubePod | undefined;
  node(name: string): KubeLabelled | undefined;
}

export interface MappedEndpoints {
  readonly workloads: Workload[];
  /** `<ns>/<name>` of the Pods joined (found or not): their changes change these workloads. */
  readonly pods: string[];
  /** Nodes joined (found or not). */
  readonly nodes: string[];
}

const HEALTH_RANK: Readonly<Record<HealthStatus, number>> = { HEALTHY: 2, DRAINING: 1, UNHEALTHY: 0 };

/**
 * The workloads of one Service from all its EndpointSlices: one per address and port set
 * (slices merged; the same endpoint in several slices, as during a slice rebalance, counts
 * once, the healthiest copy winning; host-network pods sharing a node's address on their
 * own ports stay apart). `ports` maps each Service port name to the endpoint's port
 * (EndpointSlice ports are already resolved, named target ports included). Labels are the
 * Pod's (joined by targetRef) plus `topology.istio.io/cluster`; identity comes from the
 * Pod's service account; locality from the endpoint's zone and its Node's labels. Ids are
 * `<ns>/<svc>/<address>:<ports>` (`default/web/10.0.0.1:8080`): unique in the source (a Pod
 * may back several Services), independent of the Pod join, and stable for the Pod's life.
 * FQDN slices and non-IP addresses are skipped (workloads must be IPs).
 */
export function mapEndpoints(svc: KubeService, service: Service, slices: readonly KubeEndpointSlice[], lookups: EndpointLookups, m: ResolvedMapping): MappedEndpoints {
  const namespace = svc.metadata.namespace ?? 'default';
  const name = svc.metadata.name ?? '';
  // EndpointSlice ports carry the Service port's name ('' for an unnamed one).
  const byKubeName = new Map<string, string>();
  for (const p of svc.spec?.ports ?? []) {
    const mesh = meshPortName(p);
    if (service.ports.some((sp) => sp.name === mesh)) byKubeName.set(p.name ?? '', mesh);
  }
  const chosen = new Map<string, Workload>();
  const pods = new Set<string>();
  const nodes = new Set<string>();
  for (const slice of [...slices].sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1))) {
    if (slice.addressType === 'FQDN') continue;
    const ports: Record<string, number> = {};
    for (const p of slice.ports ?? []) {
      const mesh = byKubeName.get(p.name ?? '');
      if (mesh && typeof p.port === 'number' && p.port >= 1 && p.port <= 65535) ports[mesh] = p.port;
    }
    const portSet = Object.keys(ports).sort().map((k) => ports[k]).join(',');
    for (const e of slice.endpoints ?? []) {
      const podName = e.targetRef?.kind === 'Pod' ? e.targetRef.name : undefined;
      const podNs = e.targetRef?.namespace || namespace;
      const pod = podName ? lookups.pod(podNs, podName) : undefined;
      if (podName) pods.add(`${podNs}/${podName}`);
      const nodeName = e.nodeName || pod?.spec?.nodeName;
      if (nodeName) nodes.add(nodeName);
      const node = nodeName ? lookups.node(nodeName) : undefined;
      const health = endpointHealth(e.conditions);
      const labels = { ...(pod?.metadata.labels ?? {}), [CLUSTER_LABEL]: m.clusterId };
      const locality = localityOf(e.zone, node?.metadata.labels, pod?.metadata.labels);
      const identity = pod ? `spiffe://${m.trustDomain}/ns/${podNs}/sa/${pod.spec?.serviceAccountName || 'default'}` : undefined;
      for (const address of e.addresses ?? []) {
        if (!isIP(address)) continue;
        const id = `${namespace}/${name}/${address}${portSet ? `:${portSet}` : ''}`;
        const prev = chosen.get(id);
        if (prev && HEALTH_RANK[prev.health] >= HEALTH_RANK[health]) continue;
        chosen.set(id, {
          id,
          hostname: service.hostname,
          namespace,
          address,
          ports: { ...ports },
          labels,
          health,
          locality,
          weight: 1,
          ...(identity ? { identity } : {}),
          source: m.source,
        });
      }
    }
  }
  const workloads = [...chosen.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { workloads, pods: [...pods], nodes: [...nodes] };
}

import { createHash } from 'node:crypto';
import type { KubeObject } from './types.js';

/**
 * Builders for real-shaped objects (the fields a real cluster's controllers fill in),
 * deterministic so that applying the same fixture twice is a no-op. Objects carry a uid
 * derived from kind/namespace/name, so EndpointSlice targetRefs and ownerReferences point
 * at the uids the Pods and Services get (the simulator keeps uids that tests set).
 */

/** A fixed time for status conditions and timestamps: fixtures stay equal across calls. */
export const FIXTURE_TIME = '2025-01-01T00:00:00Z';

/** A UUID derived from the object's identity. */
export function uidFor(kind: string, namespace: string | undefined, name: string): string {
  const hex = createHash('sha256').update(`${kind}/${namespace ?? ''}/${name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Drops undefined fields, as Go's `omitempty` leaves them out of real payloads. */
function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: uidFor('Namespace', undefined, name), labels: { 'kubernetes.io/metadata.name': name, ...labels } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

export interface NodeOptions {
  readonly region: string;
  readonly zone: string;
  readonly internalIP?: string;
  readonly ready?: boolean;
  readonly labels?: Record<string, string>;
}

export function node(name: string, opts: NodeOptions): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: uidFor('Node', undefined, name),
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'topology.kubernetes.io/region': opts.region,
        'topology.kubernetes.io/zone': opts.zone,
        ...opts.labels,
      },
    },
    spec: {},
    status: {
      addresses: [
        { type: 'InternalIP', address: opts.internalIP ?? ipFor(`node/${name}`, '10.128') },
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', reason: opts.ready === false ? 'KubeletNotReady' : 'KubeletReady', lastHeartbeatTime: FIXTURE_TIME, lastTransitionTime: FIXTURE_TIME }],
    },
  };
}

export interface ServicePortSpec {
  readonly name?: string;
  readonly port: number;
  /** A number, or the name of a container port. Default: `port`. */
  readonly targetPort?: number | string;
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
  readonly appProtocol?: string;
  readonly nodePort?: number;
}

export interface ServiceOptions {
  readonly name: string;
  readonly namespace: string;
  readonly ports: readonly ServicePortSpec[];
  readonly selector?: Record<string, string>;
  /** 'None' makes it headless. Default: derived from the name, in 10.96.0.0/16. */
  readonly clusterIP?: string;
  readonly type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  readonly externalName?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function service(o: ServiceOptions): KubeObject {
  const type = o.type ?? 'ClusterIP';
  const clusterIP = type === 'ExternalName' ? undefined : (o.clusterIP ?? ipFor(`service/${o.namespace}/${o.name}`, '10.96'));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: compact({ name: o.name, namespace: o.namespace, uid: uidFor('Service', o.namespace, o.name), labels: o.labels, annotations: o.annotations }),
    spec: compact({
      type,
      selector: o.selector,
      ports: o.ports.map((p) => compact({ name: p.name, protocol: p.protocol ?? 'TCP', appProtocol: p.appProtocol, port: p.port, targetPort: p.targetPort ?? p.port, nodePort: p.nodePort })),
      clusterIP,
      clusterIPs: clusterIP ? [clusterIP] : undefined,
      externalName: o.externalName,
      sessionAffinity: 'None',
      ipFamilies: type === 'ExternalName' ? undefined : ['IPv4'],
      ipFamilyPolicy: type === 'ExternalName' ? undefined : 'SingleStack',
      internalTrafficPolicy: type === 'ExternalName' ? undefined : 'Cluster',
    }),
    status: { loadBalancer: {} },
  };
}

export interface PodOptions {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly ip: string;
  readonly nodeName: string;
  readonly serviceAccountName?: string;
  /** Default true. */
  readonly ready?: boolean;
  readonly phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  readonly containerPorts?: readonly { readonly name?: string; readonly containerPort: number; readonly protocol?: 'TCP' | 'UDP' | 'SCTP' }[];
  readonly hostIP?: string;
  /** Set deletionTimestamp (a terminating pod). */
  readonly terminating?: boolean;
}

export function pod(o: PodOptions): KubeObject {
  const ready = o.ready ?? true;
  const status = (b: boolean) => (b ? 'True' : 'False');
  const sa = o.serviceAccountName ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: compact({
      name: o.name,
      namespace: o.namespace,
      uid: uidFor('Pod', o.namespace, o.name),
      labels: o.labels ?? {},
      annotations: o.annotations,
      deletionTimestamp: o.terminating ? FIXTURE_TIME : undefined,
    }),
    spec: {
      containers: [
        compact({
          name: 'app',
          image: 'registry.example/app:latest',
          ports: o.containerPorts?.map((p) => compact({ name: p.name, containerPort: p.containerPort, protocol: p.protocol ?? 'TCP' })),
        }),
      ],
      nodeName: o.nodeName,
      serviceAccountName: sa,
      serviceAccount: sa,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
    },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [
        { type: 'Initialized', status: 'True', lastTransitionTime: FIXTURE_TIME },
        { type: 'Ready', status: status(ready), lastTransitionTime: FIXTURE_TIME },
        { type: 'ContainersReady', status: status(ready), lastTransitionTime: FIXTURE_TIME },
        { type: 'PodScheduled', status: 'True', lastTransitionTime: FIXTURE_TIME },
      ],
      hostIP: o.hostIP ?? ipFor(`node/${o.nodeName}`, '10.128'),
      podIP: o.ip,
      podIPs: [{ ip: o.ip }],
      startTime: FIXTURE_TIME,
      containerStatuses: [{ name: 'app', ready, restartCount: 0, image: 'registry.example/app:latest', imageID: '', started: ready, state: { running: { startedAt: FIXTURE_TIME } } }],
      qosClass: 'BestEffort',
    },
  };
}

export interface EndpointSpec {
  readonly address: string;
  /** Default true. */
  readonly ready?: boolean;
  /** Default: `ready`. */
  readonly serving?: boolean;
  /** Default false. */
  readonly terminating?: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly hostname?: string;
  /** The Pod behind it (targetRef kind Pod); uid defaults to the pod() fixture's. */
  readonly pod?: { readonly name: string; readonly uid?: string };
}

export interface EndpointSliceOptions {
  readonly name: string;
  readonly namespace: string;
  /** The Service it belongs to (label kubernetes.io/service-name). */
  readonly service: string;
  readonly ports: readonly { readonly name?: string; readonly port: number; readonly protocol?: 'TCP' | 'UDP' | 'SCTP'; readonly appProtocol?: string }[];
  /** `null` is what a Service without ready pods gets (`"endpoints": null` on the wire). */
  readonly endpoints: readonly EndpointSpec[] | null;
  readonly addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  readonly labels?: Record<string, string>;
}

export function endpointSlice(o: EndpointSliceOptions): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      uid: uidFor('EndpointSlice', o.namespace, o.name),
      labels: { 'kubernetes.io/service-name': o.service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', ...o.labels },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: o.service, uid: uidFor('Service', o.namespace, o.service), controller: true, blockOwnerDeletion: true }],
    },
    addressType: o.addressType ?? 'IPv4',
    ports: o.ports.map((p) => compact({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP', appProtocol: p.appProtocol })),
    endpoints:
      o.endpoints === null
        ? null
        : o.endpoints.map((e) => {
            const ready = e.ready ?? true;
            return compact({
              addresses: [e.address],
              conditions: { ready, serving: e.serving ?? ready, terminating: e.terminating ?? false },
              hostname: e.hostname,
              targetRef: e.pod ? { kind: 'Pod', namespace: o.namespace, name: e.pod.name, uid: e.pod.uid ?? uidFor('Pod', o.namespace, e.pod.name) } : undefined,
              nodeName: e.nodeName,
              zone: e.zone,
            });
          }),
  };
}

/** A deterministic address in `prefix`.x.y for a name (cluster IPs, node IPs). */
function ipFor(seed: string, prefix: string): string {
  const h = createHash('sha256').update(seed).digest();
  return `${prefix}.${h[0]!}.${(h[1]! % 254) + 1}`;
}

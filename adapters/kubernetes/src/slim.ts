import { EXPORT_TO_ANNOTATION } from './mapping.js';
import { SERVICE_NAME_LABEL, type KubeEndpointSlice, type KubeLabelled, type KubeObject, type KubePod, type KubeService } from './kube-types.js';

/*
 * What is kept in memory of each object the informers hold: only the fields read. A large
 * cluster has many thousands of Pods whose specs and statuses are big; managedFields and
 * kubectl's last-applied copy alone often double an object. Every transform keeps
 * metadata.resourceVersion (the informer compares it).
 */

/** Annotation kubectl writes with the whole object: it duplicates the spec, so it is dropped. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function meta(o: KubeObject, labels: boolean): KubeObject['metadata'] {
  const m = o.metadata;
  return {
    name: m.name,
    ...(m.namespace ? { namespace: m.namespace } : {}),
    resourceVersion: m.resourceVersion,
    ...(labels && m.labels ? { labels: m.labels } : {}),
  };
}

export function slimService(o: KubeObject): KubeService {
  const s = o as KubeService;
  const exportTo = s.metadata.annotations?.[EXPORT_TO_ANNOTATION];
  return {
    metadata: { ...meta(s, true), ...(exportTo !== undefined ? { annotations: { [EXPORT_TO_ANNOTATION]: exportTo } } : {}) },
    spec: { type: s.spec?.type, clusterIP: s.spec?.clusterIP, ports: s.spec?.ports ?? [] },
  };
}

export function slimSlice(o: KubeObject): KubeEndpointSlice {
  const s = o as KubeEndpointSlice;
  const service = s.metadata.labels?.[SERVICE_NAME_LABEL];
  return {
    metadata: { ...meta(s, false), ...(service !== undefined ? { labels: { [SERVICE_NAME_LABEL]: service } } : {}) },
    addressType: s.addressType,
    ports: s.ports ?? [],
    endpoints: (s.endpoints ?? []).map((e) => ({
      addresses: e.addresses ?? [],
      ...(e.conditions ? { conditions: e.conditions } : {}),
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.targetRef ? { targetRef: { kind: e.targetRef.kind, name: e.targetRef.name, namespace: e.targetRef.namespace } } : {}),
    })),
  };
}

export function slimPod(o: KubeObject): KubePod {
  const p = o as KubePod;
  return { metadata: meta(p, true), spec: { serviceAccountName: p.spec?.serviceAccountName, nodeName: p.spec?.nodeName } };
}

export function slimLabelled(o: KubeObject): KubeLabelled {
  return { metadata: meta(o, true) };
}

/** What is kept in memory of a CRD object: no managedFields, no last-applied copy. */
export function slimConfig(o: KubeObject): KubeObject {
  const m = o.metadata;
  const annotations = m.annotations && LAST_APPLIED in m.annotations ? Object.fromEntries(Object.entries(m.annotations).filter(([k]) => k !== LAST_APPLIED)) : m.annotations;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      resourceVersion: m.resourceVersion,
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
      ...(m.creationTimestamp ? { creationTimestamp: m.creationTimestamp } : {}),
      ...(m.labels ? { labels: m.labels } : {}),
      ...(annotations ? { annotations } : {}),
    },
    ...(o.spec !== undefined ? { spec: o.spec } : {}),
    ...(o.status !== undefined ? { status: o.status } : {}),
  };
}

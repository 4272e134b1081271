/** Metadata of a Kubernetes-style config object. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  creationTimestamp?: string;
}

/**
 * A rule or registry object as users write it: `{apiVersion, kind, metadata, spec}`.
 * `origin` says where it came from (a file and line, a KV key, a CRD) for error messages.
 */
export interface ConfigObject<Spec = Record<string, unknown>> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
}

/** A config object together with where it was read from. */
export interface SourcedObject<Spec = Record<string, unknown>> {
  readonly object: ConfigObject<Spec>;
  /** Human-readable origin, e.g. `examples/canary/mesh.yaml:12` or `nats:config/default/x`. */
  readonly origin: string;
}

/** The namespace objects without one belong to. */
export const DEFAULT_NAMESPACE = 'default';

/** Identity of an object within the store: `<kind>/<namespace>/<name>`. */
export function objectKey(o: Pick<ConfigObject, 'kind' | 'metadata'>): string {
  return `${o.kind}/${o.metadata.namespace ?? DEFAULT_NAMESPACE}/${o.metadata.name}`;
}

/**
 * Oldest first: creation time, then namespace/name. A missing creation time counts as the
 * oldest, as Istio treats it (zero time), so objects from files (no timestamp) are ordered
 * by namespace/name. Used wherever "the oldest object wins" (several VirtualServices for
 * one host, DestinationRule merging, legacy conversion).
 */
export function compareObjectAge(a: ConfigObject, b: ConfigObject): number {
  const time = (o: ConfigObject): number => {
    const t = o.metadata.creationTimestamp ? Date.parse(o.metadata.creationTimestamp) : Number.NaN;
    return Number.isNaN(t) ? -Infinity : t;
  };
  const ta = time(a);
  const tb = time(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace ?? DEFAULT_NAMESPACE}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace ?? DEFAULT_NAMESPACE}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

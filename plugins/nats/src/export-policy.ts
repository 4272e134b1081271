import type { RegistryShard, RegistrySink, Service, SourcedObject } from '@isthmus/core';

/**
 * What a runtime shares with the mesh. Each criterion given narrows the export (all
 * must hold); within one criterion any value matches. Nothing given: everything is
 * exported.
 *
 * - `namespaces`: the service's (or config object's) namespace is one of these;
 * - `labels`: the service carries every one of these `key=value` labels (a config
 *   object: its `metadata.labels`);
 * - `names`: the service's hostname, or its first DNS label, matches one of these globs
 *   (`*` any run of characters, `?` one): `greeter`, `*.svc.cluster.local`, `pay*`.
 *
 * Workloads follow their service: a workload is exported when its host is. Config objects
 * (rules) are filtered by namespace and labels only: a VirtualService's name says nothing
 * about which service it routes.
 */
export interface ExportPolicy {
  readonly namespaces?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly names?: readonly string[];
}

export function isExportAll(p: ExportPolicy): boolean {
  return !p.namespaces?.length && !Object.keys(p.labels ?? {}).length && !p.names?.length;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Compiled policy: `service(s)` and `object(o)` say whether each may leave the runtime. */
export class ExportFilter {
  private readonly names: RegExp[];

  constructor(readonly policy: ExportPolicy) {
    this.names = (policy.names ?? []).map(globToRegExp);
  }

  get exportsAll(): boolean {
    return isExportAll(this.policy);
  }

  service(s: Pick<Service, 'hostname' | 'namespace' | 'labels'>): boolean {
    if (!this.namespaceOk(s.namespace) || !this.labelsOk(s.labels)) return false;
    if (this.names.length === 0) return true;
    const short = s.hostname.split('.')[0] ?? s.hostname;
    return this.names.some((r) => r.test(s.hostname) || r.test(short));
  }

  object(o: SourcedObject): boolean {
    return this.namespaceOk(o.object.metadata.namespace ?? 'default') && this.labelsOk(o.object.metadata.labels ?? {});
  }

  /** The shard as exported: unexported services and their workloads left out. */
  shard(shard: RegistryShard): RegistryShard {
    if (this.exportsAll) return shard;
    const services = shard.services.filter((s) => this.service(s));
    const hosts = new Set(services.map((s) => s.hostname));
    // A workload whose host has no service in this shard is judged by its own namespace and labels.
    const workloads = shard.workloads.filter((w) =>
      hosts.has(w.hostname) || (!shard.services.some((s) => s.hostname === w.hostname) && this.service({ hostname: w.hostname, namespace: w.namespace, labels: w.labels })),
    );
    return { source: shard.source, services, workloads };
  }

  private namespaceOk(ns: string): boolean {
    const list = this.policy.namespaces ?? [];
    return list.length === 0 || list.includes(ns);
  }

  private labelsOk(labels: Readonly<Record<string, string>>): boolean {
    return Object.entries(this.policy.labels ?? {}).every(([k, v]) => labels[k] === v);
  }
}

/** Parses `--export-label key=value`. */
export function parseLabelSelector(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean)) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new Error(`export label ${JSON.stringify(v)}: write key=value`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** A RegistrySink that applies the export policy before the real sink sees anything. */
export class ExportingSink implements RegistrySink {
  constructor(
    private readonly inner: RegistrySink,
    private readonly filter: ExportFilter,
  ) {}

  replace(shard: RegistryShard): void {
    this.inner.replace(this.filter.shard(shard));
  }

  markStale(error: string): void {
    this.inner.markStale(error);
  }
}

import type { Service } from '../model/service.js';
import type { ConfigIssue } from '../config/issues.js';
import { compareObjectAge, DEFAULT_NAMESPACE, objectKey, type ConfigObject, type SourcedObject } from '../config/object.js';
import { hostMatches, hostProblem, isIpOrCidr } from '../config/hosts.js';
import { isRecord, type FieldIssue } from '../config/paths.js';
import { hashOf } from '../util/hash.js';

/**
 * The `Sidecar` kind (networking.istio.io), compiled: which services a workload's proxy
 * sees (egress hosts), how it handles traffic to unknown destinations, and which ports
 * it accepts inbound. Applied by the xDS generators of both data planes (Envoy sidecars
 * and proxyless gRPC): a service a proxy cannot see gets no listener, route or cluster.
 *
 * Selection, as in Istio: a Sidecar with a `workloadSelector` applies to the workloads of
 * its namespace whose labels (node metadata LABELS) include the selector; otherwise the
 * Sidecar of the proxy's namespace without a selector; otherwise the one without a
 * selector in the root namespace (`istio-system`), the mesh-wide default. Among several
 * candidates at one level the oldest wins (creationTimestamp, then namespace/name) and
 * the others get a warning. No Sidecar: the proxy sees every service exported to it.
 */

/** Namespace whose selector-less Sidecar is the default for every namespace without one (Istio's root namespace). */
export const SIDECAR_ROOT_NAMESPACE = 'istio-system';

export type OutboundTrafficMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';

/** One `namespace/host` entry of an egress listener's `hosts`. */
export interface EgressHost {
  /** `*` any namespace, `.` the proxy's own namespace, `~` none, or a namespace name. */
  readonly namespace: string;
  /** `*`, a wildcard such as `*.example.com`, or a hostname, as written (not resolved). */
  readonly host: string;
}

/** One egress listener: the hosts it imports, for one port or (no port) for every other port. */
export interface EgressScope {
  readonly port?: number;
  readonly hosts: readonly EgressHost[];
}

/** One ingress listener: traffic to `port` goes to `defaultEndpoint` (`127.0.0.1:8080`). */
export interface IngressScope {
  readonly port: number;
  readonly protocol?: string;
  readonly name?: string;
  /** `host:port` of the application; undefined: `127.0.0.1:<port>`. */
  readonly defaultEndpoint?: string;
}

export interface SidecarScope {
  /** `Sidecar/<namespace>/<name>`. */
  readonly key: string;
  readonly namespace: string;
  /** Labels a workload needs to be selected; undefined: every workload of the namespace. */
  readonly workloadSelector?: Readonly<Record<string, string>>;
  /** True for the selector-less Sidecar of the root namespace: the default of every namespace. */
  readonly meshDefault: boolean;
  /** Empty: Istio's default, every service (`*\/*`). */
  readonly egress: readonly EgressScope[];
  readonly ingress: readonly IngressScope[];
  readonly outboundTrafficPolicy: OutboundTrafficMode;
  /** Where the object came from. */
  readonly origin: string;
  /** Content hash of everything above. */
  readonly version: string;
}

export interface SidecarCompileResult {
  /** By `<namespace>/<name>`, oldest first (selection takes the first candidate). */
  readonly sidecars: Map<string, SidecarScope>;
  readonly issues: ConfigIssue[];
}

/** What selection needs to know about a proxy. */
export interface SidecarSubject {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

const rec = (v: unknown): Record<string, unknown> | undefined => (isRecord(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const list = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : []);

/** Compiles every Sidecar among `objects` (other kinds are ignored). */
export function compileSidecars(objects: readonly SourcedObject[], rootNamespace = SIDECAR_ROOT_NAMESPACE): SidecarCompileResult {
  const found = objects
    .filter((o) => o.object.kind === 'Sidecar' && o.object.apiVersion.startsWith('networking.istio.io/'))
    .sort((a, b) => compareObjectAge(a.object, b.object) || (objectKey(a.object) < objectKey(b.object) ? -1 : 1));
  const issues: ConfigIssue[] = [];
  const sidecars = new Map<string, SidecarScope>();
  // Which Sidecar owns each selection level, for "several apply, the oldest wins" warnings.
  const owners = new Map<string, string>();
  for (const o of found) {
    const ns = o.object.metadata.namespace ?? DEFAULT_NAMESPACE;
    const scope = compileSidecar(o.object, o.origin, rootNamespace);
    const issue = (path: string, message: string): void => {
      issues.push({ severity: 'warning', source: o.origin, kind: 'Sidecar', namespace: ns, name: o.object.metadata.name, path, message });
    };
    const level = scope.workloadSelector ? `${ns}\0selector\0${JSON.stringify(sortedRecord(scope.workloadSelector))}` : `${ns}\0namespace`;
    const owner = owners.get(level);
    if (owner) {
      issue(
        scope.workloadSelector ? 'spec.workloadSelector' : 'metadata.namespace',
        `ignored: Sidecar ${owner} is older and already applies to ${scope.workloadSelector ? 'the workloads this selector selects' : `every workload of namespace ${ns}`} (the oldest Sidecar wins)`,
      );
    } else {
      owners.set(level, `${ns}/${o.object.metadata.name}`);
    }
    sidecars.set(`${ns}/${o.object.metadata.name}`, scope);
  }
  issues.sort((a, b) => (`${a.namespace}/${a.name}\0${a.path}` < `${b.namespace}/${b.name}\0${b.path}` ? -1 : 1));
  return { sidecars, issues };
}

function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function compileSidecar(o: ConfigObject, origin: string, rootNamespace: string): SidecarScope {
  const ns = o.metadata.namespace ?? DEFAULT_NAMESPACE;
  const spec = o.spec;
  const selectorLabels = rec(rec(spec.workloadSelector)?.labels);
  const workloadSelector =
    selectorLabels && Object.keys(selectorLabels).length > 0
      ? sortedRecord(Object.fromEntries(Object.entries(selectorLabels).map(([k, v]) => [k, String(v)])))
      : undefined;
  const egress: EgressScope[] = list(spec.egress).flatMap((raw) => {
    const e = rec(raw);
    if (!e) return [];
    const port = num(rec(e.port)?.number);
    const hosts = list(e.hosts).flatMap((h) => {
      const parsed = typeof h === 'string' ? parseEgressHost(h) : undefined;
      return parsed ? [parsed] : [];
    });
    return [{ ...(port !== undefined && port > 0 ? { port } : {}), hosts }];
  });
  const ingress: IngressScope[] = list(spec.ingress).flatMap((raw) => {
    const i = rec(raw);
    const p = rec(i?.port);
    const port = num(p?.number);
    if (!i || port === undefined || port <= 0) return [];
    const protocol = str(p?.protocol);
    const name = str(p?.name);
    const defaultEndpoint = str(i.defaultEndpoint);
    return [{ port, ...(protocol ? { protocol: protocol.toUpperCase() } : {}), ...(name ? { name } : {}), ...(defaultEndpoint ? { defaultEndpoint } : {}) }];
  });
  const mode = str(rec(spec.outboundTrafficPolicy)?.mode);
  const content = {
    key: objectKey(o),
    namespace: ns,
    ...(workloadSelector ? { workloadSelector } : {}),
    meshDefault: ns === rootNamespace && !workloadSelector,
    egress,
    ingress,
    outboundTrafficPolicy: (mode === 'REGISTRY_ONLY' ? 'REGISTRY_ONLY' : 'ALLOW_ANY') as OutboundTrafficMode,
  };
  return { ...content, origin, version: hashOf(content) };
}

/** `ns/host` → parts; a bare host (Istio's older form) means any namespace. */
export function parseEgressHost(h: string): EgressHost | undefined {
  const slash = h.indexOf('/');
  if (slash < 0) return h ? { namespace: '*', host: h } : undefined;
  const namespace = h.slice(0, slash);
  const host = h.slice(slash + 1);
  if (!namespace || !host) return undefined;
  return { namespace, host };
}

/**
 * Semantic checks of one Sidecar beyond its schema: egress hosts in `namespace/host` form,
 * ports in range, a default endpoint that Isthmus can route to.
 */
export function checkSidecar(o: ConfigObject): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const spec = o.spec;
  list(spec.egress).forEach((raw, i) => {
    const e = rec(raw);
    if (!e) return;
    const base = `spec.egress[${i}]`;
    const port = num(rec(e.port)?.number);
    if (port !== undefined && (port < 1 || port > 65535)) issues.push({ severity: 'error', path: `${base}.port.number`, message: `must be between 1 and 65535, got ${port}` });
    if (str(e.bind) !== undefined) issues.push({ severity: 'warning', path: `${base}.bind`, message: 'ignored: Isthmus binds outbound listeners itself (see INTERCEPTION_MODE in docs/envoy.md)' });
    const hosts = list(e.hosts);
    if (hosts.length === 0) issues.push({ severity: 'error', path: `${base}.hosts`, message: 'must list at least one host, e.g. "./*" (every service of this namespace)' });
    hosts.forEach((h, j) => {
      const path = `${base}.hosts[${j}]`;
      if (typeof h !== 'string') return;
      const slash = h.indexOf('/');
      if (slash < 0) {
        issues.push({ severity: 'error', path, message: `${JSON.stringify(h)} must be "namespace/host", e.g. "./${h}" (this namespace) or "*/${h}" (any namespace)` });
        return;
      }
      const ns = h.slice(0, slash);
      const host = h.slice(slash + 1);
      if (ns !== '*' && ns !== '.' && ns !== '~') {
        const p = ns === '' ? 'must not be empty' : /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) ? undefined : 'is not a valid namespace name';
        if (p) issues.push({ severity: 'error', path, message: `namespace ${JSON.stringify(ns)} ${p} (use a namespace name, ".", "*" or "~")` });
      }
      if (host === '*') return;
      const problem = hostProblem(host, { allowWildcard: true });
      if (problem && !isIpOrCidr(host)) issues.push({ severity: 'error', path, message: `host ${problem}` });
      else if (!host.includes('.') && !host.startsWith('*')) {
        issues.push({ severity: 'warning', path, message: `${JSON.stringify(host)} is a short name: egress hosts are matched as written, so it selects only a service whose hostname is exactly ${JSON.stringify(host)} (write the FQDN, e.g. ${host}.${ns === '.' || ns === '*' || ns === '~' ? (o.metadata.namespace ?? DEFAULT_NAMESPACE) : ns}.svc.cluster.local)` });
      }
    });
  });
  list(spec.ingress).forEach((raw, i) => {
    const r = rec(raw);
    if (!r) return;
    const base = `spec.ingress[${i}]`;
    const port = num(rec(r.port)?.number);
    if (port === undefined) issues.push({ severity: 'error', path: `${base}.port.number`, message: 'required' });
    else if (port < 1 || port > 65535) issues.push({ severity: 'error', path: `${base}.port.number`, message: `must be between 1 and 65535, got ${port}` });
    const ep = str(r.defaultEndpoint);
    if (ep !== undefined && !ep.startsWith('unix://') && parseEndpoint(ep) === undefined) {
      issues.push({ severity: 'error', path: `${base}.defaultEndpoint`, message: `${JSON.stringify(ep)} must be "127.0.0.1:<port>", "0.0.0.0:<port>", "[::1]:<port>" or "unix://<path>"` });
    }
  });
  const tp = rec(spec.outboundTrafficPolicy);
  if (tp && rec(tp.egressProxy)) issues.push({ severity: 'warning', path: 'spec.outboundTrafficPolicy.egressProxy', message: 'ignored: not supported by Isthmus' });
  if (rec(spec.inboundConnectionPool)) issues.push({ severity: 'warning', path: 'spec.inboundConnectionPool', message: 'ignored: not supported by Isthmus yet' });
  return issues;
}

/** `ip:port` or `[ipv6]:port` of an ingress defaultEndpoint; undefined when not that form. */
export function parseEndpoint(ep: string): { address: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(ep) ?? /^([^:]+):(\d+)$/.exec(ep);
  if (!m || !isIpOrCidr(m[1] ?? '') || (m[1] ?? '').includes('/')) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { address: m[1] ?? '', port } : undefined;
}

/**
 * The Sidecar that applies to a proxy, or undefined when none does. `sidecars` is in
 * precedence order (oldest first), as compileSidecars returns it.
 */
export function sidecarScopeFor(sidecars: ReadonlyMap<string, SidecarScope>, subject: SidecarSubject): SidecarScope | undefined {
  let namespaceWide: SidecarScope | undefined;
  let meshDefault: SidecarScope | undefined;
  for (const s of sidecars.values()) {
    if (s.namespace === subject.namespace) {
      if (s.workloadSelector) {
        if (matchesLabels(subject.labels, s.workloadSelector)) return s;
      } else {
        namespaceWide ??= s;
      }
    }
    if (s.meshDefault) meshDefault ??= s;
  }
  return namespaceWide ?? meshDefault;
}

function matchesLabels(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/**
 * Whether a service's `exportTo` lets callers in `namespace` see it: `*` everyone, `.`
 * its own namespace, `~` nobody, else the listed namespaces.
 */
export function exportedTo(service: Pick<Service, 'namespace' | 'exportTo'>, namespace: string): boolean {
  if (service.exportTo.length === 0) return true;
  for (const e of service.exportTo) {
    if (e === '*' || e === namespace) return true;
    if (e === '.' && service.namespace === namespace) return true;
  }
  return false;
}

/**
 * Whether a proxy in `proxyNamespace` under `scope` sees `service` on `port`: exported to
 * the namespace and, with a Sidecar, imported by the egress listener for that port (or by
 * the catch-all listener when none names the port).
 */
export function sidecarAllows(
  scope: SidecarScope | undefined,
  proxyNamespace: string,
  service: Pick<Service, 'hostname' | 'namespace' | 'exportTo'>,
  port: number,
): boolean {
  if (!exportedTo(service, proxyNamespace)) return false;
  if (!scope || scope.egress.length === 0) return true;
  const listener = scope.egress.find((e) => e.port === port) ?? scope.egress.find((e) => e.port === undefined);
  if (!listener) return false;
  return listener.hosts.some((h) => {
    const ns = h.namespace === '.' ? proxyNamespace : h.namespace;
    if (ns === '~') return false;
    if (ns !== '*' && ns !== service.namespace) return false;
    return hostMatches(h.host, service.hostname);
  });
}

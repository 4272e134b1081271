import { hashOf, stableStringify } from '../util/hash.js';
import type { ConfigIssue } from './issues.js';
import { compareObjectAge, DEFAULT_NAMESPACE, objectKey, type ConfigObject, type SourcedObject } from './object.js';
import { DEFAULT_DOMAIN, resolveHost } from './hosts.js';
import { closest, isPathWithin, isRecord, joinPath, type FieldIssue } from './paths.js';
import { checkSchema, S, type Schema } from './schema.js';

/**
 * The routing API of Istio 0.2–0.7 (`config.istio.io/v1alpha2` RouteRule and
 * DestinationPolicy, the reference article's kinds), validated by its own schema here and
 * converted to today's VirtualService and DestinationRule, which is all the rules engine
 * knows. Conversion follows istioctl's old `convert-networking-config`: all RouteRules of
 * one destination become one VirtualService whose `http` entries are ordered by precedence;
 * each distinct set of route labels becomes a subset of one DestinationRule, which also
 * carries the DestinationPolicies. Problems found in converted objects are reported
 * against the RouteRule or DestinationPolicy field they came from (see `mapGeneratedIssue`).
 */

export const LEGACY_API_VERSION = 'config.istio.io/v1alpha2';
/** Annotation on converted objects: the legacy objects they were generated from. */
export const CONVERTED_FROM_ANNOTATION = 'isthmus.io/converted-from';
/** Annotation on a user DestinationRule that received subsets from RouteRules. */
export const MERGED_FROM_ANNOTATION = 'isthmus.io/merged-subsets-from';

// --- schemas -----------------------------------------------------------------------------

const istioService = S.obj({
  name: S.str(),
  namespace: S.str(),
  domain: S.str(),
  service: S.str(),
  labels: S.map(S.str()),
});
/** 0.2 accepted a plain string for an exact match (`x-device: iphone`). */
const stringMatch = S.either(S.str(), S.obj({ exact: S.str(), prefix: S.str(), regex: S.str() }));
const l4Match = S.obj({ sourceSubnet: S.list(S.str()), destinationSubnet: S.list(S.str()) });

const ROUTE_RULE_SPEC: Schema = S.obj(
  {
    destination: istioService,
    precedence: S.int(),
    match: S.obj({ source: istioService, tcp: l4Match, udp: l4Match, request: S.obj({ headers: S.map(stringMatch) }) }),
    route: S.list(S.obj({ destination: istioService, labels: S.map(S.str()), weight: S.int() })),
    redirect: S.obj({ uri: S.str(), authority: S.str() }),
    rewrite: S.obj({ uri: S.str(), authority: S.str() }),
    websocketUpgrade: S.bool(),
    httpReqTimeout: S.obj({ simpleTimeout: S.obj({ timeout: S.str(), overrideHeaderName: S.str() }), custom: S.any() }),
    httpReqRetries: S.obj({
      simpleRetry: S.obj({ attempts: S.int(), perTryTimeout: S.str(), overrideHeaderName: S.str() }),
      custom: S.any(),
    }),
    httpFault: S.obj({
      delay: S.obj({ percent: S.num(), fixedDelay: S.str(), exponentialDelay: S.str(), overrideHeaderName: S.str() }),
      abort: S.obj({ percent: S.num(), httpStatus: S.int(), grpcStatus: S.str(), http2Error: S.str(), overrideHeaderName: S.str() }),
    }),
    l4Fault: S.any(),
    mirror: istioService,
    corsPolicy: S.obj({
      allowOrigin: S.list(S.str()),
      allowMethods: S.list(S.str()),
      allowHeaders: S.list(S.str()),
      exposeHeaders: S.list(S.str()),
      maxAge: S.str(),
      allowCredentials: S.bool(),
    }),
    appendHeaders: S.map(S.str()),
  },
  ['destination'],
);

const DESTINATION_POLICY_SPEC: Schema = S.obj(
  {
    destination: istioService,
    source: istioService,
    loadBalancing: S.obj({ name: S.str(), ringHash: S.any(), custom: S.any() }),
    circuitBreaker: S.obj({
      simpleCb: S.obj({
        maxConnections: S.int(),
        httpMaxPendingRequests: S.int(),
        httpMaxRequests: S.int(),
        sleepWindow: S.str(),
        httpConsecutiveErrors: S.int(),
        httpDetectionInterval: S.str(),
        httpMaxRequestsPerConnection: S.int(),
        httpMaxEjectionPercent: S.int(),
        httpMaxRetries: S.int(),
      }),
      custom: S.any(),
    }),
    custom: S.any(),
  },
  ['destination'],
);

const TOP_LEVEL = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

function checkTopLevel(o: ConfigObject): FieldIssue[] {
  return Object.keys(o)
    .filter((k) => !TOP_LEVEL.includes(k))
    .map((k) => {
      const guess = closest(k, TOP_LEVEL);
      return { severity: 'error', path: k, message: guess ? `unknown field (did you mean "${guess}"?)` : 'unknown field' };
    });
}

export function validateRouteRuleStructure(o: ConfigObject): FieldIssue[] {
  return [...checkTopLevel(o), ...checkSchema(ROUTE_RULE_SPEC, o.spec, ['spec'])];
}

export function validateDestinationPolicyStructure(o: ConfigObject): FieldIssue[] {
  return [...checkTopLevel(o), ...checkSchema(DESTINATION_POLICY_SPEC, o.spec, ['spec'])];
}

// --- checks that conversion cannot express ---------------------------------------------------

const rec = (v: unknown): Record<string, unknown> | undefined => (isRecord(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const labelsOf = (v: unknown): Record<string, string> => {
  const r = rec(v);
  if (!r) return {};
  return Object.fromEntries(Object.entries(r).filter((e): e is [string, string] => typeof e[1] === 'string'));
};

const unsupported = (path: string, what: string): FieldIssue => ({
  severity: 'error',
  path,
  message: `not supported by Isthmus: ${what}`,
});

function checkIstioServiceRef(out: FieldIssue[], path: string, v: unknown): void {
  const s = rec(v);
  if (!s) return;
  if (s.name === undefined && s.service === undefined) {
    out.push({ severity: 'error', path: `${path}.name`, message: 'required field is missing' });
  }
}

/**
 * What a RouteRule may say that no VirtualService can: everything else (durations,
 * weights, regexes, status codes) is checked on the converted VirtualService and mapped back.
 */
export function checkRouteRule(o: ConfigObject): FieldIssue[] {
  const out: FieldIssue[] = [];
  const spec = o.spec;
  checkIstioServiceRef(out, 'spec.destination', spec.destination);
  if (Object.keys(labelsOf(rec(spec.destination)?.labels)).length > 0) {
    out.push({
      severity: 'error',
      path: 'spec.destination.labels',
      message: 'must be empty: a RouteRule applies to every version of its destination; select versions with route[].labels',
    });
  }
  const match = rec(spec.match);
  if (match) {
    if (match.tcp !== undefined) out.push(unsupported('spec.match.tcp', 'L4 matching (without it the rule would match more traffic than intended)'));
    if (match.udp !== undefined) out.push(unsupported('spec.match.udp', 'L4 matching (without it the rule would match more traffic than intended)'));
    const source = rec(match.source);
    if (source && source.name !== undefined) {
      out.push({
        severity: 'warning',
        path: 'spec.match.source.name',
        message: 'converted to sourceLabels {app: <name>} in the source namespace: a VirtualService matches callers by workload labels, not by service',
      });
    }
  }
  (Array.isArray(spec.route) ? spec.route : []).forEach((r, k) => {
    checkIstioServiceRef(out, `spec.route[${k}].destination`, rec(r)?.destination);
    if (Object.keys(labelsOf(rec(rec(r)?.destination)?.labels)).length > 0) {
      out.push({
        severity: 'error',
        path: `spec.route[${k}].destination.labels`,
        message: `must be empty: select the version with spec.route[${k}].labels`,
      });
    }
  });
  if (spec.redirect !== undefined && Array.isArray(spec.route) && spec.route.length > 0) {
    out.push({ severity: 'error', path: 'spec.redirect', message: 'only one of route, redirect may be set' });
  }
  const timeout = rec(spec.httpReqTimeout);
  if (timeout?.custom !== undefined) out.push(unsupported('spec.httpReqTimeout.custom', 'custom timeout policies; use simpleTimeout'));
  if (rec(timeout?.simpleTimeout)?.overrideHeaderName !== undefined) {
    out.push({ severity: 'warning', path: 'spec.httpReqTimeout.simpleTimeout.overrideHeaderName', message: 'ignored: has no VirtualService equivalent' });
  }
  const retries = rec(spec.httpReqRetries);
  if (retries?.custom !== undefined) out.push(unsupported('spec.httpReqRetries.custom', 'custom retry policies; use simpleRetry'));
  if (rec(retries?.simpleRetry)?.overrideHeaderName !== undefined) {
    out.push({ severity: 'warning', path: 'spec.httpReqRetries.simpleRetry.overrideHeaderName', message: 'ignored: has no VirtualService equivalent' });
  }
  const fault = rec(spec.httpFault);
  for (const part of ['delay', 'abort'] as const) {
    const p = rec(fault?.[part]);
    if (p?.overrideHeaderName !== undefined) {
      out.push({ severity: 'warning', path: `spec.httpFault.${part}.overrideHeaderName`, message: 'ignored: has no VirtualService equivalent' });
    }
  }
  if (rec(fault?.delay)?.exponentialDelay !== undefined) {
    out.push(unsupported('spec.httpFault.delay.exponentialDelay', 'exponential delays; use fixedDelay'));
  }
  if (spec.l4Fault !== undefined) out.push({ severity: 'warning', path: 'spec.l4Fault', message: 'ignored: L4 faults have no VirtualService equivalent' });
  if (spec.websocketUpgrade !== undefined) {
    out.push({ severity: 'warning', path: 'spec.websocketUpgrade', message: 'ignored: WebSocket upgrades need no rule in VirtualService' });
  }
  return out;
}

const LB_NAMES = ['ROUND_ROBIN', 'LEAST_CONN', 'RANDOM'];

export function checkDestinationPolicy(o: ConfigObject): FieldIssue[] {
  const out: FieldIssue[] = [];
  const spec = o.spec;
  checkIstioServiceRef(out, 'spec.destination', spec.destination);
  if (spec.source !== undefined) {
    out.push(unsupported('spec.source', 'source-specific policies (a DestinationRule applies to every caller); remove source to apply the policy to all callers'));
  }
  if (spec.custom !== undefined) out.push(unsupported('spec.custom', 'custom policies'));
  const lb = rec(spec.loadBalancing);
  const name = str(lb?.name);
  if (name !== undefined && !LB_NAMES.includes(name)) {
    out.push({ severity: 'error', path: 'spec.loadBalancing.name', message: `must be one of ${LB_NAMES.join(', ')}, got ${JSON.stringify(name)}` });
  }
  if (lb?.ringHash !== undefined) out.push(unsupported('spec.loadBalancing.ringHash', 'ring hash load balancing (it needs a hash key, which v1alpha2 does not give)'));
  if (lb?.custom !== undefined) out.push(unsupported('spec.loadBalancing.custom', 'custom load balancers'));
  if (rec(spec.circuitBreaker)?.custom !== undefined) out.push(unsupported('spec.circuitBreaker.custom', 'custom circuit breakers; use simpleCb'));
  return out;
}

// --- conversion ----------------------------------------------------------------------------

function isLegacy(o: ConfigObject, kind: string): boolean {
  return o.kind === kind && o.apiVersion === LEGACY_API_VERSION;
}

/** True for the kinds this module converts. */
export function isLegacyObject(o: ConfigObject): boolean {
  return isLegacy(o, 'RouteRule') || isLegacy(o, 'DestinationPolicy');
}

const nsOf = (o: ConfigObject): string => o.metadata.namespace ?? DEFAULT_NAMESPACE;

/**
 * The FQDN an IstioService names: `service` if given; a name with a dot as written;
 * otherwise `<name>.<namespace or the rule's>.<domain or svc.cluster.local>`.
 */
export function legacyHost(ref: unknown, ruleNamespace: string): string | undefined {
  const r = rec(ref);
  if (!r) return undefined;
  const service = str(r.service);
  if (service) return service;
  const name = str(r.name);
  if (!name) return undefined;
  if (name.includes('.')) return name;
  const ns = str(r.namespace) ?? ruleNamespace;
  const domain = str(r.domain);
  return domain ? `${name}.${ns}.${domain}` : resolveHost(name, ns, DEFAULT_DOMAIN);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A readable subset name for a label set: `version-v1` for `{version: v1}`,
 * `env-prod-version-v1` for two labels (sorted by key). Undefined when a key or value is
 * not a plain DNS label or the result is longer than 63 characters; the caller then uses
 * `labels-<8 hex of the label set's hash>`.
 */
export function readableSubsetName(labels: Readonly<Record<string, string>>): string | undefined {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return undefined;
  const parts: string[] = [];
  for (const k of keys) {
    const v = labels[k]!;
    if (!DNS_LABEL.test(k) || !DNS_LABEL.test(v)) return undefined;
    parts.push(`${k}-${v}`);
  }
  const name = parts.join('-');
  return name.length <= 63 ? name : undefined;
}

export function hashedSubsetName(labels: Readonly<Record<string, string>>): string {
  return `labels-${hashOf(labels).slice(0, 8)}`;
}

/** One step of the path from a converted field back to the legacy field it came from. */
interface ProvenanceEntry {
  readonly prefix: string;
  readonly target: SourcedObject;
  readonly targetPath: string;
  /** When the shapes below the prefix agree, the rest of the path carries over. */
  readonly sameShape: boolean;
}

const provenance = new WeakMap<ConfigObject, readonly ProvenanceEntry[]>();

/**
 * Maps an issue found in a converted (or merged) object back to the legacy object and
 * field it came from. Undefined when the field is the user's own (a merged DestinationRule's
 * original subsets) or the object was not produced by `convertLegacy`.
 */
export function mapGeneratedIssue(o: ConfigObject, issue: FieldIssue): ConfigIssue | undefined {
  const entries = provenance.get(o);
  if (!entries) return undefined;
  let best: ProvenanceEntry | undefined;
  for (const e of entries) {
    if (isPathWithin(issue.path, e.prefix) && (!best || e.prefix.length > best.prefix.length)) best = e;
  }
  if (!best) return undefined;
  const path = best.sameShape ? best.targetPath + issue.path.slice(best.prefix.length) : best.targetPath;
  const t = best.target.object;
  return {
    severity: issue.severity,
    source: best.target.origin,
    kind: t.kind,
    namespace: nsOf(t),
    name: t.metadata.name,
    path,
    message: issue.message,
  };
}

/** The legacy objects a converted object was built from (empty for anything else). */
export function generatedFrom(o: ConfigObject): readonly SourcedObject[] {
  const entries = provenance.get(o) ?? [];
  const seen = new Set<SourcedObject>();
  for (const e of entries) seen.add(e.target);
  return [...seen];
}

function toIssue(target: SourcedObject, severity: ConfigIssue['severity'], path: string, message: string): ConfigIssue {
  return {
    severity,
    source: target.origin,
    kind: target.object.kind,
    namespace: nsOf(target.object),
    name: target.object.metadata.name,
    path,
    message,
  };
}

interface LabelUse {
  readonly labels: Record<string, string>;
  readonly by: SourcedObject;
  readonly path: string;
}

interface SubsetPlan {
  /** canonical label key → subset name */
  readonly names: Map<string, string>;
  /** subsets to add to the host's DestinationRule, in order */
  readonly added: { name: string; labels: Record<string, string>; use: LabelUse }[];
}

const labelKey = (l: Readonly<Record<string, string>>): string => stableStringify(l);

/** `greeter.default.svc.cluster.local` → `greeter` in `default`; other hosts → dashed. */
function generatedIdentity(host: string, fallbackNs: string): { name: string; namespace: string } {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\./.exec(host);
  if (m) return { name: `${m[1]}-routerules`, namespace: m[2]! };
  const base = host.replace(/[^a-z0-9.-]/g, '-').replace(/\./g, '-').replace(/^-+|-+$/g, '');
  return { name: `${base}-routerules`, namespace: fallbackNs };
}

/**
 * Converts RouteRules and DestinationPolicies to VirtualServices and DestinationRules;
 * every other object passes through unchanged (a user DestinationRule for a converted host
 * is replaced by a copy with the generated subsets merged in). Pure and deterministic:
 * the same objects in any order give the same result.
 *
 * - All RouteRules of one destination host become one VirtualService
 *   `<service>-routerules`, with `http` entries in evaluation order: rules with a match by
 *   precedence (highest first), then rules without a match (catch-alls) by precedence;
 *   equal precedence is ordered by namespace/name, with a warning.
 * - Each distinct `route[].labels` set becomes a subset named `version-v1` for
 *   `{version: v1}` (see `readableSubsetName`), or `labels-<hash>`; a user
 *   DestinationRule's subset with the same labels is reused by its own name.
 * - DestinationPolicies become the DestinationRule's traffic policy (or a subset's, when
 *   the policy selects labels).
 */
export function convertLegacy(objects: readonly SourcedObject[]): { objects: SourcedObject[]; issues: ConfigIssue[] } {
  const rules = objects.filter((o) => isLegacy(o.object, 'RouteRule'));
  const policies = objects.filter((o) => isLegacy(o.object, 'DestinationPolicy'));
  if (rules.length === 0 && policies.length === 0) return { objects: [...objects], issues: [] };
  const rest = objects.filter((o) => !isLegacyObject(o.object));
  const issues: ConfigIssue[] = [];
  const byAge = (a: SourcedObject, b: SourcedObject): number => compareObjectAge(a.object, b.object);

  // Rules grouped by destination host, ignoring those without one (validation reports them).
  const rulesByHost = new Map<string, SourcedObject[]>();
  for (const r of [...rules].sort(byAge)) {
    const host = legacyHost(r.object.spec.destination, nsOf(r.object));
    if (host === undefined) continue;
    rulesByHost.set(host, [...(rulesByHost.get(host) ?? []), r]);
  }
  const policiesByHost = new Map<string, SourcedObject[]>();
  for (const p of [...policies].sort(byAge)) {
    const host = legacyHost(p.object.spec.destination, nsOf(p.object));
    if (host === undefined) continue;
    policiesByHost.set(host, [...(policiesByHost.get(host) ?? []), p]);
  }

  // User DestinationRules per host: the oldest receives the generated subsets.
  const userDr = new Map<string, SourcedObject>();
  for (const o of [...rest].sort(byAge)) {
    if (o.object.kind !== 'DestinationRule' || !o.object.apiVersion.startsWith('networking.istio.io/')) continue;
    const host = str(o.object.spec.host);
    if (host === undefined) continue;
    const resolved = resolveHost(host, nsOf(o.object));
    if (!userDr.has(resolved)) userDr.set(resolved, o);
  }

  // Phase 1: every label set each destination host needs a subset for.
  const uses = new Map<string, LabelUse[]>();
  const addUse = (host: string, use: LabelUse): void => {
    if (Object.keys(use.labels).length === 0) return;
    uses.set(host, [...(uses.get(host) ?? []), use]);
  };
  for (const [host, list] of rulesByHost) {
    for (const r of list) {
      const spec = r.object.spec;
      const routes = Array.isArray(spec.route) ? spec.route : [];
      routes.forEach((route, k) => {
        const rr = rec(route);
        const dest = rr?.destination !== undefined ? legacyHost(rr.destination, nsOf(r.object)) : host;
        if (dest !== undefined) addUse(dest, { labels: labelsOf(rr?.labels), by: r, path: `spec.route[${k}].labels` });
      });
      const mirror = rec(spec.mirror);
      const mirrorHost = mirror ? legacyHost(mirror, nsOf(r.object)) : undefined;
      if (mirrorHost !== undefined) addUse(mirrorHost, { labels: labelsOf(mirror?.labels), by: r, path: 'spec.mirror.labels' });
    }
  }
  for (const [host, list] of policiesByHost) {
    for (const p of list) {
      addUse(host, { labels: labelsOf(rec(p.object.spec.destination)?.labels), by: p, path: 'spec.destination.labels' });
    }
  }

  // Phase 2: subset names per destination host.
  const plans = new Map<string, SubsetPlan>();
  for (const host of [...uses.keys()].sort()) {
    const plan: SubsetPlan = { names: new Map(), added: [] };
    plans.set(host, plan);
    const existing = userSubsets(userDr.get(host));
    const distinct = new Map<string, LabelUse>();
    for (const u of uses.get(host)!) if (!distinct.has(labelKey(u.labels))) distinct.set(labelKey(u.labels), u);
    const readable = new Map<string, string[]>();
    for (const [key, u] of distinct) {
      const r = readableSubsetName(u.labels);
      if (r !== undefined) readable.set(r, [...(readable.get(r) ?? []), key]);
    }
    for (const key of [...distinct.keys()].sort()) {
      const u = distinct.get(key)!;
      const reuse = existing.find((s) => labelKey(s.labels) === key);
      if (reuse) {
        plan.names.set(key, reuse.name);
        continue;
      }
      const r = readableSubsetName(u.labels);
      const name = r !== undefined && readable.get(r)!.length === 1 ? r : hashedSubsetName(u.labels);
      const clash = existing.find((s) => s.name === name);
      if (clash) {
        const dr = userDr.get(host)!;
        issues.push(
          toIssue(u.by, 'error', u.path, `subset name ${JSON.stringify(name)} derived from these labels is already used by DestinationRule ${nsOf(dr.object)}/${dr.object.metadata.name} for different labels ${stableStringify(clash.labels)}`),
        );
        continue;
      }
      plan.names.set(key, name);
      plan.added.push({ name, labels: u.labels, use: u });
    }
  }
  const subsetFor = (host: string, labels: Record<string, string>): string | undefined =>
    Object.keys(labels).length === 0 ? undefined : plans.get(host)?.names.get(labelKey(labels));

  const existingKeys = new Map(rest.map((o) => [objectKey(o.object), o.origin]));
  const generated: SourcedObject[] = [];
  const claim = (kind: string, id: { name: string; namespace: string }, blame: SourcedObject): boolean => {
    const key = `${kind}/${id.namespace}/${id.name}`;
    const taken = existingKeys.get(key);
    if (taken === undefined) return true;
    issues.push(toIssue(blame, 'error', '', `cannot convert: the generated ${kind} ${id.namespace}/${id.name} would replace the object defined at ${taken}; rename that object`));
    return false;
  };

  // Phase 3: one VirtualService per rule host.
  for (const host of [...rulesByHost.keys()].sort()) {
    const ordered = orderRules(host, rulesByHost.get(host)!, issues);
    const first = ordered[0]!;
    const id = generatedIdentity(host, nsOf(first.object));
    if (!claim('VirtualService', id, first)) continue;
    const entries: ProvenanceEntry[] = [
      { prefix: '', target: first, targetPath: '', sameShape: false },
      { prefix: 'spec.hosts', target: first, targetPath: 'spec.destination', sameShape: false },
    ];
    const http = ordered.map((r, i) => convertRule(r, host, `spec.http[${i}]`, subsetFor, entries));
    const vs: ConfigObject = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: withTimestamp(
        { name: id.name, namespace: id.namespace, annotations: { [CONVERTED_FROM_ANNOTATION]: ordered.map((r) => objectKey(r.object)).join(',') } },
        ordered,
      ),
      spec: { hosts: [host], http },
    };
    provenance.set(vs, entries);
    generated.push({ object: vs, origin: first.origin });
  }

  // Phase 4: one DestinationRule per destination host with subsets or policies.
  const replaced = new Map<SourcedObject, SourcedObject>();
  const drHosts = new Set([...plans.keys(), ...policiesByHost.keys()]);
  for (const host of [...drHosts].sort()) {
    const plan = plans.get(host) ?? { names: new Map<string, string>(), added: [] };
    const hostPolicies = policiesByHost.get(host) ?? [];
    const user = userDr.get(host);
    if (plan.added.length === 0 && hostPolicies.length === 0) continue; // every label set reused an existing subset
    const contributors = [...new Set([...(uses.get(host) ?? []).map((u) => u.by), ...hostPolicies])];
    const entries: ProvenanceEntry[] = [];
    const baseSubsets = user && Array.isArray(user.object.spec.subsets) ? (user.object.spec.subsets as unknown[]) : [];
    const subsets: Record<string, unknown>[] = baseSubsets.map((s) => ({ ...(rec(s) ?? {}) }));
    for (const a of plan.added) {
      entries.push({ prefix: `spec.subsets[${subsets.length}]`, target: a.use.by, targetPath: a.use.path, sameShape: false });
      subsets.push({ name: a.name, labels: a.labels });
    }
    let trafficPolicy = user ? rec(user.object.spec.trafficPolicy) : undefined;
    const policyOwner = new Map<string, SourcedObject>();
    for (const p of hostPolicies) {
      const labels = labelsOf(rec(p.object.spec.destination)?.labels);
      const tp = convertPolicy(p.object.spec);
      if (Object.keys(labels).length === 0) {
        if (trafficPolicy !== undefined) {
          const owner = policyOwner.get('');
          issues.push(
            toIssue(p, 'error', 'spec', owner
              ? `conflicts with DestinationPolicy ${nsOf(owner.object)}/${owner.object.metadata.name}, which already sets the policy for ${host}`
              : `conflicts with DestinationRule ${nsOf(user!.object)}/${user!.object.metadata.name}, which already sets a trafficPolicy for ${host}`),
          );
          continue;
        }
        trafficPolicy = tp;
        policyOwner.set('', p);
        entries.push(...policyEntries('spec.trafficPolicy', p));
        continue;
      }
      const name = plan.names.get(labelKey(labels));
      const index = subsets.findIndex((s) => s.name === name);
      if (name === undefined || index < 0) continue; // naming failed; reported in phase 2
      if (subsets[index]!.trafficPolicy !== undefined) {
        const owner = policyOwner.get(name);
        issues.push(
          toIssue(p, 'error', 'spec', owner
            ? `conflicts with DestinationPolicy ${nsOf(owner.object)}/${owner.object.metadata.name}, which already sets the policy for subset ${name} of ${host}`
            : `conflicts with DestinationRule ${nsOf(user!.object)}/${user!.object.metadata.name}, which already sets a trafficPolicy for subset ${name}`),
        );
        continue;
      }
      subsets[index] = { ...subsets[index], trafficPolicy: tp };
      policyOwner.set(name, p);
      entries.push(...policyEntries(`spec.subsets[${index}].trafficPolicy`, p));
    }
    const sources = contributors.sort(byAge).map((c) => objectKey(c.object)).join(',');
    if (user) {
      const merged: ConfigObject = {
        ...user.object,
        metadata: {
          ...user.object.metadata,
          annotations: { ...user.object.metadata.annotations, [MERGED_FROM_ANNOTATION]: sources },
        },
        spec: { ...user.object.spec, subsets, ...(trafficPolicy ? { trafficPolicy } : {}) },
      };
      provenance.set(merged, entries);
      replaced.set(user, { object: merged, origin: user.origin });
      continue;
    }
    const firstRule = rulesByHost.get(host) ? orderRules(host, rulesByHost.get(host)!, []) : [];
    const blame = firstRule[0] ?? contributors[0]!;
    const id = generatedIdentity(host, nsOf(blame.object));
    if (!claim('DestinationRule', id, blame)) continue;
    entries.push({ prefix: '', target: blame, targetPath: '', sameShape: false });
    entries.push({ prefix: 'spec.host', target: blame, targetPath: 'spec.destination', sameShape: false });
    const dr: ConfigObject = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: withTimestamp(
        { name: id.name, namespace: id.namespace, annotations: { [CONVERTED_FROM_ANNOTATION]: sources } },
        contributors,
      ),
      spec: { host, ...(trafficPolicy ? { trafficPolicy } : {}), ...(subsets.length > 0 ? { subsets } : {}) },
    };
    provenance.set(dr, entries);
    generated.push({ object: dr, origin: blame.origin });
  }

  const out = rest.map((o) => replaced.get(o) ?? o);
  generated.sort((a, b) => (objectKey(a.object) < objectKey(b.object) ? -1 : 1));
  return { objects: [...out, ...generated], issues };
}

function userSubsets(dr: SourcedObject | undefined): { name: string; labels: Record<string, string> }[] {
  if (!dr || !Array.isArray(dr.object.spec.subsets)) return [];
  return dr.object.spec.subsets.flatMap((s) => {
    const r = rec(s);
    const name = str(r?.name);
    return name === undefined ? [] : [{ name, labels: labelsOf(r?.labels) }];
  });
}

function withTimestamp(meta: ConfigObject['metadata'], from: readonly SourcedObject[]): ConfigObject['metadata'] {
  const times = from
    .map((o) => o.object.metadata.creationTimestamp)
    .filter((t): t is string => typeof t === 'string' && !Number.isNaN(Date.parse(t)))
    .sort((a, b) => Date.parse(a) - Date.parse(b));
  return times[0] ? { ...meta, creationTimestamp: times[0] } : meta;
}

const ruleRef = (r: SourcedObject): string => `RouteRule ${nsOf(r.object)}/${r.object.metadata.name}`;

function hasMatch(r: SourcedObject): boolean {
  const match = rec(r.object.spec.match);
  if (!match) return false;
  const headers = rec(rec(match.request)?.headers);
  return (headers !== undefined && Object.keys(headers).length > 0) || rec(match.source) !== undefined;
}

const precedenceOf = (r: SourcedObject): number => (typeof r.object.spec.precedence === 'number' ? r.object.spec.precedence : 0);

/**
 * Evaluation order of one host's rules: rules with a match by precedence (highest
 * first), then catch-alls by precedence. A catch-all with a higher precedence than a rule
 * with a match would, in Istio 0.x, have hidden that rule; here it goes last, with a
 * warning, since that is almost always what was meant.
 */
function orderRules(host: string, list: readonly SourcedObject[], issues: ConfigIssue[]): SourcedObject[] {
  const cmp = (a: SourcedObject, b: SourcedObject): number => {
    const d = precedenceOf(b) - precedenceOf(a);
    if (d !== 0) return d;
    const ka = `${nsOf(a.object)}/${a.object.metadata.name}`;
    const kb = `${nsOf(b.object)}/${b.object.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  const withMatch = list.filter(hasMatch).sort(cmp);
  const catchAll = list.filter((r) => !hasMatch(r)).sort(cmp);
  for (const group of [withMatch, catchAll]) {
    for (let i = 1; i < group.length; i++) {
      if (precedenceOf(group[i]!) === precedenceOf(group[i - 1]!)) {
        issues.push(
          toIssue(group[i]!, 'warning', 'spec.precedence', `same precedence (${precedenceOf(group[i]!)}) as ${ruleRef(group[i - 1]!)} for ${host}; ordered by namespace/name, so this rule is evaluated after it`),
        );
      }
    }
  }
  catchAll.slice(1).forEach((r) => {
    issues.push(toIssue(r, 'warning', '', `unreachable: ${ruleRef(catchAll[0]!)} has no match either and is evaluated first, so it takes every request to ${host} this rule could take`));
  });
  const lowestMatch = withMatch[withMatch.length - 1];
  for (const r of catchAll) {
    if (lowestMatch && precedenceOf(r) > precedenceOf(lowestMatch)) {
      issues.push(
        toIssue(r, 'warning', 'spec.precedence', `this rule has no match, so it is evaluated after the rules with a match (such as ${ruleRef(lowestMatch)}, precedence ${precedenceOf(lowestMatch)}) despite its higher precedence`),
      );
    }
  }
  return [...withMatch, ...catchAll];
}

function stringMatchOf(v: unknown): Record<string, string> | undefined {
  if (typeof v === 'string') return { exact: v };
  const r = rec(v);
  if (!r) return undefined;
  return Object.fromEntries(Object.entries(r).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

const SPECIAL_HEADERS = new Set(['uri', 'method', 'authority', 'scheme']);

/** One RouteRule → one `http` entry; records where each converted field came from. */
function convertRule(
  r: SourcedObject,
  host: string,
  base: string,
  subsetFor: (host: string, labels: Record<string, string>) => string | undefined,
  entries: ProvenanceEntry[],
): Record<string, unknown> {
  const spec = r.object.spec;
  const ns = nsOf(r.object);
  const at = (prefix: string, targetPath: string, sameShape = false): void => {
    entries.push({ prefix: prefix === '' ? base : `${base}.${prefix}`, target: r, targetPath, sameShape });
  };
  at('', 'spec');
  const out: Record<string, unknown> = { name: objectKey(r.object) };

  const match = rec(spec.match);
  if (match && hasMatch(r)) {
    const m: Record<string, unknown> = {};
    const headers = rec(rec(match.request)?.headers) ?? {};
    const plain: Record<string, unknown> = {};
    for (const name of Object.keys(headers).sort()) {
      const sm = stringMatchOf(headers[name]);
      if (!sm) continue;
      if (SPECIAL_HEADERS.has(name)) {
        m[name] = sm;
        at(`match[0].${name}`, joinPath('spec.match.request.headers', name), true);
      } else plain[name] = sm;
    }
    if (Object.keys(plain).length > 0) {
      m.headers = plain;
      at('match[0].headers', 'spec.match.request.headers', true);
    }
    const source = rec(match.source);
    if (source) {
      const labels = labelsOf(source.labels);
      const name = str(source.name);
      if (name !== undefined) labels.app = name;
      if (Object.keys(labels).length > 0) {
        m.sourceLabels = labels;
        at('match[0].sourceLabels', name !== undefined ? 'spec.match.source.name' : 'spec.match.source.labels', name === undefined);
      }
      const sourceNs = str(source.namespace) ?? (name !== undefined ? ns : undefined);
      if (sourceNs !== undefined) {
        m.sourceNamespace = sourceNs;
        at('match[0].sourceNamespace', source.namespace !== undefined ? 'spec.match.source.namespace' : 'spec.match.source.name');
      }
    }
    out.match = [m];
    at('match', 'spec.match');
  }

  const routes = Array.isArray(spec.route) ? spec.route : [];
  if (routes.length > 0) {
    out.route = routes.map((route, k) => {
      const rr = rec(route) ?? {};
      const destHost = rr.destination !== undefined ? (legacyHost(rr.destination, ns) ?? host) : host;
      const subset = subsetFor(destHost, labelsOf(rr.labels));
      at(`route[${k}]`, `spec.route[${k}]`);
      at(`route[${k}].weight`, `spec.route[${k}].weight`);
      at(`route[${k}].destination`, rr.destination !== undefined ? `spec.route[${k}].destination` : 'spec.destination');
      at(`route[${k}].destination.subset`, `spec.route[${k}].labels`);
      return {
        destination: { host: destHost, ...(subset !== undefined ? { subset } : {}) },
        ...(typeof rr.weight === 'number' ? { weight: rr.weight } : {}),
      };
    });
    at('route', 'spec.route');
  } else if (spec.redirect === undefined) {
    // Istio 0.x: no route means all instances of the destination.
    out.route = [{ destination: { host } }];
    at('route', 'spec.destination');
  }

  const redirect = rec(spec.redirect);
  if (redirect) {
    out.redirect = { ...redirect };
    at('redirect', 'spec.redirect', true);
  }
  const rewrite = rec(spec.rewrite);
  if (rewrite) {
    out.rewrite = { ...rewrite };
    at('rewrite', 'spec.rewrite', true);
  }
  const timeout = str(rec(rec(spec.httpReqTimeout)?.simpleTimeout)?.timeout);
  if (timeout !== undefined) {
    out.timeout = timeout;
    at('timeout', 'spec.httpReqTimeout.simpleTimeout.timeout');
  }
  const retry = rec(rec(spec.httpReqRetries)?.simpleRetry);
  if (retry) {
    out.retries = {
      ...(typeof retry.attempts === 'number' ? { attempts: retry.attempts } : { attempts: 0 }),
      ...(typeof retry.perTryTimeout === 'string' ? { perTryTimeout: retry.perTryTimeout } : {}),
    };
    at('retries', 'spec.httpReqRetries.simpleRetry', true);
  }
  const fault = rec(spec.httpFault);
  if (fault) {
    const f: Record<string, unknown> = {};
    const delay = rec(fault.delay);
    if (delay && delay.exponentialDelay === undefined) {
      // v1alpha2: an unset percent means every request.
      f.delay = {
        ...(typeof delay.fixedDelay === 'string' ? { fixedDelay: delay.fixedDelay } : {}),
        percentage: { value: typeof delay.percent === 'number' ? delay.percent : 100 },
      };
      at('fault.delay.percentage', 'spec.httpFault.delay.percent');
    }
    const abort = rec(fault.abort);
    if (abort) {
      const a: Record<string, unknown> = { percentage: { value: typeof abort.percent === 'number' ? abort.percent : 100 } };
      for (const k of ['httpStatus', 'grpcStatus', 'http2Error']) if (abort[k] !== undefined) a[k] = abort[k];
      f.abort = a;
      at('fault.abort.percentage', 'spec.httpFault.abort.percent');
    }
    if (f.delay !== undefined || f.abort !== undefined) {
      out.fault = f;
      at('fault', 'spec.httpFault', true);
    }
  }
  const mirror = rec(spec.mirror);
  const mirrorHost = mirror ? legacyHost(mirror, ns) : undefined;
  if (mirrorHost !== undefined) {
    const subset = subsetFor(mirrorHost, labelsOf(mirror?.labels));
    out.mirror = { host: mirrorHost, ...(subset !== undefined ? { subset } : {}) };
    at('mirror', 'spec.mirror');
  }
  const cors = rec(spec.corsPolicy);
  if (cors) {
    const origins = Array.isArray(cors.allowOrigin) ? cors.allowOrigin.filter((o): o is string => typeof o === 'string') : [];
    out.corsPolicy = {
      ...(origins.length > 0 ? { allowOrigins: origins.map((o) => ({ exact: o })) } : {}),
      ...Object.fromEntries(['allowMethods', 'allowHeaders', 'exposeHeaders', 'maxAge', 'allowCredentials'].filter((k) => cors[k] !== undefined).map((k) => [k, cors[k]])),
    };
    at('corsPolicy', 'spec.corsPolicy');
  }
  const append = rec(spec.appendHeaders);
  if (append) {
    out.headers = { request: { add: { ...append } } };
    at('headers', 'spec.appendHeaders');
  }
  return out;
}

/** `simpleCb` field → DestinationRule trafficPolicy path. */
const CIRCUIT_BREAKER_FIELDS: readonly (readonly [string, string])[] = [
  ['maxConnections', 'connectionPool.tcp.maxConnections'],
  ['httpMaxPendingRequests', 'connectionPool.http.http1MaxPendingRequests'],
  ['httpMaxRequests', 'connectionPool.http.http2MaxRequests'],
  ['httpMaxRequestsPerConnection', 'connectionPool.http.maxRequestsPerConnection'],
  ['httpMaxRetries', 'connectionPool.http.maxRetries'],
  ['httpConsecutiveErrors', 'outlierDetection.consecutive5xxErrors'],
  ['httpDetectionInterval', 'outlierDetection.interval'],
  ['sleepWindow', 'outlierDetection.baseEjectionTime'],
  ['httpMaxEjectionPercent', 'outlierDetection.maxEjectionPercent'],
];

function convertPolicy(spec: Record<string, unknown>): Record<string, unknown> {
  const tp: Record<string, Record<string, unknown>> = {};
  const put = (path: string, value: unknown): void => {
    const parts = path.split('.');
    let cur: Record<string, unknown> = tp;
    for (const p of parts.slice(0, -1)) {
      cur[p] = rec(cur[p]) ?? {};
      cur = cur[p] as Record<string, unknown>;
    }
    cur[parts[parts.length - 1]!] = value;
  };
  const lb = str(rec(spec.loadBalancing)?.name);
  if (lb !== undefined) put('loadBalancer.simple', lb);
  const cb = rec(rec(spec.circuitBreaker)?.simpleCb) ?? {};
  for (const [from, to] of CIRCUIT_BREAKER_FIELDS) if (cb[from] !== undefined) put(to, cb[from]);
  return tp;
}

function policyEntries(prefix: string, p: SourcedObject): ProvenanceEntry[] {
  const out: ProvenanceEntry[] = [
    { prefix, target: p, targetPath: 'spec', sameShape: false },
    { prefix: `${prefix}.loadBalancer`, target: p, targetPath: 'spec.loadBalancing.name', sameShape: false },
  ];
  for (const [from, to] of CIRCUIT_BREAKER_FIELDS) {
    out.push({ prefix: `${prefix}.${to}`, target: p, targetPath: `spec.circuitBreaker.simpleCb.${from}`, sameShape: false });
  }
  return out;
}

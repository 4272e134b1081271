import { formatIssue, type ConfigIssue } from './issues.js';
import { DEFAULT_NAMESPACE, objectKey, type ConfigObject, type SourcedObject } from './object.js';
import { resolveKind, type KindDescriptor } from './kinds.js';
import { convertLegacy, isLegacyObject, mapGeneratedIssue } from './legacy.js';
import { dnsLabelProblem, hostMatches, hostProblem, isWildcardHost, objectNameProblem, resolveHost } from './hosts.js';
import { isPathWithin, isRecord, type FieldIssue } from './paths.js';

export { parseDuration } from './duration.js';

export interface ValidateOptions {
  /**
   * Service hosts the mesh knows (registry hostnames). When given, rule hosts and
   * destinations outside it (and outside the ServiceEntries being validated) get a
   * warning — never an error: the service may simply not be registered yet.
   */
  readonly knownHosts?: ReadonlySet<string>;
}

const nsOf = (o: ConfigObject): string => o.metadata.namespace ?? DEFAULT_NAMESPACE;

function attach(o: SourcedObject, i: FieldIssue): ConfigIssue {
  return {
    severity: i.severity,
    source: o.origin,
    kind: o.object.kind,
    namespace: nsOf(o.object),
    name: o.object.metadata.name,
    path: i.path,
    message: i.message,
  };
}

/**
 * Validates a set of objects the way the store will hold them: each object against its
 * kind's schema and semantics, then the set as a whole (subsets exist, hosts are known,
 * no object is defined twice). Legacy RouteRules and DestinationPolicies are checked by
 * their own schema, converted, and the converted objects checked too — with every issue
 * reported against the legacy field it came from. Returns errors and warnings in a stable
 * order (object order, then discovery order), without duplicates.
 */
export function validateObjects(objects: readonly SourcedObject[], opts: ValidateOptions = {}): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const failed = new Set<SourcedObject>();
  const recognised: SourcedObject[] = [];
  const firstByKey = new Map<string, SourcedObject>();

  for (const o of objects) {
    const key = objectKey(o.object);
    const first = firstByKey.get(key);
    if (first) {
      out.push(attach(o, { severity: 'error', path: '', message: `defined more than once (first at ${first.origin})` }));
      failed.add(o);
      continue;
    }
    firstByKey.set(key, o);
    const { issues, known } = validateOne(o.object);
    for (const i of issues) out.push(attach(o, i));
    if (issues.some((i) => i.severity === 'error')) failed.add(o);
    if (known) recognised.push(o);
  }

  // Invalid legacy objects stay out of the conversion: their errors are already reported,
  // and converting them would only repeat those errors in other words.
  const toConvert = recognised.filter((o) => !(failed.has(o) && isLegacyObject(o.object)));
  const converted = convertLegacy(toConvert);
  out.push(...converted.issues);
  const original = new Set(toConvert);
  const report = (o: SourcedObject, i: FieldIssue): void => {
    out.push(mapGeneratedIssue(o.object, i) ?? attach(o, i));
  };
  for (const o of converted.objects) {
    if (original.has(o)) continue; // already validated above
    const { descriptor } = resolveKind(o.object.apiVersion, o.object.kind) as { descriptor: KindDescriptor };
    for (const i of [...descriptor.validateStructure(o.object), ...(descriptor.validateSemantics?.(o.object) ?? [])]) {
      if (mapGeneratedIssue(o.object, i)) report(o, i); // merged user DRs: only the generated parts are new
    }
  }
  crossCheck(converted.objects, opts, report);
  return dedupe(out);
}

interface SingleResult {
  readonly issues: readonly FieldIssue[];
  /** False for an unknown kind or apiVersion: the object takes no part in cross-object checks. */
  readonly known: boolean;
}

/**
 * Schema and semantic issues of one object. Semantic issues on a field the schema already
 * rejected are dropped: they would describe the same mistake twice.
 */
function validateOne(o: ConfigObject): SingleResult {
  const cached = singleCache.get(o);
  if (cached) return cached;
  const result = computeOne(o);
  singleCache.set(o, result);
  return result;
}

/**
 * Per-object results by object identity: accepted config objects are never mutated, so a
 * store re-validating the whole set on every proposal only re-checks what changed (plus
 * the cross-object checks, which are cheap).
 */
const singleCache = new WeakMap<ConfigObject, SingleResult>();

function computeOne(o: ConfigObject): SingleResult {
  const resolved = resolveKind(o.apiVersion, o.kind);
  if ('issue' in resolved) return { issues: [resolved.issue], known: false };
  const d = resolved.descriptor;
  const issues: FieldIssue[] = [];
  const nameProblem = objectNameProblem(o.metadata.name);
  if (nameProblem) issues.push({ severity: 'error', path: 'metadata.name', message: nameProblem });
  if (o.metadata.namespace !== undefined) {
    const p = dnsLabelProblem(String(o.metadata.namespace));
    if (p) issues.push({ severity: 'error', path: 'metadata.namespace', message: p });
  }
  const structural = d.validateStructure(o);
  issues.push(...structural);
  const shadowing = structural.filter((i) => i.severity === 'error').map((i) => i.path);
  for (const i of d.validateSemantics?.(o) ?? []) {
    if (!shadowing.some((p) => isPathWithin(i.path, p))) issues.push(i);
  }
  if (d.support === 'stored') {
    issues.push({ severity: 'warning', path: '', message: `not enforced yet: Isthmus validates and stores ${d.kind} objects but does not apply them to proxies` });
  } else if (d.support === 'converted') {
    issues.push({ severity: 'warning', path: '', message: `deprecated: ${d.kind} is converted to a VirtualService and DestinationRule (\`isthmus convert\` shows them)` });
  }
  return { issues, known: true };
}

interface DrIndex {
  /** exact resolved host → subset names */
  readonly exact: Map<string, Set<string>>;
  readonly wildcard: { readonly host: string; readonly subsets: Set<string> }[];
}

/** Cross-object checks on the converted set: subsets exist; hosts are known (warning). */
function crossCheck(
  objects: readonly SourcedObject[],
  opts: ValidateOptions,
  report: (o: SourcedObject, i: FieldIssue) => void,
): void {
  const drs: DrIndex = { exact: new Map(), wildcard: [] };
  const entryHosts: string[] = [];
  for (const o of objects) {
    const spec = o.object.spec;
    if (!o.object.apiVersion.startsWith('networking.istio.io/')) continue;
    if (o.object.kind === 'DestinationRule' && typeof spec.host === 'string') {
      const host = resolveHost(spec.host, nsOf(o.object));
      const names = new Set<string>();
      if (Array.isArray(spec.subsets)) {
        for (const s of spec.subsets) if (isRecord(s) && typeof s.name === 'string') names.add(s.name);
      }
      if (isWildcardHost(host)) drs.wildcard.push({ host, subsets: names });
      else drs.exact.set(host, new Set([...(drs.exact.get(host) ?? []), ...names]));
    }
    if (o.object.kind === 'ServiceEntry' && Array.isArray(spec.hosts)) {
      for (const h of spec.hosts) if (typeof h === 'string') entryHosts.push(resolveHost(h, nsOf(o.object)));
    }
  }
  const known = opts.knownHosts;
  const isKnown = (host: string): boolean => {
    if (!known) return true;
    if (isWildcardHost(host)) return [...known, ...entryHosts].some((k) => hostMatches(host, k));
    return known.has(host) || entryHosts.some((e) => hostMatches(e, host));
  };
  const unknownHost = (written: string, host: string): string =>
    `unknown host ${JSON.stringify(host)}${written !== host ? ` (from ${JSON.stringify(written)})` : ''}: no service or ServiceEntry has it yet, so this rule has no effect until one does`;

  for (const o of objects) {
    const spec = o.object.spec;
    const ns = nsOf(o.object);
    if (!o.object.apiVersion.startsWith('networking.istio.io/')) continue;
    if (o.object.kind === 'DestinationRule' && typeof spec.host === 'string' && !hostProblem(spec.host, { allowWildcard: true })) {
      const host = resolveHost(spec.host, ns);
      if (!isKnown(host)) report(o, { severity: 'warning', path: 'spec.host', message: unknownHost(spec.host, host) });
    }
    if (o.object.kind !== 'VirtualService') continue;
    // A destination that is one of the rule's own unknown hosts was reported once already.
    const reported = new Set<string>();
    if (Array.isArray(spec.hosts)) {
      spec.hosts.forEach((h, i) => {
        if (typeof h !== 'string' || hostProblem(h, { allowWildcard: true })) return;
        const host = resolveHost(h, ns);
        if (isKnown(host)) return;
        reported.add(host);
        report(o, { severity: 'warning', path: `spec.hosts[${i}]`, message: unknownHost(h, host) });
      });
    }
    if (!Array.isArray(spec.http)) continue;
    spec.http.forEach((r, i) => {
      if (!isRecord(r) || !Array.isArray(r.route)) return;
      r.route.forEach((d, k) => {
        const dest = isRecord(d) && isRecord(d.destination) ? d.destination : undefined;
        if (!dest || typeof dest.host !== 'string' || hostProblem(dest.host, { allowWildcard: false })) return;
        const base = `spec.http[${i}].route[${k}].destination`;
        const host = resolveHost(dest.host, ns);
        if (!isKnown(host) && !reported.has(host)) {
          report(o, { severity: 'warning', path: `${base}.host`, message: `destination ${unknownHost(dest.host, host)}` });
        }
        if (typeof dest.subset !== 'string') return;
        const defined =
          drs.exact.get(host)?.has(dest.subset) === true ||
          drs.wildcard.some((w) => hostMatches(w.host, host) && w.subsets.has(dest.subset as string));
        if (!defined) {
          report(o, {
            severity: 'error',
            path: `${base}.subset`,
            message: `subset ${JSON.stringify(dest.subset)} is not defined by any DestinationRule for host ${host}`,
          });
        }
      });
    });
  }
}

function dedupe(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.severity} ${formatIssue(i)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/*
 * Mapping helpers shared by the platform adapters (Consul, Nomad): labels and versions from
 * service tags, mesh-port choice, service selection patterns.
 */

/** The default pattern of a bare version tag (`v1`, `v2.1`). */
export const DEFAULT_VERSION_TAG_PATTERN = '^v\\d[\\w.-]*$';

/** The version tag pattern option compiled; `platform` prefixes the error (`consul`). */
export function compileVersionTagPattern(pattern: string | undefined, platform: string): RegExp {
  try {
    return new RegExp(pattern ?? DEFAULT_VERSION_TAG_PATTERN);
  } catch (err) {
    throw new Error(`${platform}: invalid version tag pattern: ${(err as Error).message}`);
  }
}

/** `key=value` tags as labels (later tags win; tags without a key are skipped). */
export function keyValueTagLabels(tags: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const t of tags) {
    const eq = t.indexOf('=');
    if (eq > 0) labels[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return labels;
}

/** The version of tagged labels: a `version` label, else the first bare tag matching `versionTag`. */
export function versionFromTags(tags: readonly string[], labels: Readonly<Record<string, string>>, versionTag: RegExp): string | undefined {
  return labels.version || tags.find((t) => versionTag.test(t));
}

/** A port number 1–65535 written in decimal, else undefined. */
export function validPort(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** The most frequent value; ties go to the lowest. */
export function mostCommon(values: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: number | undefined;
  for (const [v, n] of counts) if (best === undefined || n > counts.get(best)! || (n === counts.get(best)! && v < best)) best = v;
  return best;
}

/** A service selection pattern (`--consul-service`, `--nomad-service`): `*` matches any run of characters, the rest is literal. */
export function servicePattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

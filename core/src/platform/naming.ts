/** True for a DNS label: lower-case letters, digits and inner hyphens, at most 63 characters. */
export function isDnsLabel(name: string): boolean {
  return DNS_LABEL.test(name);
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Maps a platform service to its mesh hostname; undefined when it cannot be named. */
export type TemplateNamingPolicy<R> = (ref: R) => string | undefined;

/**
 * The template naming policy of DESIGN.md shared by the platform adapters. `domain` either
 * replaces the suffix (`mesh.internal` → `<service>.mesh.internal`), or, with placeholders
 * (`{service}` plus the keys of `placeholders`), is the whole name. Names are lower-cased; a
 * service whose name is not a DNS label is not mapped. `platform` prefixes errors (`consul`).
 * Placeholders are substituted `{service}` first, then in the order of `placeholders`.
 */
export function templateNamingPolicy<R extends { readonly service: string }>(
  platform: string,
  domain: string,
  placeholders: Readonly<Record<string, (ref: R) => string>>,
): TemplateNamingPolicy<R> {
  const template = domain.includes('{') ? domain : `{service}.${domain.replace(/^\.+|\.+$/g, '')}`;
  const known = ['service', ...Object.keys(placeholders)].map((p) => `${p}\\}`).join('|');
  const unknown = new RegExp(`\\{(?!${known})[^}]*\\}`).exec(template);
  if (unknown) throw new Error(`${platform}: unknown placeholder ${unknown[0]} in naming template "${domain}"`);
  if (!template.includes('{service}')) throw new Error(`${platform}: naming template "${domain}" must contain {service}`);
  const entries = Object.entries(placeholders);
  return (ref) => {
    const service = ref.service.toLowerCase();
    if (!DNS_LABEL.test(service)) return undefined;
    let name = template.replaceAll('{service}', service);
    for (const [key, value] of entries) name = name.replaceAll(`{${key}}`, value(ref).toLowerCase());
    return name;
  };
}

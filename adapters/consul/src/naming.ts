/** Where a Consul service lives, for naming it in the mesh. */
export interface ConsulServiceRef {
  readonly service: string;
  readonly namespace: string;
  readonly partition: string;
  readonly datacenter: string;
}

/** Maps a Consul service to its mesh hostname; undefined when it cannot be named (logged by the caller). */
export type NamingPolicy = (ref: ConsulServiceRef) => string | undefined;

export const DEFAULT_DOMAIN = 'service.consul';

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The naming policy of DESIGN.md: `<service>.service.consul` by default. `domain` either
 * replaces the suffix (`mesh.internal` → `<service>.mesh.internal`), or, with placeholders
 * `{service}` `{namespace}` `{partition}` `{dc}`, is the whole name. Point two platforms'
 * adapters at the same shared name and their instances merge into one Service.
 * Names are lower-cased; a service whose name is not a DNS label is not mapped.
 */
export function namingPolicy(domain: string = DEFAULT_DOMAIN): NamingPolicy {
  const template = domain.includes('{') ? domain : `{service}.${domain.replace(/^\.+|\.+$/g, '')}`;
  const unknown = /\{(?!service\}|namespace\}|partition\}|dc\})[^}]*\}/.exec(template);
  if (unknown) throw new Error(`consul: unknown placeholder ${unknown[0]} in naming template "${domain}"`);
  if (!template.includes('{service}')) throw new Error(`consul: naming template "${domain}" must contain {service}`);
  return (ref) => {
    const service = ref.service.toLowerCase();
    if (!DNS_LABEL.test(service)) return undefined;
    return template
      .replaceAll('{service}', service)
      .replaceAll('{namespace}', ref.namespace.toLowerCase())
      .replaceAll('{partition}', ref.partition.toLowerCase())
      .replaceAll('{dc}', ref.datacenter.toLowerCase());
  };
}

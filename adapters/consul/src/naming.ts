import { templateNamingPolicy } from '@isthmus/core';

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

/**
 * The naming policy of DESIGN.md: `<service>.service.consul` by default. `domain` either
 * replaces the suffix (`mesh.internal` → `<service>.mesh.internal`), or, with placeholders
 * `{service}` `{namespace}` `{partition}` `{dc}`, is the whole name. Point two platforms'
 * adapters at the same shared name and their instances merge into one Service.
 * Names are lower-cased; a service whose name is not a DNS label is not mapped.
 */
export function namingPolicy(domain: string = DEFAULT_DOMAIN): NamingPolicy {
  return templateNamingPolicy<ConsulServiceRef>('consul', domain, {
    namespace: (ref) => ref.namespace,
    partition: (ref) => ref.partition,
    dc: (ref) => ref.datacenter,
  });
}

import { templateNamingPolicy } from '@isthmus/core';

/** Where a Nomad service lives, for naming it in the mesh. */
export interface NomadServiceRef {
  readonly service: string;
  readonly namespace: string;
  /** The region read (`local` when the agent's own was not named). */
  readonly region: string;
}

/** Maps a Nomad service to its mesh hostname; undefined when it cannot be named (logged by the caller). */
export type NamingPolicy = (ref: NomadServiceRef) => string | undefined;

export const DEFAULT_DOMAIN = 'service.nomad';

/**
 * The naming policy of DESIGN.md: `<service>.service.nomad` by default. `domain` either
 * replaces the suffix (`mesh.internal` → `<service>.mesh.internal`), or, with placeholders
 * `{service}` `{namespace}` `{region}`, is the whole name. Point the Nomad and Consul (or
 * Kubernetes) adapters at the same shared name and their instances merge into one Service.
 * Names are lower-cased; a service whose name is not a DNS label is not mapped.
 */
export function namingPolicy(domain: string = DEFAULT_DOMAIN): NamingPolicy {
  return templateNamingPolicy<NomadServiceRef>('nomad', domain, {
    namespace: (ref) => ref.namespace,
    region: (ref) => ref.region,
  });
}

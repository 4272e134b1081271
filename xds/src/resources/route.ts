import { arr, obj, validation, type JsonObject, type ResourceType } from './resource-type.js';
import { ROUTE_TYPE_URL } from './type-urls.js';

const PATH_SPECIFIERS = ['prefix', 'path', 'safe_regex'] as const;

/** RouteConfiguration (RDS). */
export const routeType: ResourceType = {
  typeUrl: ROUTE_TYPE_URL,
  shortName: 'RDS',
  messageType: 'envoy.config.route.v3.RouteConfiguration',
  allResourcesRequiredInSotW: false,
  validate(resource, client) {
    const errors: string[] = [];
    if (!resource.name) errors.push('name: empty');
    arr(resource.virtual_hosts).forEach((vh, i) => {
      const vhost = obj(vh) ?? {};
      const prefix = `virtual_hosts[${i}]`;
      if (arr(vhost.domains).length === 0) errors.push(`${prefix}.domains: empty`);
      arr(vhost.routes).forEach((r, j) => errors.push(...validateRoute(obj(r) ?? {}, `${prefix}.routes[${j}]`, client)));
    });
    return validation(resource, errors);
  },
};

function validateRoute(route: JsonObject, prefix: string, client: string): string[] {
  const errors: string[] = [];
  const match = obj(route.match);
  if (!match || !PATH_SPECIFIERS.some((p) => match[p] !== undefined)) {
    errors.push(`${prefix}.match: no path specifier (prefix, path or safe_regex)`);
  }
  arr(match?.headers).forEach((h, k) => {
    const header = obj(h) ?? {};
    const name = String(header.name ?? '');
    if (!name) errors.push(`${prefix}.match.headers[${k}].name: empty`);
    if (name !== name.toLowerCase()) {
      errors.push(`${prefix}.match.headers[${k}].name: ${name} must be lowercase (C-core never matches it)`);
    }
    if (client === 'grpc' && header.string_match !== undefined) {
      errors.push(`${prefix}.match.headers[${k}]: string_match is NACKed by C-core; use exact_match, prefix_match or safe_regex_match`);
    }
  });
  const action = obj(route.route);
  if (!action) {
    errors.push(`${prefix}: only the route action is supported`);
    return errors;
  }
  const weighted = obj(action.weighted_clusters);
  if (weighted) {
    const clusters = arr(weighted.clusters).map((c) => obj(c) ?? {});
    const sum = clusters.reduce((s, c) => s + Number(obj(c.weight)?.value ?? 0), 0);
    const total = Number(obj(weighted.total_weight)?.value ?? 100);
    if (clusters.length === 0) errors.push(`${prefix}.route.weighted_clusters: no clusters`);
    if (sum !== total) errors.push(`${prefix}.route.weighted_clusters: weights add up to ${sum}, not ${total}`);
  } else if (!action.cluster) {
    errors.push(`${prefix}.route: no cluster`);
  }
  const retries = obj(action.retry_policy);
  if (retries && Number(obj(retries.num_retries)?.value ?? 1) < 1) {
    errors.push(`${prefix}.route.retry_policy.num_retries: must be at least 1 (send no retry_policy instead)`);
  }
  return errors;
}

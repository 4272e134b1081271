import { arr, obj, validation, type JsonObject, type ResourceType } from './resource-type.js';
import { FAULT_TYPE_URL, ROUTE_TYPE_URL } from './type-urls.js';

const PATH_SPECIFIERS = ['prefix', 'path', 'safe_regex'] as const;

/** RouteConfiguration (RDS). */
export const routeType: ResourceType = {
  typeUrl: ROUTE_TYPE_URL,
  shortName: 'RDS',
  messageType: 'envoy.config.route.v3.RouteConfiguration',
  allResourcesRequiredInSotW: false,
  sotwPushChangedOnly: 'grpc',
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
  if (client === 'envoy') errors.push(...validateEnvoyHeaderEdits(route, prefix));
  else {
    // grpc-js validates every typed_per_filter_config entry and NACKs the types it lacks.
    for (const name of Object.keys(obj(route.typed_per_filter_config) ?? {})) {
      const typeUrl = obj(obj(route.typed_per_filter_config)?.[name])?.['@type'];
      if (typeUrl !== FAULT_TYPE_URL) errors.push(`${prefix}.typed_per_filter_config[${JSON.stringify(name)}]: ${String(typeUrl)} is not supported by gRPC clients (NACK)`);
    }
  }
  const action = obj(route.route);
  if (!action) {
    // Envoy answers redirects and direct responses itself; grpc-js NACKs the whole route
    // configuration for them, and C-core fails the calls that match.
    if (client === 'envoy' && (obj(route.redirect) || obj(route.direct_response))) return errors;
    errors.push(`${prefix}: only the route action is supported${client === 'envoy' ? ', or redirect / direct_response' : ' by gRPC clients'}`);
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

/** Envoy refuses (at load, beyond PGV) to add or remove pseudo-headers and Host on a route. */
function validateEnvoyHeaderEdits(route: JsonObject, prefix: string): string[] {
  const errors: string[] = [];
  const check = (key: unknown, where: string): void => {
    const k = String(key ?? '').toLowerCase();
    if (k.startsWith(':') || k === 'host') errors.push(`${where}: ${k} cannot be modified (Envoy: ":-prefixed or host headers may not be modified")`);
  };
  const targets: [JsonObject, string][] = [[route, prefix]];
  arr(obj(obj(route.route)?.weighted_clusters)?.clusters).forEach((c, i) => targets.push([obj(c) ?? {}, `${prefix}.route.weighted_clusters.clusters[${i}]`]));
  for (const [t, at] of targets) {
    for (const field of ['request_headers_to_add', 'response_headers_to_add']) {
      arr(t[field]).forEach((h, i) => check(obj(obj(h)?.header)?.key, `${at}.${field}[${i}]`));
    }
    for (const field of ['request_headers_to_remove', 'response_headers_to_remove']) {
      arr(t[field]).forEach((h, i) => check(h, `${at}.${field}[${i}]`));
    }
  }
  return errors;
}

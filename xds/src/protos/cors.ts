import protobuf from 'protobufjs';

/**
 * `envoy.extensions.filters.http.cors.v3` (Envoy's CORS filter and its per-route policy).
 * @grpc/grpc-js-xds does not ship this file, and Envoy deprecated the route-level `cors`
 * field (fatal by default), so the two messages are declared here by field number — the
 * wire format of Envoy's API (`api/envoy/extensions/filters/http/cors/v3/cors.proto`).
 * Fields 1–9 exist since Envoy 1.24; 10 (`forward_not_matching_preflights`) since 1.31 and
 * is only sent when a rule sets `unmatchedPreflights`.
 */
export const CORS_PACKAGE = 'envoy.extensions.filters.http.cors.v3';

export function withCorsTypes(root: protobuf.Root): protobuf.Root {
  if (root.lookup(`${CORS_PACKAGE}.CorsPolicy`)) return root;
  const ns = root.define(CORS_PACKAGE);
  ns.add(new protobuf.Type('Cors'));
  const policy = new protobuf.Type('CorsPolicy');
  const fields: [string, number, string, boolean?][] = [
    ['allow_origin_string_match', 1, '.envoy.type.matcher.v3.StringMatcher', true],
    ['allow_methods', 2, 'string'],
    ['allow_headers', 3, 'string'],
    ['expose_headers', 4, 'string'],
    ['max_age', 5, 'string'],
    ['allow_credentials', 6, '.google.protobuf.BoolValue'],
    ['filter_enabled', 7, '.envoy.config.core.v3.RuntimeFractionalPercent'],
    ['shadow_enabled', 8, '.envoy.config.core.v3.RuntimeFractionalPercent'],
    ['allow_private_network_access', 9, '.google.protobuf.BoolValue'],
    ['forward_not_matching_preflights', 10, '.google.protobuf.BoolValue'],
  ];
  for (const [name, id, type, repeated] of fields) policy.add(new protobuf.Field(name, id, type, repeated ? 'repeated' : undefined));
  ns.add(policy);
  root.resolveAll();
  return root;
}

/** Envoy v3 type URLs (the only ones Isthmus serves) and filter names it emits. */
export const TYPE_URL_PREFIX = 'type.googleapis.com/';

export const LISTENER_TYPE_URL = `${TYPE_URL_PREFIX}envoy.config.listener.v3.Listener`;
export const ROUTE_TYPE_URL = `${TYPE_URL_PREFIX}envoy.config.route.v3.RouteConfiguration`;
export const CLUSTER_TYPE_URL = `${TYPE_URL_PREFIX}envoy.config.cluster.v3.Cluster`;
export const ENDPOINT_TYPE_URL = `${TYPE_URL_PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`;

export const HCM_TYPE_URL = `${TYPE_URL_PREFIX}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
export const ROUTER_TYPE_URL = `${TYPE_URL_PREFIX}envoy.extensions.filters.http.router.v3.Router`;
export const FAULT_TYPE_URL = `${TYPE_URL_PREFIX}envoy.extensions.filters.http.fault.v3.HTTPFault`;

export const ROUTER_FILTER_NAME = 'envoy.filters.http.router';
export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';

/** The order of one push: clusters before the endpoints and routes that need them (go-control-plane, Istio). */
export const PUSH_ORDER: readonly string[] = [CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL];

// Traffic management (route-table.ts, cluster-policy.ts).
export const CORS_TYPE_URL = `${TYPE_URL_PREFIX}envoy.extensions.filters.http.cors.v3.Cors`;
export const CORS_POLICY_TYPE_URL = `${TYPE_URL_PREFIX}envoy.extensions.filters.http.cors.v3.CorsPolicy`;
export const CORS_FILTER_NAME = 'envoy.filters.http.cors';
export const PREVIOUS_HOSTS_TYPE_URL = `${TYPE_URL_PREFIX}envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate`;
export const PREVIOUS_HOSTS_NAME = 'envoy.retry_host_predicates.previous_hosts';
export const PREVIOUS_PRIORITIES_TYPE_URL = `${TYPE_URL_PREFIX}envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig`;
export const PREVIOUS_PRIORITIES_NAME = 'envoy.retry_priorities.previous_priorities';
export const HTTP_PROTOCOL_OPTIONS_TYPE_URL = `${TYPE_URL_PREFIX}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`;
export const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

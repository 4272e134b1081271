import { describe, expect, it } from 'vitest';
import { clusterType } from '../../src/resources/cluster.js';
import { endpointType } from '../../src/resources/endpoint.js';
import { listenerType } from '../../src/resources/listener.js';
import type { JsonObject, ResourceType } from '../../src/resources/resource-type.js';
import { routeType } from '../../src/resources/route.js';
import { FAULT_TYPE_URL, HCM_TYPE_URL, ROUTER_TYPE_URL } from '../../src/resources/type-urls.js';

const errors = (t: ResourceType, r: JsonObject) => {
  const v = t.validate(r, 'grpc');
  return v.valid ? [] : v.errors;
};
const router = { name: 'r', typed_config: { '@type': ROUTER_TYPE_URL } };
const fault = { name: 'f', typed_config: { '@type': FAULT_TYPE_URL } };
const listener = (hcm: JsonObject) => ({ name: 'l', api_listener: { api_listener: { '@type': HCM_TYPE_URL, ...hcm } } });
const rds = { rds: { config_source: { ads: {} }, route_config_name: 'l' } };

describe('validators: what real gRPC clients NACK (XDS-INTEROP)', () => {
  it.each<[string, ResourceType, JsonObject, RegExp | null]>([
    ['listener ok', listenerType, listener({ ...rds, http_filters: [fault, router] }), null],
    ['Envoy-style listener', listenerType, { name: 'l', address: {} }, /must be an .*HttpConnectionManager/],
    ['router not last', listenerType, listener({ ...rds, http_filters: [router, fault] }), /router must be the last/],
    ['no filters', listenerType, listener({ ...rds, http_filters: [] }), /empty/],
    ['filter without typed_config', listenerType, listener({ ...rds, http_filters: [{ name: 'x' }, router] }), /typed_config: missing/],
    ['RBAC on a client', listenerType, listener({ ...rds, http_filters: [{ name: 'rbac', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC' } }, router] }), /RBAC/],
    ['rds from a path', listenerType, listener({ rds: { config_source: { path: '/x' }, route_config_name: 'l' }, http_filters: [router] }), /ads or self/],
    ['route no path specifier', routeType, { name: 'r', virtual_hosts: [{ domains: ['a'], routes: [{ match: {}, route: { cluster: 'c' } }] }] }, /no path specifier/],
    ['route redirect', routeType, { name: 'r', virtual_hosts: [{ domains: ['a'], routes: [{ match: { prefix: '/' }, redirect: {} }] }] }, /only the route action/],
    ['weights not 100', routeType, { name: 'r', virtual_hosts: [{ domains: ['a'], routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 950 } }, { name: 'b', weight: { value: 50 } }] } } }] }] }, /add up to 1000, not 100/],
    ['num_retries 0', routeType, { name: 'r', virtual_hosts: [{ domains: ['a'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { num_retries: { value: 0 } } } }] }] }, /at least 1/],
    ['no domains', routeType, { name: 'r', virtual_hosts: [{ domains: [], routes: [] }] }, /domains: empty/],
    ['STATIC cluster', clusterType, { name: 'c', type: 'STATIC' }, /use EDS/],
    ['EDS from an API source', clusterType, { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { api_config_source: {} } } }, /ads or self/],
    ['LEAST_REQUEST', clusterType, { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, lb_policy: 'LEAST_REQUEST' }, /lb_policy/],
    ['no locality', endpointType, { cluster_name: 'c', endpoints: [{ load_balancing_weight: { value: 1 }, lb_endpoints: [] }] }, /locality: unset/],
    ['locality weight 0', endpointType, { cluster_name: 'c', endpoints: [{ locality: {}, lb_endpoints: [] }] }, /load_balancing_weight/],
    ['host name address', endpointType, { cluster_name: 'c', endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'localhost', port_value: 1 } } } }] }] }, /IP literal/],
  ])('%s', (_name, type, resource, expected) => {
    const got = errors(type, resource);
    if (expected === null) expect(got).toEqual([]);
    else expect(got.join('\n')).toMatch(expected);
  });
});

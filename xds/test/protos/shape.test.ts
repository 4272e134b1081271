import { describe, expect, it } from 'vitest';
import { messageType } from '../../src/protos/root.js';
import { checkShape } from '../../src/protos/shape.js';
import { HCM_TYPE_URL } from '../../src/resources/type-urls.js';

const listener = messageType('envoy.config.listener.v3.Listener');
const cluster = messageType('envoy.config.cluster.v3.Cluster');

describe('checkShape', () => {
  it('accepts a well-formed resource, nested Any included', () => {
    expect(
      checkShape(listener, {
        name: 'a:1',
        api_listener: { api_listener: { '@type': HCM_TYPE_URL, rds: { route_config_name: 'a:1', config_source: { ads: {} } } } },
      }),
    ).toEqual([]);
  });

  it('reports unknown fields, inside Any too', () => {
    expect(checkShape(listener, { name: 'a', nmae: 'b' })).toEqual(['nmae: unknown field of envoy.config.listener.v3.Listener']);
    expect(checkShape(listener, { api_listener: { api_listener: { '@type': HCM_TYPE_URL, rdss: {} } } })[0]).toContain(
      'api_listener.api_listener.rdss: unknown field',
    );
  });

  it('reports an Any whose type is not loaded (it would encode empty) or has no @type', () => {
    expect(checkShape(listener, { api_listener: { api_listener: { '@type': 'type.googleapis.com/not.Loaded' } } })[0]).toContain('not loaded');
    expect(checkShape(listener, { api_listener: { api_listener: {} } })[0]).toContain('Any without @type');
  });

  it('reports bad enum names, two members of a oneof, wrong scalars and non-lists', () => {
    expect(checkShape(cluster, { lb_policy: 'FASTEST' })[0]).toContain('not a value of envoy.config.cluster.v3.Cluster.LbPolicy');
    expect(checkShape(cluster, { type: 'EDS', cluster_type: { name: 'x' } })[0]).toContain('oneof cluster_discovery_type');
    expect(checkShape(cluster, { name: 5 })[0]).toContain('expected a string');
    expect(checkShape(cluster, { per_connection_buffer_limit_bytes: { value: -1 } })[0]).toContain('unsigned');
    expect(checkShape(cluster, { dns_resolvers: {} })[0]).toContain('expected a list');
  });

  it('names the whole path: fields, list indexes, map keys, the root', () => {
    expect(checkShape(cluster, { load_assignment: { endpoints: [{ lb_endpoints: [{}, { endpoint: { adress: {} } }] }] } })).toEqual([
      'load_assignment.endpoints[0].lb_endpoints[1].endpoint.adress: unknown field of envoy.config.endpoint.v3.Endpoint',
    ]);
    expect(checkShape(cluster, { typed_extension_protocol_options: { 'envoy.x': {} }, name: 'c', type: 'EDS', cluster_type: {} })).toEqual([
      'typed_extension_protocol_options["envoy.x"]: Any without @type',
      'cluster_type: oneof cluster_discovery_type already set by type',
    ]);
    expect(checkShape(cluster, 5)).toEqual(['<root>: expected an object for envoy.config.cluster.v3.Cluster']);
  });

  it('in JSON mode takes durations as strings and wrappers as bare values', () => {
    expect(checkShape(cluster, { connect_timeout: '1.5s', per_connection_buffer_limit_bytes: 10 }, { json: true })).toEqual([]);
    expect(checkShape(cluster, { connect_timeout: 'soon' }, { json: true })[0]).toContain('not a duration');
    expect(checkShape(cluster, { connect_timeout: '1s' })[0]).toContain('expected an object');
  });
});

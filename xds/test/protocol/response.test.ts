import { describe, expect, it } from 'vitest';
import { encodeDeltaDiscoveryResponse, encodeDiscoveryResponse, responseVersion, versionWith } from '../../src/protocol/response.js';
import { encodeResource, type EncodedResource } from '../../src/resources/encoded.js';
import { clusterType } from '../../src/resources/cluster.js';
import { edsCluster } from '../../src/generators/grpc/cds.js';
import { messageType } from '../../src/protos/root.js';
import { CLUSTER_TYPE_URL } from '../../src/resources/type-urls.js';

function cluster(name: string): EncodedResource {
  const r = encodeResource(clusterType, name, edsCluster(name), 'grpc');
  if (!r.valid) throw new Error(r.errors.join('; '));
  return r.value;
}

describe('DiscoveryResponse assembly from pre-encoded resources', () => {
  it('decodes as a normal DiscoveryResponse with the resources in their Any', () => {
    const resources = [cluster('a'), cluster('b')];
    const buf = encodeDiscoveryResponse({ versionInfo: 'v1', typeUrl: CLUSTER_TYPE_URL, nonce: 'n1', resources, controlPlaneId: 'cp-1' });
    const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
    const decoded = type.toObject(type.decode(buf), { json: true, enums: String }) as any;
    expect(decoded).toMatchObject({ version_info: 'v1', type_url: CLUSTER_TYPE_URL, nonce: 'n1', control_plane: { identifier: 'cp-1' } });
    expect(decoded.resources.map((r: any) => [r['@type'], r.name, r.type])).toEqual([
      [CLUSTER_TYPE_URL, 'a', 'EDS'],
      [CLUSTER_TYPE_URL, 'b', 'EDS'],
    ]);
    expect(decoded.resources[0].eds_cluster_config).toEqual({ eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'a' });
  });

  it('encodes an empty response', () => {
    const buf = encodeDiscoveryResponse({ versionInfo: responseVersion([]), typeUrl: 'type.googleapis.com/x.Y', nonce: 'n', resources: [] });
    const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
    expect(type.toObject(type.decode(buf), { arrays: true })).toMatchObject({ type_url: 'type.googleapis.com/x.Y', resources: [] });
  });

  it('versions depend only on (name, version) pairs', () => {
    expect(responseVersion([cluster('a'), cluster('b')])).toBe(responseVersion([cluster('a'), cluster('b')]));
    expect(responseVersion([cluster('a')])).not.toBe(responseVersion([cluster('b')]));
    expect(responseVersion([])).toMatch(/^[0-9a-f]{16}$/);
    expect(cluster('a').version).toBe(cluster('a').version);
  });

  it('a set version updated for what changed equals the version of the new set, in any order', () => {
    const [a, b, c] = [cluster('a'), cluster('b'), cluster('c')];
    const b2 = { name: 'b', version: 'f'.repeat(16) };
    const ab = responseVersion([a, b]);
    expect(responseVersion([b, a])).toBe(ab);
    expect(versionWith(ab, 'b', b.version, b2.version)).toBe(responseVersion([a, b2]));
    expect(versionWith(ab, 'c', undefined, c.version)).toBe(responseVersion([a, b, c]));
    expect(versionWith(ab, 'a', a.version, undefined)).toBe(responseVersion([b]));
    expect(versionWith(versionWith(ab, 'b', b.version, b2.version), 'b', b2.version, b.version)).toBe(ab);
    // The name counts, not only the version: the same content under another name is another set.
    expect(responseVersion([{ name: 'x', version: a.version }])).not.toBe(responseVersion([{ name: 'y', version: a.version }]));
    expect(responseVersion([{ name: 'ab', version: 'c' }])).not.toBe(responseVersion([{ name: 'a', version: 'bc' }]));
  });

  it('DeltaDiscoveryResponse: Resource{version, Any, name} per resource, removed names, the same bytes on every push', () => {
    const [a, b] = [cluster('a'), cluster('b')];
    const type = messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
    const encode = (nonce: string) =>
      encodeDeltaDiscoveryResponse({ systemVersionInfo: 'sv', typeUrl: CLUSTER_TYPE_URL, nonce, resources: [a, b], removed: ['gone'], controlPlaneId: 'cp-1' });
    const first = encode('n1');
    const decoded = type.toObject(type.decode(first), { json: true, enums: String }) as any;
    expect(decoded).toMatchObject({ system_version_info: 'sv', type_url: CLUSTER_TYPE_URL, nonce: 'n1', removed_resources: ['gone'], control_plane: { identifier: 'cp-1' } });
    expect(decoded.resources.map((r: any) => [r.name, r.version, r.resource['@type'], r.resource.name])).toEqual([
      ['a', a.version, CLUSTER_TYPE_URL, 'a'],
      ['b', b.version, CLUSTER_TYPE_URL, 'b'],
    ]);
    // A second push (entries from the per-resource cache) differs only in the nonce.
    const second = encode('n2');
    expect(second.length).toBe(first.length);
    expect((type.toObject(type.decode(second), { json: true, enums: String }) as any).resources).toEqual(decoded.resources);
  });
});

import { describe, expect, it } from 'vitest';
import { messageType } from '../../src/protos/root.js';
import { jsonToStruct, structToJson } from '../../src/protos/struct.js';
import { proxyFromNode } from '../../src/proxy.js';

describe('Struct ⇄ JSON', () => {
  it('round-trips through the protobufjs encoding (camelCase Value fields)', () => {
    const meta = { GENERATOR: 'grpc', LABELS: { app: 'web' }, N: 3, B: true, L: ['a', 1], Z: null };
    const Node = messageType('envoy.config.core.v3.Node');
    const buf = Node.encode(Node.fromObject({ id: 'x', metadata: jsonToStruct(meta) })).finish();
    const decoded = Node.toObject(Node.decode(buf)) as any;
    expect(structToJson(decoded.metadata)).toEqual(meta);
  });

  it('snake_case Value fields would be lost: the trap the helper avoids', () => {
    const Node = messageType('envoy.config.core.v3.Node');
    const buf = Node.encode(Node.fromObject({ id: 'x', metadata: { fields: { GENERATOR: { string_value: 'grpc' } } } })).finish();
    expect(structToJson((Node.toObject(Node.decode(buf)) as any).metadata)).toEqual({ GENERATOR: null });
  });
});

describe('proxyFromNode', () => {
  it('reads id, GENERATOR, NAMESPACE, LABELS and the user agent', () => {
    const p = proxyFromNode({
      id: 'n1',
      metadata: jsonToStruct({ GENERATOR: 'grpc', NAMESPACE: 'shop', LABELS: { app: 'web' } }),
      user_agent_name: 'gRPC Node Pure JS',
      user_agent_version: '1.14.1',
      client_features: ['envoy.lb.does_not_support_overprovisioning'],
    });
    expect(p).toMatchObject({ id: 'n1', generator: 'grpc', namespace: 'shop', labels: { app: 'web' }, userAgent: 'gRPC Node Pure JS 1.14.1' });
  });

  it('treats a node without GENERATOR (or without node) as an Envoy sidecar', () => {
    expect(proxyFromNode({ id: 'e' }).generator).toBe('sidecar');
    expect(proxyFromNode(undefined)).toMatchObject({ id: '', generator: 'sidecar', labels: {} });
  });
});

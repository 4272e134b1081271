import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigText, validateObjects, type MeshSnapshot, type SourcedObject } from '@isthmus/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { unenforcedRules } from '../../src/capabilities/report.js';
import { GRPC_C_CORE_151_PROFILE, GRPC_JS_PROFILE, profileFor } from '../../src/capabilities/profiles.js';
import { proxylessGaps } from '../../src/capabilities/report.js';
import { grpcGenerators } from '../../src/generators/index.js';
import type { XdsProxy } from '../../src/proxy.js';
import { aProxy, C_CORE_151_AGENT, GRPC_JS_AGENT } from '../helpers/builders.js';
import { generate } from '../helpers/generate.js';
import { snapshotFromYaml } from '../helpers/yaml-snapshot.js';

// examples/bookinfo-like: the exact xDS a proxyless gRPC node gets, checked in as JSON
// (`UPDATE_GOLDEN=1 npx vitest run xds/test/examples` rewrites it). The node is a
// productpage instance in us-west/zone-a; one golden per verified client (grpc-js 1.14,
// C-core 1.51), so the capability differences are visible side by side.
const EXAMPLE = fileURLToPath(new URL('../../../examples/bookinfo-like/', import.meta.url));
const FILES = ['services.yaml', 'virtual-services.yaml', 'destination-rules.yaml'].map((f) => join(EXAMPLE, f));
const GOLDEN = join(EXAMPLE, 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const node = (userAgent: { name: string; version: string }): XdsProxy =>
  aProxy({
    id: 'productpage-v1-grpc.bookinfo',
    namespace: 'bookinfo',
    labels: { app: 'productpage', version: 'v1' },
    locality: { region: 'us-west', zone: 'zone-a' },
    userAgent,
  });

const NODES: Record<string, XdsProxy> = {
  'proxyless-grpc-js': node(GRPC_JS_AGENT),
  'proxyless-grpc-c-core-1.51': node(C_CORE_151_AGENT),
};

function objects(): SourcedObject[] {
  return FILES.flatMap((f) => parseConfigText(readFileSync(f, 'utf8'), `examples/bookinfo-like/${f.slice(f.lastIndexOf('/') + 1)}`).objects);
}

describe('examples/bookinfo-like', () => {
  let snapshot: MeshSnapshot;
  beforeAll(async () => {
    snapshot = await snapshotFromYaml(FILES);
  });

  it('is valid: no error, and every warning is a proxyless-gRPC capability gap', () => {
    const list = objects();
    expect(validateObjects(list).filter((i) => i.severity === 'error')).toEqual([]);
    expect(validateObjects(list).filter((i) => i.severity === 'warning')).toEqual([]);
    const gaps = proxylessGaps(list).map((i) => `${i.kind}/${i.name} ${i.path}: ${i.message.split(':')[0]}`);
    expect(gaps).toEqual(
      expect.arrayContaining([
        'VirtualService/productpage spec.http[0].directResponse: not enforced on proxyless gRPC',
        'VirtualService/productpage spec.http[1].redirect: not enforced on proxyless gRPC',
        'VirtualService/productpage spec.http[2].rewrite: not enforced on proxyless gRPC',
        'VirtualService/productpage spec.http[3].corsPolicy: not enforced on proxyless gRPC',
        'VirtualService/reviews spec.http[1].mirror: not enforced on proxyless gRPC',
        'VirtualService/ratings spec.http[1].timeout: not enforced on proxyless gRPC (C-core ≤ 1.51)',
        'DestinationRule/reviews spec.trafficPolicy.loadBalancer.consistentHash: not enforced on proxyless gRPC (C-core ≤ 1.51)',
        'DestinationRule/ratings spec.trafficPolicy.loadBalancer.simple: not enforced on proxyless gRPC',
        'DestinationRule/reviews spec.trafficPolicy.outlierDetection: approximated on proxyless gRPC',
      ]),
    );
  });

  it.each(Object.keys(NODES))('golden xDS for %s', (name) => {
    const proxy = NODES[name]!;
    const out: Record<string, unknown> = { node: { id: proxy.id, userAgent: proxy.userAgent, profile: profileFor(proxy).id } };
    for (const g of grpcGenerators) {
      const { resources, logger } = generate(g, snapshot, { proxy });
      // Nothing refused: every resource passed the shape, PGV and client checks.
      expect(logger.at('error'), g.resourceType.shortName).toEqual([]);
      out[g.resourceType.shortName] = resources.map((r) => r.resource);
    }
    const actual = `${JSON.stringify(out, null, 2)}\n`;
    const file = join(GOLDEN, `${name}.json`);
    if (UPDATE) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, actual);
    }
    expect(existsSync(file), `missing ${file}: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(actual).toBe(readFileSync(file, 'utf8'));
  });

  it('reports what each client kind leaves out, by rule', () => {
    const gaps = unenforcedRules(snapshot, [GRPC_JS_PROFILE, GRPC_C_CORE_151_PROFILE]);
    const of = (client: string) => gaps.filter((g) => g.client === client && g.level === 'left-out').map((g) => `${g.origin} ${g.path}`);
    expect(of('grpc-js')).not.toContain('DestinationRule/bookinfo/reviews spec.trafficPolicy.loadBalancer.consistentHash');
    expect(of('grpc-c-core-1.51')).toContain('DestinationRule/bookinfo/reviews spec.trafficPolicy.loadBalancer.consistentHash');
    expect(of('grpc-js')).toContain('VirtualService/bookinfo/productpage spec.http[1].redirect');
    expect(of('grpc-js')).not.toContain('VirtualService/bookinfo/ratings spec.http[1].timeout');
    expect(of('grpc-c-core-1.51')).toContain('VirtualService/bookinfo/ratings spec.http[1].timeout');
  });
});

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MeshSnapshot } from '@isthmus/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ResourceCache } from '../../../src/cache/resource-cache.js';
import { defaultGenerators } from '../../../src/generators/index.js';
import type { XdsProxy } from '../../../src/proxy.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../../src/resources/type-urls.js';
import { aProxy } from '../../helpers/builders.js';
import { anEnvoyProxy } from '../../helpers/envoy.js';
import { recordingLogger } from '../../helpers/logger.js';
import { snapshotFromYaml } from '../../helpers/yaml-snapshot.js';

// Golden files: testdata/<case>.<proxy>.<LDS|RDS|CDS|EDS>.golden.json — the exact config
// one proxy gets: wildcard LDS and CDS, RDS and EDS for the names those reference (what
// Envoy asks for); every type wildcard for a proxyless gRPC node.
// `UPDATE_GOLDEN=1 npx vitest run xds/test/generators/envoy` rewrites them.
const HERE = dirname(fileURLToPath(import.meta.url));
const TESTDATA = join(HERE, 'testdata');
const BOOKINFO = join(HERE, '../../../../examples/bookinfo-like');
const BOOKINFO_FILES = ['services.yaml', 'virtual-services.yaml', 'destination-rules.yaml'].map((f) => join(BOOKINFO, f));
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const TYPES = [
  ['LDS', LISTENER_TYPE_URL],
  ['RDS', ROUTE_TYPE_URL],
  ['CDS', CLUSTER_TYPE_URL],
  ['EDS', ENDPOINT_TYPE_URL],
] as const;

interface Case {
  readonly files: () => string[];
  /** Proxies by golden name, given the case's snapshot. */
  readonly proxies: () => Record<string, XdsProxy>;
}

const CASES: Record<string, Case> = {
  'mini-bookinfo': {
    files: () => [join(TESTDATA, 'mini-bookinfo.input.yaml')],
    proxies: () => ({
      'reviews-v1': anEnvoyProxy({ ip: '10.1.0.21', namespace: 'bookinfo', labels: { app: 'reviews', version: 'v1' } }),
      productpage: anEnvoyProxy({ ip: '10.1.0.10', namespace: 'bookinfo', labels: { app: 'productpage', version: 'v1' }, interception: 'NONE' }),
      proxyless: aProxy({ id: 'proxyless-1', generator: 'grpc', namespace: 'bookinfo', labels: { app: 'client' } }),
    }),
  },
};
interface Rendered {
  readonly byType: Record<string, Record<string, any>[]>;
  readonly errors: unknown[];
}

function render(snapshot: MeshSnapshot, proxy: XdsProxy): Rendered {
  const registry = defaultGenerators();
  const logger = recordingLogger();
  const run = (typeUrl: string, names?: string[]) => {
    const g = registry.lookup(proxy.generator, typeUrl)!;
    return g
      .generate({ snapshot, proxy, names: names ? new Set(names) : undefined, memo: ResourceCache.forGenerator(g, logger) })
      .map((r) => r.resource as Record<string, any>);
  };
  const envoy = proxy.generator !== 'grpc';
  const lds = run(LISTENER_TYPE_URL);
  const cds = run(CLUSTER_TYPE_URL);
  const rdsNames = envoy ? referencedRouteConfigs(lds) : undefined;
  const edsNames = envoy ? cds.filter((c) => c.type === 'EDS').map((c) => c.eds_cluster_config.service_name) : undefined;
  return {
    byType: { LDS: lds, RDS: run(ROUTE_TYPE_URL, rdsNames), CDS: cds, EDS: run(ENDPOINT_TYPE_URL, edsNames) },
    errors: logger.at('error').map((l) => l.obj),
  };
}

function walk(v: unknown, visit: (o: Record<string, any>) => void): void {
  if (Array.isArray(v)) v.forEach((x) => walk(x, visit));
  else if (v && typeof v === 'object') {
    visit(v as Record<string, any>);
    Object.values(v).forEach((x) => walk(x, visit));
  }
}

function referencedRouteConfigs(listeners: unknown[]): string[] {
  const names = new Set<string>();
  walk(listeners, (o) => {
    if (o.rds?.route_config_name) names.add(o.rds.route_config_name);
  });
  return [...names].sort();
}

/** Every cluster a listener or route names (tcp_proxy, route, weighted clusters). */
function referencedClusters(resources: unknown[]): string[] {
  const names = new Set<string>();
  walk(resources, (o) => {
    if (typeof o.cluster === 'string') names.add(o.cluster);
    if (Array.isArray(o.weighted_clusters?.clusters)) for (const c of o.weighted_clusters.clusters) names.add(c.name);
  });
  return [...names].sort();
}

describe('golden xDS for an Envoy sidecar and a proxyless node', () => {
  const rendered = new Map<string, Rendered>();
  const rows: { name: string; proxy: string; type: string }[] = [];
  const snapshots = new Map<string, MeshSnapshot>();
  const proxiesOf = new Map<string, Record<string, XdsProxy>>();

  beforeAll(async () => {
    for (const [name, c] of Object.entries(CASES)) {
      const s = await snapshotFromYaml(c.files());
      snapshots.set(name, s);
      proxiesOf.set(name, c.proxies());
      for (const [proxyName, proxy] of Object.entries(c.proxies())) rendered.set(`${name}.${proxyName}`, render(s, proxy));
    }
  });

  // Rows must be known when the suite is collected.
  for (const proxy of ['reviews-v1', 'productpage', 'proxyless']) for (const [type] of TYPES) rows.push({ name: 'mini-bookinfo', proxy, type });

  it.each(rows)('$name $proxy $type', ({ name, proxy, type }) => {
    const r = rendered.get(`${name}.${proxy}`)!;
    const actual = `${JSON.stringify(r.byType[type], null, 2)}\n`;
    const file = join(TESTDATA, `${name}.${proxy}.${type}.golden.json`);
    if (UPDATE) {
      mkdirSync(TESTDATA, { recursive: true });
      writeFileSync(file, actual);
    }
    expect(existsSync(file), `missing ${file}: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(actual).toBe(readFileSync(file, 'utf8'));
  });

  it.each(Object.keys(CASES))('%s: every resource is valid (proto shape, validate.rules, client rules) and nothing dangles', (name) => {
    for (const proxy of Object.keys(proxiesOf.get(name)!)) {
      const r = rendered.get(`${name}.${proxy}`)!;
      expect(r.errors, `${name} ${proxy}`).toEqual([]);
      const clusters = new Set(r.byType.CDS!.map((c) => c.name));
      const missing = referencedClusters([...r.byType.LDS!, ...r.byType.RDS!]).filter((c) => !clusters.has(c));
      expect(missing, `${name} ${proxy}: clusters named by listeners and routes but not in CDS`).toEqual([]);
      const assignments = new Set(r.byType.EDS!.map((e) => e.cluster_name));
      const eds = r.byType.CDS!.filter((c) => c.type === 'EDS').map((c) => c.eds_cluster_config.service_name);
      expect(eds.filter((n) => !assignments.has(n)), `${name} ${proxy}: EDS clusters without an assignment`).toEqual([]);
      if (proxiesOf.get(name)![proxy]!.generator !== 'grpc') {
        const routeConfigs = new Set(r.byType.RDS!.map((rc) => rc.name));
        expect(referencedRouteConfigs(r.byType.LDS!).filter((n) => !routeConfigs.has(n))).toEqual([]);
      }
    }
  });

  it('mini-bookinfo: the Sidecar narrows productpage to reviews and details, REGISTRY_ONLY, NONE interception', () => {
    const r = rendered.get('mini-bookinfo.productpage')!;
    const hosts = new Set(r.byType.CDS!.filter((c) => c.name.startsWith('outbound|')).map((c) => c.name.split('|')[3]));
    expect([...hosts].sort()).toEqual(['details.bookinfo.svc.cluster.local', 'reviews.bookinfo.svc.cluster.local']);
    expect(r.byType.LDS!.map((l) => l.name)).toEqual(['10.1.0.10_9080', '127.0.0.1_50051']);
    const reviews = rendered.get('mini-bookinfo.reviews-v1')!;
    expect(reviews.byType.LDS!.map((l) => l.name)).toEqual(['0.0.0.0_27017', '0.0.0.0_443', '0.0.0.0_50051', '0.0.0.0_9080', 'virtualInbound', 'virtualOutbound']);
  });
});

// examples/bookinfo-like (every rule feature): the exact config of an Envoy sidecar, next
// to the proxyless goldens of xds/test/examples/bookinfo.test.ts, in the same format.
// productpage is the HTTP front end with a sidecar; reviews-v2 a gRPC service with one.
const SIDECARS: Record<string, XdsProxy> = {
  'sidecar-productpage': anEnvoyProxy({
    id: 'sidecar~10.10.0.10~productpage-v1.bookinfo~bookinfo.svc.cluster.local',
    namespace: 'bookinfo',
    labels: { app: 'productpage', version: 'v1' },
    locality: { region: 'us-west', zone: 'zone-a' },
  }),
  'sidecar-reviews-v2': anEnvoyProxy({
    id: 'sidecar~10.10.2.20~reviews-v2.bookinfo~bookinfo.svc.cluster.local',
    namespace: 'bookinfo',
    labels: { app: 'reviews', version: 'v2' },
    locality: { region: 'us-west', zone: 'zone-b' },
  }),
};

describe('examples/bookinfo-like: golden Envoy sidecar config', () => {
  let snapshot: MeshSnapshot;
  beforeAll(async () => {
    snapshot = await snapshotFromYaml(BOOKINFO_FILES);
  });

  it.each(Object.keys(SIDECARS))('%s', (name) => {
    const proxy = SIDECARS[name]!;
    const r = render(snapshot, proxy);
    // Nothing refused (shape, validate.rules, client rules), nothing dangling.
    expect(r.errors).toEqual([]);
    const clusters = new Set(r.byType.CDS!.map((c) => c.name));
    expect(referencedClusters([...r.byType.LDS!, ...r.byType.RDS!]).filter((c) => !clusters.has(c))).toEqual([]);
    const out = { node: { id: proxy.id, userAgent: proxy.userAgent, metadata: proxy.metadata, locality: proxy.locality }, ...r.byType };
    const actual = `${JSON.stringify(out, null, 2)}\n`;
    const file = join(BOOKINFO, 'golden', `${name}.json`);
    if (UPDATE) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, actual);
    }
    expect(existsSync(file), `missing ${file}: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(actual).toBe(readFileSync(file, 'utf8'));
  });
});

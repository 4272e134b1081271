import { describe, expect, it } from 'vitest';
import {
  checkSidecar,
  compileSidecars,
  exportedTo,
  formatIssue,
  sidecarAllows,
  sidecarScopeFor,
  validateObjects,
  type Service,
} from '@isthmus/core';
import { objectsOf, shuffled } from '../config/helpers.js';

const sidecar = (name: string, ns: string, spec: string, meta = ''): string => `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: ${name}, namespace: ${ns}${meta} }
spec:
${spec}
---`;

const svc = (hostname: string, namespace: string, exportTo: string[] = ['*']): Service => ({
  hostname,
  namespace,
  ports: [
    { name: 'http', number: 9080, protocol: 'HTTP' },
    { name: 'tcp', number: 5432, protocol: 'TCP' },
  ],
  labels: {},
  sources: ['test/a'],
  exportTo,
});

const REVIEWS = svc('reviews.shop.svc.cluster.local', 'shop');
const RATINGS = svc('ratings.shop.svc.cluster.local', 'shop');
const DB = svc('db.data.svc.cluster.local', 'data');
const EXT = svc('api.example.com', 'shop');

describe('compileSidecars', () => {
  it('compiles egress hosts, ports, ingress and outbound mode, oldest first', () => {
    const { sidecars, issues } = compileSidecars(
      objectsOf(`
${sidecar('narrow', 'shop', `  workloadSelector: { labels: { app: reviews } }
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
  ingress:
    - port: { number: 9080, protocol: HTTP, name: http }
      defaultEndpoint: 127.0.0.1:8080
  egress:
    - port: { number: 5432, protocol: TCP, name: pg }
      hosts: [data/db.data.svc.cluster.local]
    - hosts: ["./*", "istio-system/*"]`, ', creationTimestamp: "2026-01-02T00:00:00Z"')}
${sidecar('default', 'shop', '  egress: [{ hosts: ["./*"] }]', ', creationTimestamp: "2026-01-01T00:00:00Z"')}
`),
    );
    expect(issues).toEqual([]);
    expect([...sidecars.keys()]).toEqual(['shop/default', 'shop/narrow']);
    const narrow = sidecars.get('shop/narrow')!;
    expect(narrow).toMatchObject({
      key: 'Sidecar/shop/narrow',
      namespace: 'shop',
      workloadSelector: { app: 'reviews' },
      meshDefault: false,
      outboundTrafficPolicy: 'REGISTRY_ONLY',
      ingress: [{ port: 9080, protocol: 'HTTP', name: 'http', defaultEndpoint: '127.0.0.1:8080' }],
      egress: [
        { port: 5432, hosts: [{ namespace: 'data', host: 'db.data.svc.cluster.local' }] },
        { hosts: [{ namespace: '.', host: '*' }, { namespace: 'istio-system', host: '*' }] },
      ],
    });
    expect(sidecars.get('shop/default')).toMatchObject({ outboundTrafficPolicy: 'ALLOW_ANY', ingress: [] });
    expect(narrow.version).toMatch(/^[0-9a-f]{16}$/);
  });

  it('is independent of input order and marks the root namespace default', () => {
    const objects = objectsOf(`
${sidecar('a', 'shop', '  egress: [{ hosts: ["./*"] }]')}
${sidecar('b', 'web', '  egress: [{ hosts: ["*/*"] }]')}
${sidecar('default', 'istio-system', '  egress: [{ hosts: ["./*", "istio-system/*"] }]')}
`);
    const a = compileSidecars(objects);
    const b = compileSidecars(shuffled(objects, 7));
    expect([...b.sidecars.entries()]).toEqual([...a.sidecars.entries()]);
    expect(a.sidecars.get('istio-system/default')?.meshDefault).toBe(true);
    expect(a.sidecars.get('shop/a')?.meshDefault).toBe(false);
  });

  it('warns when two Sidecars claim the same workloads; the oldest applies', () => {
    const { sidecars, issues } = compileSidecars(
      objectsOf(`
${sidecar('second', 'shop', '  egress: [{ hosts: ["*/*"] }]', ', creationTimestamp: "2026-01-02T00:00:00Z"')}
${sidecar('first', 'shop', '  egress: [{ hosts: ["./*"] }]', ', creationTimestamp: "2026-01-01T00:00:00Z"')}
`),
    );
    expect(issues.map(formatIssue)).toEqual([
      'test.yaml:3:Sidecar/shop/second: metadata.namespace: ignored: Sidecar shop/first is older and already applies to every workload of namespace shop (the oldest Sidecar wins)',
    ]);
    expect(sidecarScopeFor(sidecars, { namespace: 'shop', labels: {} })?.key).toBe('Sidecar/shop/first');
  });
});

describe('sidecarScopeFor', () => {
  const { sidecars } = compileSidecars(
    objectsOf(`
${sidecar('mesh', 'istio-system', '  egress: [{ hosts: ["./*"] }]')}
${sidecar('shop', 'shop', '  egress: [{ hosts: ["./*"] }]')}
${sidecar('reviews', 'shop', '  workloadSelector: { labels: { app: reviews } }\n  egress: [{ hosts: ["*/*"] }]')}
`),
  );
  it.each([
    { name: 'a selector beats the namespace-wide Sidecar', ns: 'shop', labels: { app: 'reviews', version: 'v1' }, want: 'Sidecar/shop/reviews' },
    { name: 'namespace-wide when the selector does not match', ns: 'shop', labels: { app: 'ratings' }, want: 'Sidecar/shop/shop' },
    { name: 'the root namespace default elsewhere', ns: 'web', labels: { app: 'reviews' }, want: 'Sidecar/istio-system/mesh' },
  ])('$name', ({ ns, labels, want }) => {
    expect(sidecarScopeFor(sidecars, { namespace: ns, labels })?.key).toBe(want);
  });

  it('none when nothing applies', () => {
    const only = compileSidecars(objectsOf(sidecar('shop', 'shop', '  egress: [{ hosts: ["./*"] }]'))).sidecars;
    expect(sidecarScopeFor(only, { namespace: 'web', labels: {} })).toBeUndefined();
  });
});

describe('sidecarAllows', () => {
  const scopeOf = (spec: string, ns = 'shop') =>
    sidecarScopeFor(compileSidecars(objectsOf(sidecar('s', ns, spec))).sidecars, { namespace: ns, labels: {} });

  it('without a Sidecar: every service exported to the namespace', () => {
    expect(sidecarAllows(undefined, 'web', REVIEWS, 9080)).toBe(true);
    expect(sidecarAllows(undefined, 'web', svc('x.shop.svc.cluster.local', 'shop', ['.']), 9080)).toBe(false);
    expect(sidecarAllows(undefined, 'shop', svc('x.shop.svc.cluster.local', 'shop', ['.']), 9080)).toBe(true);
  });

  it('./* is the proxy namespace; ns/* another; */host any namespace; ~ nothing', () => {
    const s = scopeOf('  egress: [{ hosts: ["./*", "*/api.example.com", "~/db.data.svc.cluster.local"] }]');
    expect(sidecarAllows(s, 'shop', REVIEWS, 9080)).toBe(true);
    expect(sidecarAllows(s, 'shop', EXT, 9080)).toBe(true);
    expect(sidecarAllows(s, 'shop', DB, 9080)).toBe(false);
    const data = scopeOf('  egress: [{ hosts: ["data/*"] }]');
    expect(sidecarAllows(data, 'shop', DB, 9080)).toBe(true);
    expect(sidecarAllows(data, 'shop', REVIEWS, 9080)).toBe(false);
  });

  it('wildcard hosts match by suffix', () => {
    const s = scopeOf('  egress: [{ hosts: ["*/*.shop.svc.cluster.local"] }]');
    expect(sidecarAllows(s, 'shop', RATINGS, 9080)).toBe(true);
    expect(sidecarAllows(s, 'shop', DB, 9080)).toBe(false);
  });

  it('a port-specific egress listener decides for its port, the catch-all for the others', () => {
    const s = scopeOf(`  egress:
    - port: { number: 5432, protocol: TCP, name: pg }
      hosts: [data/db.data.svc.cluster.local]
    - hosts: ["./*"]`);
    expect(sidecarAllows(s, 'shop', DB, 5432)).toBe(true);
    expect(sidecarAllows(s, 'shop', DB, 9080)).toBe(false);
    expect(sidecarAllows(s, 'shop', REVIEWS, 5432)).toBe(false);
    expect(sidecarAllows(s, 'shop', REVIEWS, 9080)).toBe(true);
  });

  it('a Sidecar never widens exportTo', () => {
    const s = scopeOf('  egress: [{ hosts: ["*/*"] }]', 'web');
    expect(sidecarAllows(s, 'web', svc('x.shop.svc.cluster.local', 'shop', ['shop']), 9080)).toBe(false);
    expect(exportedTo(svc('x', 'shop', ['web', 'shop']), 'web')).toBe(true);
    expect(exportedTo(svc('x', 'shop', ['~']), 'shop')).toBe(false);
  });
});

describe('Sidecar validation', () => {
  it('is enforced: no "not enforced yet" warning, hosts must be namespace/host', () => {
    const result = validateObjects(
      objectsOf(sidecar('s', 'shop', '  egress: [{ hosts: ["reviews.shop.svc.cluster.local", "./*", "Bad NS/x", "*/reviews"] }]')),
    );
    const lines = result.map(formatIssue);
    expect(lines.some((l) => l.includes('not enforced yet'))).toBe(false);
    expect(lines).toContain(
      'test.yaml:2:Sidecar/shop/s: spec.egress[0].hosts[0]: "reviews.shop.svc.cluster.local" must be "namespace/host", e.g. "./reviews.shop.svc.cluster.local" (this namespace) or "*/reviews.shop.svc.cluster.local" (any namespace)',
    );
    expect(lines.some((l) => l.includes('spec.egress[0].hosts[2]: namespace "Bad NS" is not a valid namespace name'))).toBe(true);
    expect(lines.some((l) => l.includes('spec.egress[0].hosts[3]: "reviews" is a short name'))).toBe(true);
  });

  it('checks ingress ports and default endpoints', () => {
    const issues = checkSidecar(
      objectsOf(
        sidecar('s', 'shop', `  ingress:
    - port: { number: 9080, protocol: HTTP, name: http }
      defaultEndpoint: localhost:8080
    - port: { number: 9081, protocol: HTTP, name: http2 }
      defaultEndpoint: 127.0.0.1:8081`),
      )[0]!.object,
    );
    expect(issues).toEqual([
      {
        severity: 'error',
        path: 'spec.ingress[0].defaultEndpoint',
        message: '"localhost:8080" must be "127.0.0.1:<port>", "0.0.0.0:<port>", "[::1]:<port>" or "unix://<path>"',
      },
    ]);
  });
});

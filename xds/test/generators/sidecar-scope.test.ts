import { compileSidecars, parseConfigText } from '@isthmus/core';
import { describe, expect, it } from 'vitest';
import { grpcClusterGenerator } from '../../src/generators/grpc/cds.js';
import { grpcEndpointGenerator } from '../../src/generators/grpc/eds.js';
import { grpcListenerGenerator } from '../../src/generators/grpc/lds.js';
import { grpcRouteGenerator } from '../../src/generators/grpc/rds.js';
import { proxyScope } from '../../src/generators/scope.js';
import { aProxy, aRouteTable, aService, canarySnapshot, GREETER } from '../helpers/builders.js';
import { generate } from '../helpers/generate.js';

const OTHER = 'other.default.svc.cluster.local';
const FAR = 'far.remote.svc.cluster.local';

const sidecar = (yaml: string) => compileSidecars(parseConfigText(yaml, 'sc.yaml').objects).sidecars;

/** greeter (canary) and other in `default`, far in `remote`; the Sidecar of `default` imports ./* only. */
function scoped() {
  return canarySnapshot()
    .withService(aService(OTHER).withPort('grpc', 7000).build(), aService(FAR).inNamespace('remote').withPort('grpc', 7100).build())
    .withSidecars(
      sidecar(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: default }
spec:
  egress: [{ hosts: ["./*"] }]`),
    );
}

const client = aProxy({ namespace: 'default' });

describe('Sidecar scoping for proxyless gRPC', () => {
  it('limits the listeners, route configs, clusters and endpoints a node gets', () => {
    const s = scoped().build();
    expect([...generate(grpcListenerGenerator, s, { proxy: client }).byName.keys()]).toEqual([`${GREETER}:50051`, `${OTHER}:7000`]);
    expect([...generate(grpcRouteGenerator, s, { proxy: client }).byName.keys()]).toEqual([`${GREETER}:50051`, `${OTHER}:7000`]);
    const clusters = [...generate(grpcClusterGenerator, s, { proxy: client }).byName.keys()];
    expect(clusters.some((c) => c.endsWith(FAR))).toBe(false);
    expect(clusters).toContain(`outbound|7000||${OTHER}`);
    // Asked by name: a hidden resource does not exist for this node.
    expect([...generate(grpcListenerGenerator, s, { proxy: client, names: [`${FAR}:7100`] }).byName.keys()]).toEqual([]);
    expect([...generate(grpcEndpointGenerator, s, { proxy: client, names: [`outbound|7100||${FAR}`] }).byName.keys()]).toEqual([]);
    // A node of another namespace has no Sidecar: it sees everything.
    const remote = aProxy({ namespace: 'remote' });
    expect([...generate(grpcListenerGenerator, s, { proxy: remote }).byName.keys()]).toContain(`${FAR}:7100`);
  });

  it('a route to a hidden destination is left out, never pointed at a missing cluster', () => {
    const s = scoped()
      .withRoutes(
        aRouteTable(GREETER, [
          { name: 'to-far', destinations: [{ host: FAR, weight: 100 }] },
          { name: 'rest', destinations: [{ host: GREETER, subset: 'v1', weight: 100 }] },
        ]),
      )
      .build();
    const { byName, logger } = generate(grpcRouteGenerator, s, { proxy: client, names: [`${GREETER}:50051`] });
    const routes = (byName.get(`${GREETER}:50051`) as any).virtual_hosts[0].routes;
    expect(routes.map((r: any) => r.route.cluster)).toEqual([`outbound|50051|v1|${GREETER}`]);
    expect(logger.at('warn').flatMap((l) => l.obj.warnings as string[]).some((w) => w.includes(`destination ${FAR} is not visible to this proxy`))).toBe(true);
    // The same route config for a node that sees far keeps the route: different cache keys.
    const remote = generate(grpcRouteGenerator, s, { proxy: aProxy({ namespace: 'remote' }), names: [`${GREETER}:50051`] });
    expect((remote.byName.get(`${GREETER}:50051`) as any).virtual_hosts[0].routes[0].route.cluster).toBe(`outbound|7100||${FAR}`);
  });

  it('exportTo: a service exported to its own namespace only is hidden elsewhere', () => {
    const s = canarySnapshot().withService({ ...aService(FAR).inNamespace('remote').withPort('grpc', 7100).build(), exportTo: ['.'] }).build();
    expect(proxyScope(s, { namespace: 'default', labels: {} }).visible(FAR, 7100)).toBe(false);
    expect(proxyScope(s, { namespace: 'remote', labels: {} }).visible(FAR, 7100)).toBe(true);
    expect(proxyScope(s, { namespace: 'remote', labels: {} }).visible(FAR, 1)).toBe(false);
    expect([...generate(grpcListenerGenerator, s, { proxy: client }).byName.keys()]).toEqual([`${GREETER}:50051`]);
  });

  it('the scope is computed once per snapshot and (namespace, labels)', () => {
    const s = scoped().build();
    expect(proxyScope(s, { namespace: 'default', labels: { b: '2', a: '1' } })).toBe(proxyScope(s, { namespace: 'default', labels: { a: '1', b: '2' } }));
    expect(proxyScope(s, { namespace: 'default', labels: {} }).key).not.toBe(proxyScope(s, { namespace: 'remote', labels: {} }).key);
  });
});

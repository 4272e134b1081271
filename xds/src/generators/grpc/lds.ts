import type { MeshSnapshot } from '@isthmus/core';
import { apiListener, rdsConnectionManager, withFaultFilter, withRouterFilter } from '../../configurers/listener.js';
import type { EncodedResource } from '../../resources/encoded.js';
import { listenerType } from '../../resources/listener.js';
import { LISTENER_TYPE_URL } from '../../resources/type-urls.js';
import type { GenerateContext, Generator } from '../generator.js';
import { byString, hostPortName, parseHostPort, routesForPort, servicePort } from '../mesh.js';
import { namedPerScope, proxyScope } from '../scope.js';

/**
 * `<host>:<port>` for every service port, or those among `names` that exist; only those
 * `visible` to the proxy (Sidecar egress hosts, exportTo) when given.
 */
export interface HostPortTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** The target `name` names, if it exists and is visible. */
export function hostPortTarget(snapshot: MeshSnapshot, name: string, visible?: (host: string, port: number) => boolean): HostPortTarget | undefined {
  const hp = parseHostPort(name);
  return hp && servicePort(snapshot, hp.host, hp.port) && (!visible || visible(hp.host, hp.port)) ? { name, host: hp.host, port: hp.port } : undefined;
}

export function hostPortTargets(
  snapshot: MeshSnapshot,
  names: ReadonlySet<string> | undefined,
  visible?: (host: string, port: number) => boolean,
): { name: string; host: string; port: number }[] {
  const out: { name: string; host: string; port: number }[] = [];
  if (names) {
    for (const name of names) {
      const t = hostPortTarget(snapshot, name, visible);
      if (t) out.push(t);
    }
  } else {
    for (const [host, { service }] of snapshot.services) {
      for (const p of service.ports) {
        if (!visible || visible(host, p.number)) out.push({ name: hostPortName(host, p.number), host, port: p.number });
      }
    }
  }
  return out.sort(byString((t) => t.name));
}

/** True when a route on this listener injects faults: the HCM then needs the fault filter. */
export function listenerNeedsFault(snapshot: MeshSnapshot, host: string, port: number): boolean {
  const table = snapshot.routes.get(host);
  return !!table && routesForPort(table.routes, port).some((r) => r.fault && (r.fault.abort || r.fault.delay));
}

/**
 * LDS for proxyless gRPC: one API listener per service port, named as the gRPC target's
 * authority (`xds:///<host>:<port>`), taking its routes over RDS from `<host>:<port>`.
 */
export const grpcListenerGenerator: Generator = {
  typeUrl: LISTENER_TYPE_URL,
  resourceType: listenerType,
  client: 'grpc',
  // Of the routes, a listener reads only whether one injects faults (the fault filter).
  inputs: ['services', 'routeFaults', 'sidecars'],
  generate(ctx: GenerateContext): EncodedResource[] {
    const scope = proxyScope(ctx.snapshot, ctx.proxy);
    const one = ({ name, host, port }: HostPortTarget) => {
      const fault = listenerNeedsFault(ctx.snapshot, host, port);
      return ctx.memo.get(name, fault ? 'fault' : 'plain', () => {
        // Envoy's protos require a stat_prefix (PGV min_len 1); gRPC clients ignore it.
        const hcm = { ...rdsConnectionManager(name), stat_prefix: name };
        return apiListener(name, withRouterFilter(fault ? withFaultFilter(hcm) : hcm));
      });
    };
    if (ctx.names) {
      return namedPerScope(scope, 'grpc-lds', ctx.names, (name) => {
        const target = hostPortTarget(ctx.snapshot, name, scope.visible);
        return target && one(target);
      });
    }
    return hostPortTargets(ctx.snapshot, undefined, scope.visible).flatMap((t) => one(t) ?? []);
  },
  // The host's service (ports, visibility) and its route table's faults (the fault filter).
  dependencies(_snapshot, name) {
    const host = parseHostPort(name)?.host;
    const hosts = host ? [host] : [];
    return { services: hosts, routeFaults: hosts };
  },
};

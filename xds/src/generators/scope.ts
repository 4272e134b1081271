import { sidecarAllows, sidecarScopeFor, type MeshSnapshot, type SidecarScope } from '@isthmus/core';
import type { XdsProxy } from '../proxy.js';

/**
 * What one proxy may see of a snapshot: the `Sidecar` that applies to it (egress hosts)
 * and the services' `exportTo`. Both data planes' generators filter through it, so a
 * service a proxy cannot see gets no listener, route, cluster or endpoints there.
 */
export interface ProxyScope {
  readonly sidecar: SidecarScope | undefined;
  /**
   * Everything visibility depends on besides the services themselves (their namespace and
   * exportTo, which are part of the `services` input): the Sidecar's version and the
   * proxy's namespace. Part of the cache key of any resource whose content depends on it.
   */
  readonly key: string;
  /** Whether the proxy sees `host` on `port` (false for an unknown host or port). */
  visible(host: string, port: number): boolean;
}

const scopes = new WeakMap<MeshSnapshot, Map<string, ProxyScope>>();

/** The proxy's scope in `snapshot`; proxies with the same namespace and labels share one. */
export function proxyScope(snapshot: MeshSnapshot, proxy: Pick<XdsProxy, 'namespace' | 'labels'>): ProxyScope {
  let bySubject = scopes.get(snapshot);
  if (!bySubject) {
    bySubject = new Map();
    scopes.set(snapshot, bySubject);
  }
  const labels = Object.entries(proxy.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const subjectKey = `${proxy.namespace}\0${JSON.stringify(labels)}`;
  const hit = bySubject.get(subjectKey);
  if (hit) return hit;
  const sidecar = snapshot.sidecars.size > 0 ? sidecarScopeFor(snapshot.sidecars, proxy) : undefined;
  const memo = new Map<string, boolean>();
  const scope: ProxyScope = {
    sidecar,
    key: `${sidecar?.version ?? '-'}|${proxy.namespace}`,
    visible(host, port) {
      const k = `${host}:${port}`;
      let v = memo.get(k);
      if (v === undefined) {
        const service = snapshot.services.get(host)?.service;
        v = !!service && service.ports.some((p) => p.number === port) && sidecarAllows(sidecar, proxy.namespace, service, port);
        memo.set(k, v);
      }
      return v;
    },
  };
  bySubject.set(subjectKey, scope);
  return scope;
}

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
  /**
   * Values derived from this snapshot for proxies of this namespace and labels (e.g. cache
   * keys that read only those): computed for the first such proxy, shared by the others.
   */
  memo<T>(key: string, compute: () => T): T;
}

/**
 * The named resources of a subscription, each produced once per scope: `one(name)` must
 * depend only on the snapshot, the scope (namespace, labels, visibility) and what `kind`
 * names (the generator and, where it matters, the client profile). In a push every
 * subscriber of a changed name asks for it; proxies alike share the work and the answer.
 */
export function namedPerScope<T>(scope: ProxyScope, kind: string, names: ReadonlySet<string>, one: (name: string) => T | undefined): T[] {
  const made = scope.memo(kind, newNameMap) as Map<string, T | null>;
  const out: T[] = [];
  for (const name of names) {
    let res = made.get(name);
    if (res === undefined) made.set(name, (res = one(name) ?? null));
    if (res !== null) out.push(res);
  }
  return out;
}

const newNameMap = (): Map<string, unknown> => new Map();

const scopes = new WeakMap<MeshSnapshot, Map<string, ProxyScope>>();
/**
 * Per proxy object, its scope in the latest snapshot asked for (a push asks for every
 * stream). Replaced whole when another snapshot is asked for: a per-proxy record of the
 * last snapshot it was pushed would keep that snapshot alive, and with thousands of
 * proxies of which a change reaches a few, thousands of old snapshots (each with its
 * copies of the registry maps) lived on into the old generation.
 */
let latest: { readonly snapshot: MeshSnapshot; readonly byProxy: WeakMap<object, ProxyScope> } | undefined;
/** A proxy's namespace and labels do not change (they come with its node): its subject key is kept. */
const subjects = new WeakMap<object, string>();

/** The proxy's scope in `snapshot`; proxies with the same namespace and labels share one. */
export function proxyScope(snapshot: MeshSnapshot, proxy: Pick<XdsProxy, 'namespace' | 'labels'>): ProxyScope {
  if (latest?.snapshot !== snapshot) latest = { snapshot, byProxy: new WeakMap() };
  let scope = latest.byProxy.get(proxy);
  if (!scope) {
    let subject = subjects.get(proxy);
    if (subject === undefined) subjects.set(proxy, (subject = subjectKey(proxy)));
    scope = scopeOf(snapshot, proxy, subject);
    latest.byProxy.set(proxy, scope);
  }
  return scope;
}

function subjectKey(proxy: Pick<XdsProxy, 'namespace' | 'labels'>): string {
  const labels = Object.entries(proxy.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${proxy.namespace}\0${JSON.stringify(labels)}`;
}

function scopeOf(snapshot: MeshSnapshot, proxy: Pick<XdsProxy, 'namespace' | 'labels'>, subject: string): ProxyScope {
  let bySubject = scopes.get(snapshot);
  if (!bySubject) {
    bySubject = new Map();
    scopes.set(snapshot, bySubject);
  }
  const hit = bySubject.get(subject);
  if (hit) return hit;
  const sidecar = snapshot.sidecars.size > 0 ? sidecarScopeFor(snapshot.sidecars, proxy) : undefined;
  const memo = new Map<string, boolean>();
  const derived = new Map<string, unknown>();
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
    memo<T>(key: string, compute: () => T): T {
      if (derived.has(key)) return derived.get(key) as T;
      const value = compute();
      derived.set(key, value);
      return value;
    },
  };
  bySubject.set(subject, scope);
  return scope;
}

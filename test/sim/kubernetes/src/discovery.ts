import { VERBS, apiVersionOf, type ResourceRegistry } from './resources.js';

/**
 * The discovery documents (`/version`, `/api`, `/apis`, `/apis/{group}`, and each group
 * version's APIResourceList) that kubectl-like clients read before anything else.
 */

export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: '31',
    gitVersion: 'v1.31.0-isthmus-sim',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.22.5',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(serverAddress: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function group(name: string, versions: string[]) {
  const gvs = versions.map((v) => ({ groupVersion: apiVersionOf(name, v), version: v }));
  return { name, versions: gvs, preferredVersion: gvs[0]! };
}

/** `/apis`: every named group (the core group is served at `/api`). */
export function groupList(registry: ResourceRegistry): unknown {
  const groups = registry
    .groups()
    .filter((g) => g.name !== '')
    .map((g) => group(g.name, g.versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(registry: ResourceRegistry, name: string): unknown | undefined {
  const g = registry.groups().find((x) => x.name === name && name !== '');
  return g && { kind: 'APIGroup', apiVersion: 'v1', ...group(g.name, g.versions) };
}

/** `/api/v1`, `/apis/{group}/{version}`: the resources, with their `status` subresources. */
export function resourceList(registry: ResourceRegistry, groupName: string, version: string): unknown | undefined {
  const types = registry.inGroupVersion(groupName, version);
  if (types.length === 0) return undefined;
  const resources = types.flatMap((t) => {
    const main = {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: [...VERBS],
      ...(t.shortNames && t.shortNames.length > 0 ? { shortNames: [...t.shortNames] } : {}),
      storageVersionHash: '',
    };
    const status = { name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] };
    return t.statusSubresource ? [main, status] : [main];
  });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(groupName, version), resources };
}

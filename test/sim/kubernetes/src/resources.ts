/**
 * The resource table: which group/version/plural the server serves, with kind, scope and
 * the few per-type behaviours the REST layer needs. Tests extend it with
 * `registerResource`, as installing a CRD would.
 */

export interface ResourceSpec {
  /** '' for the core group (`/api/v1`). */
  readonly group: string;
  /** Every version the group serves this kind at; the first is the preferred (storage) one. */
  readonly versions: readonly string[];
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** Default: the kind in lower case. */
  readonly singular?: string;
  readonly shortNames?: readonly string[];
  /** Serve `/status`, and keep `.status` out of main-resource writes. Default true (most CRDs enable it). */
  readonly statusSubresource?: boolean;
  /** Field selectors it accepts besides metadata.name and metadata.namespace (apiserver refuses the rest). */
  readonly selectableFields?: readonly string[];
}

export interface ResourceType extends ResourceSpec {
  readonly singular: string;
  readonly statusSubresource: boolean;
  readonly selectableFields: readonly string[];
  /** Built into apiserver (not a CRD): decides whether strategic-merge patches are accepted. */
  readonly builtin: boolean;
  /** `group/plural`, the store's key for this type (one object per group, kind, namespace, name). */
  readonly key: string;
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

/** `v1` → ['', 'v1']; `discovery.k8s.io/v1` → ['discovery.k8s.io', 'v1']. */
export function splitApiVersion(apiVersion: string): [group: string, version: string] {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? ['', apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
}

export const apiVersionOf = (group: string, version: string) => (group ? `${group}/${version}` : version);

export class ResourceRegistry {
  private readonly types = new Map<string, ResourceType>();

  register(spec: ResourceSpec, builtin = false): ResourceType {
    if (spec.versions.length === 0) throw new Error(`${spec.kind}: at least one version is needed`);
    const type: ResourceType = {
      ...spec,
      versions: [...spec.versions],
      singular: spec.singular ?? spec.kind.toLowerCase(),
      statusSubresource: spec.statusSubresource ?? true,
      selectableFields: spec.selectableFields ?? [],
      builtin,
      key: `${spec.group}/${spec.plural}`,
    };
    this.types.set(type.key, type);
    return type;
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  /** The type served at `/apis/{group}/{version}/{plural}`, if that version serves it. */
  byPath(group: string, version: string, plural: string): ResourceType | undefined {
    const t = this.types.get(`${group}/${plural}`);
    return t && t.versions.includes(version) ? t : undefined;
  }

  /** The type of an object, from its apiVersion and kind; throws when nothing serves it. */
  byKind(apiVersion: string, kind: string): ResourceType {
    const [group, version] = splitApiVersion(apiVersion);
    for (const t of this.types.values()) if (t.group === group && t.kind === kind && t.versions.includes(version)) return t;
    throw new Error(`no resource registered for ${kind} in ${apiVersion} (registerResource it first)`);
  }

  /** Groups and their versions, in registration order (core group first). */
  groups(): { name: string; versions: string[] }[] {
    const out = new Map<string, string[]>();
    for (const t of this.types.values()) {
      const versions = out.get(t.group) ?? [];
      for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
      out.set(t.group, versions);
    }
    return [...out].map(([name, versions]) => ({ name, versions }));
  }

  /** The types a group version serves (its APIResourceList). */
  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((t) => t.group === group && t.versions.includes(version));
  }
}

const ISTIO_NETWORKING = ['v1', 'v1beta1', 'v1alpha3'];
const ISTIO_SECURITY = ['v1', 'v1beta1'];

/** What a cluster with Istio's CRDs installed serves (the subset a mesh control plane reads). */
export const DEFAULT_RESOURCES: readonly (ResourceSpec & { builtin: boolean })[] = [
  { builtin: true, group: '', versions: ['v1'], kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], selectableFields: ['status.phase'] },
  { builtin: true, group: '', versions: ['v1'], kind: 'Node', plural: 'nodes', namespaced: false, shortNames: ['no'], selectableFields: ['spec.unschedulable'] },
  { builtin: true, group: '', versions: ['v1'], kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'] },
  {
    builtin: true,
    group: '',
    versions: ['v1'],
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    selectableFields: ['spec.nodeName', 'spec.serviceAccountName', 'spec.restartPolicy', 'spec.schedulerName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  },
  { builtin: true, group: '', versions: ['v1'], kind: 'Endpoints', plural: 'endpoints', namespaced: true, shortNames: ['ep'], statusSubresource: false },
  { builtin: true, group: 'discovery.k8s.io', versions: ['v1'], kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true, statusSubresource: false },
  ...(
    [
      ['VirtualService', 'virtualservices', ['vs']],
      ['DestinationRule', 'destinationrules', ['dr']],
      ['Gateway', 'gateways', ['gw']],
      ['ServiceEntry', 'serviceentries', ['se']],
      ['Sidecar', 'sidecars', []],
      ['WorkloadEntry', 'workloadentries', ['we']],
      ['WorkloadGroup', 'workloadgroups', ['wg']],
    ] as const
  ).map(([kind, plural, shortNames]) => ({ builtin: false, group: 'networking.istio.io', versions: ISTIO_NETWORKING, kind, plural, namespaced: true, shortNames })),
  ...(
    [
      ['AuthorizationPolicy', 'authorizationpolicies', ['ap']],
      ['PeerAuthentication', 'peerauthentications', ['pa']],
      ['RequestAuthentication', 'requestauthentications', ['ra']],
    ] as const
  ).map(([kind, plural, shortNames]) => ({ builtin: false, group: 'security.istio.io', versions: ISTIO_SECURITY, kind, plural, namespaced: true, shortNames })),
];

import { DestinationRule as DestinationRuleV1 } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { ServiceEntry as ServiceEntryV1 } from '@kubernetes-models/istio/networking.istio.io/v1/ServiceEntry';
import { Sidecar as SidecarV1 } from '@kubernetes-models/istio/networking.istio.io/v1/Sidecar';
import { VirtualService as VirtualServiceV1 } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { WorkloadEntry as WorkloadEntryV1 } from '@kubernetes-models/istio/networking.istio.io/v1/WorkloadEntry';
import { DestinationRule as DestinationRuleV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule';
import { ServiceEntry as ServiceEntryV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/ServiceEntry';
import { Sidecar as SidecarV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/Sidecar';
import { VirtualService as VirtualServiceV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import { WorkloadEntry as WorkloadEntryV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/WorkloadEntry';
import { DestinationRule as DestinationRuleV1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/DestinationRule';
import { ServiceEntry as ServiceEntryV1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/ServiceEntry';
import { Sidecar as SidecarV1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/Sidecar';
import { VirtualService as VirtualServiceV1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/VirtualService';
import { WorkloadEntry as WorkloadEntryV1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/WorkloadEntry';
import { AuthorizationPolicy as AuthorizationPolicyV1 } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import { PeerAuthentication as PeerAuthenticationV1 } from '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication';
import { RequestAuthentication as RequestAuthenticationV1 } from '@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication';
import { AuthorizationPolicy as AuthorizationPolicyV1beta1 } from '@kubernetes-models/istio/security.istio.io/v1beta1/AuthorizationPolicy';
import { PeerAuthentication as PeerAuthenticationV1beta1 } from '@kubernetes-models/istio/security.istio.io/v1beta1/PeerAuthentication';
import { RequestAuthentication as RequestAuthenticationV1beta1 } from '@kubernetes-models/istio/security.istio.io/v1beta1/RequestAuthentication';
import type { ConfigObject } from './object.js';
import { closest, type FieldIssue } from './paths.js';
import { validateWithModel, type SchemaModel } from './schema.js';
import { checkDestinationRule, checkServiceEntry, checkVirtualService, checkWorkloadEntry } from './semantics.js';
import { checkSidecar } from '../rules/sidecar.js';
import {
  checkDestinationPolicy,
  checkRouteRule,
  validateDestinationPolicyStructure,
  validateRouteRuleStructure,
} from './legacy.js';

/**
 * What Isthmus does with objects of a kind:
 * - `enforced`: validated, compiled and pushed to proxies;
 * - `stored`: validated against the schema and kept (visible to tools, synced over the
 *   bus), not applied yet — validation says so with a warning;
 * - `converted`: a legacy kind, validated by its own schema and converted to enforced kinds.
 */
export type KindSupport = 'enforced' | 'stored' | 'converted';

/**
 * One config kind, described once (STYLE.md): the store, validation, the CLI and bus sync
 * all read this table rather than knowing kinds themselves.
 */
export interface KindDescriptor {
  readonly group: string;
  /** Accepted versions, preferred first. */
  readonly versions: readonly string[];
  readonly kind: string;
  /** CLI resource names: singular (lowercase kind), plural, then short names. */
  readonly singular: string;
  readonly plural: string;
  readonly shortNames: readonly string[];
  readonly namespaced: boolean;
  readonly support: KindSupport;
  /** Schema (structural) validation of one object whose apiVersion this kind accepts. */
  readonly validateStructure: (object: ConfigObject) => FieldIssue[];
  /** Checks of one object beyond its schema (cross-object checks live in validate.ts). */
  readonly validateSemantics?: (object: ConfigObject) => FieldIssue[];
}

function versioned(models: Readonly<Record<string, SchemaModel>>): (o: ConfigObject) => FieldIssue[] {
  return (o) => {
    const version = o.apiVersion.slice(o.apiVersion.indexOf('/') + 1);
    const model = models[version];
    if (!model) return [{ severity: 'error', path: 'apiVersion', message: `no schema for ${o.apiVersion}` }];
    return validateWithModel(model, o);
  };
}

const NETWORKING = 'networking.istio.io';
const NETWORKING_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;
const SECURITY = 'security.istio.io';
const SECURITY_VERSIONS = ['v1', 'v1beta1'] as const;

export const CONFIG_KINDS: readonly KindDescriptor[] = [
  {
    group: NETWORKING,
    versions: NETWORKING_VERSIONS,
    kind: 'VirtualService',
    singular: 'virtualservice',
    plural: 'virtualservices',
    shortNames: ['vs'],
    namespaced: true,
    support: 'enforced',
    validateStructure: versioned({ v1: VirtualServiceV1, v1beta1: VirtualServiceV1beta1, v1alpha3: VirtualServiceV1alpha3 }),
    validateSemantics: checkVirtualService,
  },
  {
    group: NETWORKING,
    versions: NETWORKING_VERSIONS,
    kind: 'DestinationRule',
    singular: 'destinationrule',
    plural: 'destinationrules',
    shortNames: ['dr'],
    namespaced: true,
    support: 'enforced',
    validateStructure: versioned({ v1: DestinationRuleV1, v1beta1: DestinationRuleV1beta1, v1alpha3: DestinationRuleV1alpha3 }),
    validateSemantics: checkDestinationRule,
  },
  {
    group: NETWORKING,
    versions: NETWORKING_VERSIONS,
    kind: 'ServiceEntry',
    singular: 'serviceentry',
    plural: 'serviceentries',
    shortNames: ['se'],
    namespaced: true,
    support: 'enforced',
    validateStructure: versioned({ v1: ServiceEntryV1, v1beta1: ServiceEntryV1beta1, v1alpha3: ServiceEntryV1alpha3 }),
    validateSemantics: checkServiceEntry,
  },
  {
    group: NETWORKING,
    versions: NETWORKING_VERSIONS,
    kind: 'WorkloadEntry',
    singular: 'workloadentry',
    plural: 'workloadentries',
    shortNames: ['we'],
    namespaced: true,
    support: 'enforced',
    validateStructure: versioned({ v1: WorkloadEntryV1, v1beta1: WorkloadEntryV1beta1, v1alpha3: WorkloadEntryV1alpha3 }),
    validateSemantics: checkWorkloadEntry,
  },
  {
    group: NETWORKING,
    versions: NETWORKING_VERSIONS,
    kind: 'Sidecar',
    singular: 'sidecar',
    plural: 'sidecars',
    shortNames: [],
    namespaced: true,
    support: 'enforced',
    validateStructure: versioned({ v1: SidecarV1, v1beta1: SidecarV1beta1, v1alpha3: SidecarV1alpha3 }),
    validateSemantics: checkSidecar,
  },
  {
    group: SECURITY,
    versions: SECURITY_VERSIONS,
    kind: 'PeerAuthentication',
    singular: 'peerauthentication',
    plural: 'peerauthentications',
    shortNames: ['pa'],
    namespaced: true,
    support: 'stored',
    validateStructure: versioned({ v1: PeerAuthenticationV1, v1beta1: PeerAuthenticationV1beta1 }),
  },
  {
    group: SECURITY,
    versions: SECURITY_VERSIONS,
    kind: 'AuthorizationPolicy',
    singular: 'authorizationpolicy',
    plural: 'authorizationpolicies',
    shortNames: ['ap'],
    namespaced: true,
    support: 'stored',
    validateStructure: versioned({ v1: AuthorizationPolicyV1, v1beta1: AuthorizationPolicyV1beta1 }),
  },
  {
    group: SECURITY,
    versions: SECURITY_VERSIONS,
    kind: 'RequestAuthentication',
    singular: 'requestauthentication',
    plural: 'requestauthentications',
    shortNames: ['ra'],
    namespaced: true,
    support: 'stored',
    validateStructure: versioned({ v1: RequestAuthenticationV1, v1beta1: RequestAuthenticationV1beta1 }),
  },
  {
    group: 'config.istio.io',
    versions: ['v1alpha2'],
    kind: 'RouteRule',
    singular: 'routerule',
    plural: 'routerules',
    shortNames: [],
    namespaced: true,
    support: 'converted',
    validateStructure: validateRouteRuleStructure,
    validateSemantics: checkRouteRule,
  },
  {
    group: 'config.istio.io',
    versions: ['v1alpha2'],
    kind: 'DestinationPolicy',
    singular: 'destinationpolicy',
    plural: 'destinationpolicies',
    shortNames: [],
    namespaced: true,
    support: 'converted',
    validateStructure: validateDestinationPolicyStructure,
    validateSemantics: checkDestinationPolicy,
  },
];

/** `networking.istio.io/v1`, ... for a descriptor, preferred first. */
export function apiVersionsOf(d: KindDescriptor): string[] {
  return d.versions.map((v) => `${d.group}/${v}`);
}

/** All names the CLI accepts for a kind: `virtualservice`, `virtualservices`, `vs`, `VirtualService`. */
export function cliNamesOf(d: KindDescriptor): string[] {
  return [d.singular, d.plural, ...d.shortNames, d.kind];
}

const BY_KIND = new Map(CONFIG_KINDS.map((d) => [d.kind, d]));

/** The descriptor for a CLI resource name (case-insensitive; `vs`, `virtualservices`, ...). */
export function findKindByName(name: string): KindDescriptor | undefined {
  const n = name.toLowerCase();
  return CONFIG_KINDS.find((d) => cliNamesOf(d).some((c) => c.toLowerCase() === n) || `${d.plural}.${d.group}` === n);
}

/**
 * The descriptor for an object's apiVersion and kind, or the problem: an unknown kind is
 * reported on `kind` with the supported kinds listed; a known kind in an unsupported
 * apiVersion on `apiVersion` with the accepted versions listed.
 */
export function resolveKind(
  apiVersion: string,
  kind: string,
): { readonly descriptor: KindDescriptor } | { readonly issue: FieldIssue } {
  const d = BY_KIND.get(kind);
  if (!d) {
    const names = CONFIG_KINDS.map((k) => k.kind).sort();
    const guess = closest(kind, names);
    return {
      issue: {
        severity: 'error',
        path: 'kind',
        message: `unknown kind ${JSON.stringify(kind)}${guess ? ` (did you mean ${guess}?)` : ''}; supported kinds: ${names.join(', ')}`,
      },
    };
  }
  const accepted = apiVersionsOf(d);
  if (!accepted.includes(apiVersion)) {
    return {
      issue: {
        severity: 'error',
        path: 'apiVersion',
        message: `unsupported apiVersion ${JSON.stringify(apiVersion)} for ${kind}; supported: ${accepted.join(', ')}`,
      },
    };
  }
  return { descriptor: d };
}

/*
 * The few Kubernetes object shapes the adapter reads, as they arrive on the wire (JSON:
 * timestamps are strings). client-node's generated `V1*` classes are not used: its list
 * calls turn timestamps into Dates while watch events stay raw JSON, and one shape for
 * both is simpler and cheaper. Only the fields read here are declared.
 */

export interface KubeMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: KubeMeta;
  readonly [field: string]: unknown;
}

export interface KubeServicePort {
  readonly name?: string;
  readonly protocol?: string;
  readonly appProtocol?: string;
  readonly port: number;
  readonly targetPort?: number | string;
}

export interface KubeService extends KubeObject {
  readonly spec?: {
    readonly type?: string;
    readonly clusterIP?: string;
    readonly ports?: readonly KubeServicePort[] | null;
    readonly externalName?: string;
  };
}

export interface KubeEndpointConditions {
  readonly ready?: boolean | null;
  readonly serving?: boolean | null;
  readonly terminating?: boolean | null;
}

export interface KubeEndpoint {
  readonly addresses: readonly string[];
  readonly conditions?: KubeEndpointConditions;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly targetRef?: { readonly kind?: string; readonly name?: string; readonly namespace?: string };
}

export interface KubeEndpointPort {
  readonly name?: string | null;
  readonly port?: number | null;
  readonly protocol?: string;
  readonly appProtocol?: string;
}

export interface KubeEndpointSlice extends KubeObject {
  readonly addressType?: string;
  readonly ports?: readonly KubeEndpointPort[] | null;
  readonly endpoints?: readonly KubeEndpoint[] | null;
}

export interface KubePod extends KubeObject {
  readonly spec?: { readonly serviceAccountName?: string; readonly nodeName?: string };
}

/** Nodes and Namespaces are read for their labels only. */
export type KubeLabelled = KubeObject;

/** `metav1.Status`: the body of every API error, and of ERROR watch events. */
export interface KubeStatus {
  readonly kind?: string;
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
  readonly details?: { readonly retryAfterSeconds?: number };
}

/** The label an EndpointSlice names its Service with. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** `<ns>/<name>` for namespaced objects, `<name>` for cluster-scoped ones. */
export function keyOf(o: KubeObject): string {
  const { namespace, name } = o.metadata;
  return namespace ? `${namespace}/${name ?? ''}` : (name ?? '');
}

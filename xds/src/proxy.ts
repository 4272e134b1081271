import { structToJson, type Json, type StructObject } from './protos/struct.js';

/** `envoy.config.core.v3.Node` as protobufjs decodes it (keepCase; Struct in camelCase). */
export interface NodeObject {
  id?: string;
  cluster?: string;
  metadata?: StructObject;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
  client_features?: string[];
}

/**
 * A connected data plane as the bootstrap describes it. Shaped like core's `ProxyInfo`
 * (id, generator, namespace, labels, metadata) so contributors can take it as is.
 */
export interface XdsProxy {
  readonly id: string;
  readonly cluster: string;
  /** Node metadata GENERATOR (`grpc` = proxyless gRPC); `sidecar` when absent (Envoy). */
  readonly generator: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, Json>>;
  readonly locality: { readonly region?: string; readonly zone?: string; readonly sub_zone?: string };
  /** e.g. `gRPC Node Pure JS 1.14.1`. */
  readonly userAgent: string;
  readonly clientFeatures: readonly string[];
}

export const SIDECAR_GENERATOR = 'sidecar';

export function proxyFromNode(node: NodeObject | null | undefined): XdsProxy {
  const metadata = structToJson(node?.metadata);
  const str = (v: Json | undefined) => (typeof v === 'string' ? v : undefined);
  const labels: Record<string, string> = {};
  const rawLabels = metadata.LABELS;
  if (rawLabels && typeof rawLabels === 'object' && !Array.isArray(rawLabels)) {
    for (const [k, v] of Object.entries(rawLabels)) labels[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return {
    id: node?.id ?? '',
    cluster: node?.cluster ?? '',
    generator: str(metadata.GENERATOR) || SIDECAR_GENERATOR,
    namespace: str(metadata.NAMESPACE) ?? '',
    labels,
    metadata,
    locality: { ...node?.locality },
    userAgent: [node?.user_agent_name, node?.user_agent_version].filter(Boolean).join(' '),
    clientFeatures: node?.client_features ?? [],
  };
}

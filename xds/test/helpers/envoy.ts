import { proxyFromNode, type XdsProxy } from '../../src/proxy.js';
import { jsonToStruct } from '../../src/protos/struct.js';

/** Envoy's node.user_agent_name / user_agent_version. */
export const ENVOY_AGENT = { name: 'envoy', version: '1.31.0' };

/** An Envoy sidecar node as the server sees it (no GENERATOR): Istio-style id when `ip` is given. */
export function anEnvoyProxy(
  opts: {
    id?: string;
    namespace?: string;
    labels?: Record<string, string>;
    ip?: string;
    interception?: 'REDIRECT' | 'NONE';
    workloadName?: string;
    locality?: { region?: string; zone?: string; sub_zone?: string };
  } = {},
): XdsProxy {
  const ns = opts.namespace ?? 'default';
  const metadata: Record<string, unknown> = { NAMESPACE: ns };
  if (opts.labels) metadata.LABELS = opts.labels;
  if (opts.interception) metadata.INTERCEPTION_MODE = opts.interception;
  if (opts.workloadName) metadata.WORKLOAD_NAME = opts.workloadName;
  const id = opts.id ?? (opts.ip ? `sidecar~${opts.ip}~app.${ns}~${ns}.svc.cluster.local` : 'envoy-1');
  return proxyFromNode({
    id,
    metadata: jsonToStruct(metadata),
    user_agent_name: ENVOY_AGENT.name,
    user_agent_version: ENVOY_AGENT.version,
    ...(opts.locality ? { locality: opts.locality } : {}),
  });
}

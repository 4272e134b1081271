export interface BootstrapOptions {
  readonly nodeId: string;
  /** `host:port` of the xDS server (one address: grpc-js uses only the first server). */
  readonly serverUri: string;
  /** `grpc` for a proxyless gRPC client; omitted for an Envoy sidecar. */
  readonly generator?: 'grpc';
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly clusterId?: string;
  readonly workloadName?: string;
  /** Envoy: use delta (incremental) ADS (`DELTA_GRPC`) instead of state of the world. */
  readonly delta?: boolean;
  /** Envoy: the workload's IPs (metadata INSTANCE_IPS): how Isthmus finds the sidecar's own workload. */
  readonly instanceIps?: readonly string[];
  /** Envoy: `REDIRECT` (iptables, the default) or `NONE` (listeners bind for real; metadata INTERCEPTION_MODE). */
  readonly interceptionMode?: 'REDIRECT' | 'NONE';
  /** Envoy: the admin interface's port on 127.0.0.1 (default 15000). */
  readonly adminPort?: number;
}

/** Envoy's admin port in Istio (`127.0.0.1:15000`). */
export const ENVOY_ADMIN_PORT = 15000;

/** Name of the static cluster an Envoy bootstrap reaches the xDS server through. */
export const XDS_CLUSTER_NAME = 'xds-grpc';

/**
 * A bootstrap for one data plane.
 *
 * Proxyless gRPC (`generator: 'grpc'`): the gRPC bootstrap format (`xds_servers`, `node`),
 * accepted by grpc-js-xds and C-core. It always has `node.id` and `node.locality` (grpc-js
 * fails every RPC without them), `insecure` channel creds, and the server features
 * `xds_v3` and `ignore_resource_deletion` (clients keep cached resources when one goes
 * missing instead of failing).
 *
 * Envoy (no generator): Envoy's Bootstrap — `admin` on 127.0.0.1:15000, the node (id,
 * metadata NAMESPACE, LABELS, INSTANCE_IPS, INTERCEPTION_MODE, ...), `dynamic_resources`
 * with LDS and CDS over ADS (`GRPC`, or `DELTA_GRPC` for delta xDS), and the static
 * `xds-grpc` cluster speaking HTTP/2 to the control plane. Envoy rejects unknown bootstrap
 * fields, so it has no `xds_servers`.
 */
export function buildBootstrap(options: BootstrapOptions): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  if (options.generator) metadata.GENERATOR = options.generator;
  if (options.namespace) metadata.NAMESPACE = options.namespace;
  if (options.labels && Object.keys(options.labels).length > 0) metadata.LABELS = { ...options.labels };
  if (options.clusterId) metadata.CLUSTER_ID = options.clusterId;
  if (options.workloadName) metadata.WORKLOAD_NAME = options.workloadName;
  if (options.generator !== 'grpc') {
    if (options.instanceIps && options.instanceIps.length > 0) metadata.INSTANCE_IPS = options.instanceIps.join(',');
    if (options.interceptionMode) metadata.INTERCEPTION_MODE = options.interceptionMode;
  }
  const node = { id: options.nodeId, locality: {}, metadata };
  if (options.generator === 'grpc') {
    return {
      xds_servers: [
        {
          server_uri: options.serverUri,
          channel_creds: [{ type: 'insecure' }],
          server_features: ['xds_v3', 'ignore_resource_deletion'],
        },
      ],
      node,
      // For xDS-enabled gRPC servers (later): the Listener they ask for.
      server_listener_resource_name_template: 'grpc/server?xds.resource.listening_address=%s',
    };
  }
  const { host, port } = splitHostPort(options.serverUri);
  return {
    node,
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: options.adminPort ?? ENVOY_ADMIN_PORT } } },
    dynamic_resources: {
      ads_config: {
        api_type: options.delta ? 'DELTA_GRPC' : 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER_NAME } }],
        set_node_on_first_message_only: true,
      },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      lds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        {
          name: XDS_CLUSTER_NAME,
          type: isIpLiteral(host) ? 'STATIC' : 'STRICT_DNS',
          connect_timeout: '1s',
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          load_assignment: {
            cluster_name: XDS_CLUSTER_NAME,
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }],
          },
        },
      ],
    },
  };
}

function splitHostPort(uri: string): { host: string; port: number } {
  const bare = uri.replace(/^[a-z]+:\/\/\/?/i, '');
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(bare) ?? /^([^:]+):(\d+)$/.exec(bare);
  if (!m) throw new Error(`serverUri must be host:port, got ${JSON.stringify(uri)}`);
  return { host: m[1] ?? '', port: Number(m[2]) };
}

function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

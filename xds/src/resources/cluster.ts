import { obj, validation, type ResourceType } from './resource-type.js';
import { CLUSTER_TYPE_URL } from './type-urls.js';

const GRPC_LB_POLICIES = new Set([undefined, 'ROUND_ROBIN', 'RING_HASH']);

/** Cluster (CDS). gRPC clients take EDS clusters fed over ADS only. */
export const clusterType: ResourceType = {
  typeUrl: CLUSTER_TYPE_URL,
  shortName: 'CDS',
  messageType: 'envoy.config.cluster.v3.Cluster',
  allResourcesRequiredInSotW: true,
  sotwPushChangedOnly: false,
  validate(resource, client) {
    const errors: string[] = [];
    if (!resource.name) errors.push('name: empty');
    if (client === 'grpc') {
      if (resource.type !== 'EDS') errors.push(`type: ${String(resource.type)} is not supported by gRPC clients (use EDS)`);
      const source = obj(obj(resource.eds_cluster_config)?.eds_config);
      if (!source || (!obj(source.ads) && !obj(source.self))) {
        errors.push('eds_cluster_config.eds_config: must be ads or self');
      }
      if (!GRPC_LB_POLICIES.has(resource.lb_policy as string | undefined)) {
        errors.push(`lb_policy: ${String(resource.lb_policy)} is not supported by gRPC clients`);
      }
    }
    return validation(resource, errors);
  },
};

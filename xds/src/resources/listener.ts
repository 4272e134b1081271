import { arr, obj, validation, type JsonObject, type ResourceType } from './resource-type.js';
import { HCM_TYPE_URL, LISTENER_TYPE_URL, ROUTER_TYPE_URL } from './type-urls.js';

const RBAC_TYPE_SUFFIX = 'envoy.extensions.filters.http.rbac.v3.RBAC';

/** Listener (LDS). For proxyless gRPC: an API listener holding an HttpConnectionManager. */
export const listenerType: ResourceType = {
  typeUrl: LISTENER_TYPE_URL,
  shortName: 'LDS',
  messageType: 'envoy.config.listener.v3.Listener',
  allResourcesRequiredInSotW: true,
  sotwPushChangedOnly: false,
  validate(resource, client) {
    const errors: string[] = [];
    if (!resource.name) errors.push('name: empty');
    if (client === 'grpc') {
      const hcm = obj(obj(resource.api_listener)?.api_listener);
      if (!hcm || hcm['@type'] !== HCM_TYPE_URL) {
        errors.push(`api_listener.api_listener: must be an ${HCM_TYPE_URL} (gRPC clients need an API listener)`);
      } else {
        errors.push(...validateClientHcm(hcm));
      }
    }
    return validation(resource, errors);
  },
};

function validateClientHcm(hcm: JsonObject): string[] {
  const errors: string[] = [];
  const prefix = 'api_listener.api_listener';
  const rds = obj(hcm.rds);
  if (rds) {
    const source = obj(rds.config_source);
    if (!source || (!obj(source.ads) && !obj(source.self))) {
      errors.push(`${prefix}.rds.config_source: must be ads or self`);
    }
    if (!rds.route_config_name) errors.push(`${prefix}.rds.route_config_name: empty`);
  } else if (!obj(hcm.route_config)) {
    errors.push(`${prefix}: neither rds nor route_config set`);
  }
  const filters = arr(hcm.http_filters).map(obj);
  if (filters.length === 0) errors.push(`${prefix}.http_filters: empty (C-core needs at least the router)`);
  filters.forEach((f, i) => {
    const typeUrl = obj(f?.typed_config)?.['@type'];
    if (typeof typeUrl !== 'string') {
      errors.push(`${prefix}.http_filters[${i}].typed_config: missing`);
      return;
    }
    if (typeUrl.endsWith(RBAC_TYPE_SUFFIX)) {
      errors.push(`${prefix}.http_filters[${i}]: RBAC is not supported on gRPC client listeners`);
    }
    const last = i === filters.length - 1;
    if ((typeUrl === ROUTER_TYPE_URL) !== last) {
      errors.push(`${prefix}.http_filters[${i}]: the router must be the last filter, and only there`);
    }
  });
  return errors;
}

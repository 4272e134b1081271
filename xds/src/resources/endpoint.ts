import { isIP } from 'node:net';
import { stableStringify } from '@isthmus/core';
import { arr, obj, validation, type ResourceType } from './resource-type.js';
import { ENDPOINT_TYPE_URL } from './type-urls.js';

/** ClusterLoadAssignment (EDS). */
export const endpointType: ResourceType = {
  typeUrl: ENDPOINT_TYPE_URL,
  shortName: 'EDS',
  messageType: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  allResourcesRequiredInSotW: false,
  sotwPushChangedOnly: true,
  validate(resource) {
    const errors: string[] = [];
    if (!resource.cluster_name) errors.push('cluster_name: empty');
    const seenLocalities = new Set<string>();
    const seenAddresses = new Set<string>();
    arr(resource.endpoints).forEach((e, i) => {
      const group = obj(e) ?? {};
      const prefix = `endpoints[${i}]`;
      const locality = obj(group.locality);
      if (!locality) errors.push(`${prefix}.locality: unset (both gRPC clients NACK it)`);
      const localityKey = `${stableStringify(locality ?? {})}/${Number(group.priority ?? 0)}`;
      if (seenLocalities.has(localityKey)) errors.push(`${prefix}.locality: duplicate`);
      seenLocalities.add(localityKey);
      if (!(Number(obj(group.load_balancing_weight)?.value ?? 0) > 0)) {
        errors.push(`${prefix}.load_balancing_weight: must be > 0 (clients drop the locality)`);
      }
      arr(group.lb_endpoints).forEach((lb, j) => {
        const socket = obj(obj(obj(obj(lb)?.endpoint)?.address)?.socket_address);
        const where = `${prefix}.lb_endpoints[${j}].endpoint.address.socket_address`;
        const address = String(socket?.address ?? '');
        const port = Number(socket?.port_value ?? 0);
        if (!isIP(address)) errors.push(`${where}.address: ${address} is not an IP literal`);
        if (!(port > 0 && port < 65536)) errors.push(`${where}.port_value: ${port} out of range`);
        const key = `${address}|${port}`;
        if (seenAddresses.has(key)) errors.push(`${where}: duplicate address ${address}:${port}`);
        seenAddresses.add(key);
      });
    });
    return validation(resource, errors);
  },
};

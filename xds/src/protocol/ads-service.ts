import type * as grpc from '@grpc/grpc-js';
import { messageType } from '../protos/root.js';
import type { NodeObject } from '../proxy.js';

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const ADS_SOTW_PATH = `/${ADS_SERVICE}/StreamAggregatedResources`;

/** DiscoveryRequest as decoded (keepCase; absent fields undefined). */
export interface DiscoveryRequestObject {
  version_info?: string;
  node?: NodeObject;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string };
}

export function decodeDiscoveryRequest(buf: Buffer): DiscoveryRequestObject {
  const type = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  return type.toObject(type.decode(buf), { longs: String, enums: String, arrays: true, defaults: false }) as DiscoveryRequestObject;
}

/**
 * The ADS SotW method with our own serializers: requests decode with protobufjs,
 * responses are already-encoded bytes (see encodeDiscoveryResponse).
 */
export function adsServiceDefinition(): grpc.ServiceDefinition {
  const requestType = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  const responseType = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  return {
    StreamAggregatedResources: {
      path: ADS_SOTW_PATH,
      requestStream: true,
      responseStream: true,
      originalName: 'streamAggregatedResources',
      requestSerialize: (req: object) => Buffer.from(requestType.encode(requestType.fromObject(req)).finish()),
      requestDeserialize: decodeDiscoveryRequest,
      responseSerialize: (res: Buffer) => res,
      responseDeserialize: (buf: Buffer) => responseType.decode(buf),
    },
  } as grpc.ServiceDefinition;
}

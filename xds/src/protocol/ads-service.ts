import type * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { messageType } from '../protos/root.js';
import type { NodeObject } from '../proxy.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../resources/type-urls.js';

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const ADS_SOTW_PATH = `/${ADS_SERVICE}/StreamAggregatedResources`;
export const ADS_DELTA_PATH = `/${ADS_SERVICE}/DeltaAggregatedResources`;

/** DiscoveryRequest as decoded (keepCase; absent fields undefined). */
export interface DiscoveryRequestObject {
  version_info?: string;
  node?: NodeObject;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string };
}

/** DeltaDiscoveryRequest as decoded (keepCase; absent fields undefined). */
export interface DeltaDiscoveryRequestObject {
  node?: NodeObject;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string };
}

const TO_OBJECT = { longs: String, enums: String, arrays: true, defaults: false } as const;

/** A decoded protobufjs message: plain fields, defaults ('' / [] / {} / null) where absent. */
type Decoded = Record<string, unknown> & { node?: object | null; error_detail?: object | null };

/**
 * Requests are decoded without a whole-message toObject: an ACK carries a few strings,
 * and copying every field of thousands of ACKs a second was garbage. The node (first
 * request only) and an error_detail (NACKs) are converted as before; empty strings and
 * arrays stand for absent fields, as the servers already treat them.
 */
function nested(m: Decoded): { node?: NodeObject; error_detail?: { code?: number; message?: string } } {
  return {
    ...(m.node ? { node: messageType('envoy.config.core.v3.Node').toObject(m.node as protobuf.Message, TO_OBJECT) as NodeObject } : {}),
    ...(m.error_detail ? { error_detail: messageType('google.rpc.Status').toObject(m.error_detail as protobuf.Message, TO_OBJECT) } : {}),
  };
}

export function decodeDiscoveryRequest(buf: Buffer): DiscoveryRequestObject {
  const m = messageType('envoy.service.discovery.v3.DiscoveryRequest').decode(buf) as unknown as Decoded;
  return {
    ...nested(m),
    version_info: m.version_info as string,
    resource_names: m.resource_names as string[],
    type_url: m.type_url as string,
    response_nonce: m.response_nonce as string,
  };
}

export function decodeDeltaDiscoveryRequest(buf: Buffer): DeltaDiscoveryRequestObject {
  const m = messageType('envoy.service.discovery.v3.DeltaDiscoveryRequest').decode(buf) as unknown as Decoded;
  return {
    ...nested(m),
    type_url: m.type_url as string,
    resource_names_subscribe: m.resource_names_subscribe as string[],
    resource_names_unsubscribe: m.resource_names_unsubscribe as string[],
    initial_resource_versions: m.initial_resource_versions as Record<string, string>,
    response_nonce: m.response_nonce as string,
  };
}

/** One xDS gRPC service: its SotW and delta streaming methods, and the type it is fixed to (none: ADS). */
export interface DiscoveryServiceSpec {
  readonly service: string;
  readonly sotw: string;
  readonly delta: string;
  readonly typeUrl?: string;
}

/** ADS and the single-type services Isthmus serves (the single-type Fetch* REST methods are not). */
export const DISCOVERY_SERVICES: readonly DiscoveryServiceSpec[] = [
  { service: ADS_SERVICE, sotw: 'StreamAggregatedResources', delta: 'DeltaAggregatedResources' },
  { service: 'envoy.service.cluster.v3.ClusterDiscoveryService', sotw: 'StreamClusters', delta: 'DeltaClusters', typeUrl: CLUSTER_TYPE_URL },
  { service: 'envoy.service.endpoint.v3.EndpointDiscoveryService', sotw: 'StreamEndpoints', delta: 'DeltaEndpoints', typeUrl: ENDPOINT_TYPE_URL },
  { service: 'envoy.service.listener.v3.ListenerDiscoveryService', sotw: 'StreamListeners', delta: 'DeltaListeners', typeUrl: LISTENER_TYPE_URL },
  { service: 'envoy.service.route.v3.RouteDiscoveryService', sotw: 'StreamRoutes', delta: 'DeltaRoutes', typeUrl: ROUTE_TYPE_URL },
];

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * The service's two streaming methods with our own serializers: requests decode with
 * protobufjs, responses are already-encoded bytes (see response.ts).
 */
export function discoveryServiceDefinition(spec: DiscoveryServiceSpec): grpc.ServiceDefinition {
  const requestType = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  const responseType = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  const deltaRequestType = messageType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  const deltaResponseType = messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  return {
    [spec.sotw]: {
      path: `/${spec.service}/${spec.sotw}`,
      requestStream: true,
      responseStream: true,
      originalName: lowerFirst(spec.sotw),
      requestSerialize: (req: object) => Buffer.from(requestType.encode(requestType.fromObject(req)).finish()),
      requestDeserialize: decodeDiscoveryRequest,
      responseSerialize: (res: Buffer) => res,
      responseDeserialize: (buf: Buffer) => responseType.decode(buf),
    },
    [spec.delta]: {
      path: `/${spec.service}/${spec.delta}`,
      requestStream: true,
      responseStream: true,
      originalName: lowerFirst(spec.delta),
      requestSerialize: (req: object) => Buffer.from(deltaRequestType.encode(deltaRequestType.fromObject(req)).finish()),
      requestDeserialize: decodeDeltaDiscoveryRequest,
      responseSerialize: (res: Buffer) => res,
      responseDeserialize: (buf: Buffer) => deltaResponseType.decode(buf),
    },
  } as grpc.ServiceDefinition;
}

/** The ADS service (SotW and delta). */
export function adsServiceDefinition(): grpc.ServiceDefinition {
  return discoveryServiceDefinition(DISCOVERY_SERVICES[0]!);
}

import { ADS_DELTA_PATH } from '../../src/protocol/ads-service.js';
import { XdsTestStream, type TestNode } from './xds-test-stream.js';

export interface DecodedDeltaResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  /** Resource wrappers: name, version, and the resource decoded from its Any (with `@type`). */
  resources: { name: string; version: string; resource: Record<string, any> }[];
  removed_resources: string[];
  control_plane?: { identifier?: string };
}

export interface DeltaRequest {
  typeUrl: string;
  subscribe?: string[];
  unsubscribe?: string[];
  initialVersions?: Record<string, string>;
  nonce?: string;
  errorDetail?: { code: number; message: string };
}

/**
 * A delta xDS client (grpc-js-xds speaks only SotW): sends DeltaDiscoveryRequests on
 * DeltaAggregatedResources (or a single-type Delta* method), queues
 * DeltaDiscoveryResponses, and keeps the client-side view of what it holds, as Envoy does.
 */
export class DeltaTestClient extends XdsTestStream<DecodedDeltaResponse> {
  /** type → name → version the client holds after applying responses. */
  readonly held = new Map<string, Map<string, string>>();

  constructor(port: number, node: TestNode = { id: 'delta-proxy', metadata: { NAMESPACE: 'default' } }, path = ADS_DELTA_PATH) {
    super(port, node, path, {
      request: 'envoy.service.discovery.v3.DeltaDiscoveryRequest',
      response: 'envoy.service.discovery.v3.DeltaDiscoveryResponse',
      defaults: true,
    });
  }

  send(r: DeltaRequest): void {
    const req: Record<string, unknown> = {
      type_url: r.typeUrl,
      resource_names_subscribe: r.subscribe ?? [],
      resource_names_unsubscribe: r.unsubscribe ?? [],
      initial_resource_versions: r.initialVersions ?? {},
      response_nonce: r.nonce ?? '',
    };
    if (r.errorDetail) req.error_detail = r.errorDetail;
    this.write(req);
  }

  /** (The server answers a subscription to a type it has never seen: the client holds nothing of it.) */
  protected barrierRequest(typeUrl: string, name: string): void {
    this.send({ typeUrl, subscribe: [name] });
  }

  /** Applies a response to `held` (as Envoy would after accepting it) and ACKs it. */
  ack(res: DecodedDeltaResponse): void {
    this.apply(res);
    this.send({ typeUrl: res.type_url, nonce: res.nonce });
  }

  apply(res: DecodedDeltaResponse): void {
    const held = this.held.get(res.type_url) ?? new Map<string, string>();
    for (const r of res.resources) held.set(r.name, r.version);
    for (const n of res.removed_resources) held.delete(n);
    this.held.set(res.type_url, held);
  }

  nack(res: DecodedDeltaResponse, message: string): void {
    this.send({ typeUrl: res.type_url, nonce: res.nonce, errorDetail: { code: 3, message } });
  }

  heldVersions(typeUrl: string): Record<string, string> {
    return Object.fromEntries([...(this.held.get(typeUrl) ?? new Map())].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}

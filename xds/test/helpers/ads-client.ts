import { ADS_SOTW_PATH } from '../../src/protocol/ads-service.js';
import { XdsTestStream, type TestNode } from './xds-test-stream.js';

export interface DecodedResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  /** Resources decoded from their Any, with `@type`. */
  resources: Record<string, any>[];
  control_plane?: { identifier?: string };
}

export interface Request {
  typeUrl: string;
  names?: string[];
  versionInfo?: string;
  nonce?: string;
  errorDetail?: { code: number; message: string };
}

/** A minimal ADS (state of the world) client: sends DiscoveryRequests, queues DiscoveryResponses. */
export class AdsTestClient extends XdsTestStream<DecodedResponse> {
  constructor(
    port: number,
    node: TestNode = { id: 'test-proxy', metadata: { GENERATOR: 'grpc' } },
    /** ADS by default; a single-type method such as `/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters`. */
    path = ADS_SOTW_PATH,
  ) {
    super(port, node, path, {
      request: 'envoy.service.discovery.v3.DiscoveryRequest',
      response: 'envoy.service.discovery.v3.DiscoveryResponse',
    });
  }

  send(r: Request): void {
    const req: Record<string, unknown> = {
      type_url: r.typeUrl,
      resource_names: r.names ?? [],
      version_info: r.versionInfo ?? '',
      response_nonce: r.nonce ?? '',
    };
    if (r.errorDetail) req.error_detail = r.errorDetail;
    this.write(req);
  }

  protected barrierRequest(typeUrl: string, name: string): void {
    this.send({ typeUrl, names: [name] });
  }

  ack(res: DecodedResponse, names: string[]): void {
    this.send({ typeUrl: res.type_url, names, versionInfo: res.version_info, nonce: res.nonce });
  }

  nack(res: DecodedResponse, names: string[], message: string, acceptedVersion = ''): void {
    this.send({ typeUrl: res.type_url, names, versionInfo: acceptedVersion, nonce: res.nonce, errorDetail: { code: 14, message } });
  }

  /** Subscribes and returns the first response. */
  async request(typeUrl: string, names: string[], versionInfo = ''): Promise<DecodedResponse> {
    this.send({ typeUrl, names, versionInfo });
    return this.next();
  }
}

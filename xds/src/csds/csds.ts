import type * as grpc from '@grpc/grpc-js';
import { messageType } from '../protos/root.js';
import { jsonToStruct } from '../protos/struct.js';
import type { ResourceSource } from '../protocol/source.js';
import type { ResourceRecord, StreamBookkeeping } from '../protocol/stream.js';
import type { XdsProxy } from '../proxy.js';
import type { EncodedResource } from '../resources/encoded.js';
import type { JsonObject } from '../resources/resource-type.js';

export const CSDS_SERVICE = 'envoy.service.status.v3.ClientStatusDiscoveryService';

/** ClientStatusRequest as decoded (keepCase). */
export interface ClientStatusRequestObject {
  node_matchers?: { node_id?: StringMatcherObject; node_metadatas?: unknown[] }[];
  exclude_resource_contents?: boolean;
}

interface StringMatcherObject {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safe_regex?: { regex?: string };
  ignore_case?: boolean;
}

/** CSDS vocabulary (envoy.service.status.v3.ConfigStatus / admin.v3.ClientResourceStatus). */
export type ConfigStatus = 'SYNCED' | 'NOT_SENT' | 'STALE' | 'ERROR';
export type ClientResourceStatus = 'REQUESTED' | 'DOES_NOT_EXIST' | 'ACKED' | 'NACKED';

/** One resource of one proxy as CSDS reports it (GenericXdsConfig without the node). */
export interface ResourceStatus {
  readonly typeUrl: string;
  readonly name: string;
  /** The version last sent to the proxy (empty: never sent). */
  readonly versionInfo: string;
  readonly configStatus: ConfigStatus;
  readonly clientStatus: ClientResourceStatus;
  readonly errorState?: { readonly details: string; readonly versionInfo: string; readonly lastUpdateAttempt: Date };
  /** The resource as sent, when the server still has exactly that version. */
  readonly resource?: EncodedResource;
}

export interface ProxyConfigStatus {
  readonly proxy: XdsProxy;
  readonly resources: readonly ResourceStatus[];
}

/**
 * The per-resource status of one record, from the server's bookkeeping and what the
 * server would send now (`current`, undefined when the resource does not exist for the
 * proxy):
 * - client_status: NACKED (it refused the version we last sent or have now), ACKED (it confirmed the
 *   version we last sent), DOES_NOT_EXIST (subscribed, the server has no such resource),
 *   else REQUESTED (subscribed, not sent yet or not answered yet);
 * - config_status: ERROR (NACKED), NOT_SENT (never sent), SYNCED (the proxy ACKed the
 *   version the server has now), else STALE (sent but not ACKed yet, or the server has a
 *   newer version it has not pushed yet).
 */
export function resourceStatus(typeUrl: string, r: ResourceRecord, current: EncodedResource | undefined): ResourceStatus {
  const sent = r.sentVersion;
  // Refused: the version we last sent, or (delta: the client went back to its previous
  // version) the version the server has now.
  const refused =
    r.nacked && (sent === undefined || r.nacked.version === sent || r.nacked.version === current?.version) ? r.nacked : undefined;
  let clientStatus: ClientResourceStatus;
  if (refused) clientStatus = 'NACKED';
  else if (sent !== undefined && r.ackedVersion === sent) clientStatus = 'ACKED';
  else if (!current && sent === undefined) clientStatus = 'DOES_NOT_EXIST';
  else clientStatus = 'REQUESTED';
  let configStatus: ConfigStatus;
  if (refused) configStatus = 'ERROR';
  else if (sent === undefined) configStatus = 'NOT_SENT';
  else if (clientStatus === 'ACKED' && (!current || current.version === sent)) configStatus = 'SYNCED';
  else configStatus = 'STALE';
  return {
    typeUrl,
    name: r.name,
    versionInfo: sent ?? '',
    configStatus,
    clientStatus,
    ...(r.nacked ? { errorState: { details: r.nacked.error, versionInfo: r.nacked.version, lastUpdateAttempt: r.nacked.at } } : {}),
    ...(current && current.version === sent ? { resource: current } : {}),
  };
}

/**
 * Client Status Discovery Service: what every connected proxy was sent, ACKed and NACKed,
 * per resource, from the protocol servers' bookkeeping. Several streams of one proxy
 * (ADS plus single-type streams, or a reconnect overlapping its old stream) are merged
 * into one ClientConfig; for a resource on two streams the newer stream wins.
 */
export class CsdsService {
  constructor(
    private readonly bookkeeping: () => readonly StreamBookkeeping[],
    private readonly source: ResourceSource,
  ) {}

  /** Status of every proxy whose id matches one of the matchers (all without matchers). */
  statuses(matchers: ClientStatusRequestObject['node_matchers'] = []): ProxyConfigStatus[] {
    const byProxy = new Map<string, { proxy: XdsProxy; streams: StreamBookkeeping[] }>();
    for (const s of this.bookkeeping()) {
      if (!nodeMatches(s.proxy, matchers)) continue;
      const entry = byProxy.get(s.proxy.id) ?? { proxy: s.proxy, streams: [] };
      entry.streams.push(s);
      byProxy.set(s.proxy.id, entry);
    }
    const out: ProxyConfigStatus[] = [];
    for (const id of [...byProxy.keys()].sort()) {
      const { streams } = byProxy.get(id)!;
      // Oldest first, so a newer stream's record of the same resource replaces an older one's.
      streams.sort((a, b) => a.connectedAt.getTime() - b.connectedAt.getTime() || Number(a.streamId) - Number(b.streamId));
      const latest = streams.at(-1)!;
      const merged = new Map<string, ResourceStatus>();
      for (const s of streams) {
        for (const t of s.types) {
          const current = this.ready() ? this.source.resources(s.proxy, t.typeUrl, t.state.wildcard ? undefined : t.state.names) : undefined;
          const byName = new Map((current ?? []).map((r) => [r.name, r]));
          for (const r of t.resources) merged.set(`${t.typeUrl}\0${r.name}`, resourceStatus(t.typeUrl, r, byName.get(r.name)));
        }
      }
      const resources = [...merged.values()].sort((a, b) => (a.typeUrl === b.typeUrl ? cmp(a.name, b.name) : cmp(a.typeUrl, b.typeUrl)));
      out.push({ proxy: latest.proxy, resources });
    }
    return out;
  }

  private ready(): boolean {
    return this.source.ready();
  }

  /** An encoded ClientStatusResponse for a request. */
  respond(req: ClientStatusRequestObject): Buffer {
    const withContents = !req.exclude_resource_contents;
    const config = this.statuses(req.node_matchers).map(({ proxy, resources }) => ({
      node: nodeOf(proxy),
      generic_xds_configs: resources.map((r) => {
        const c: JsonObject = {
          type_url: r.typeUrl,
          name: r.name,
          version_info: r.versionInfo,
          config_status: r.configStatus,
          client_status: r.clientStatus,
        };
        if (withContents && r.resource) c.xds_config = { '@type': r.typeUrl, ...r.resource.resource };
        if (r.errorState) {
          c.error_state = {
            details: r.errorState.details,
            version_info: r.errorState.versionInfo,
            last_update_attempt: timestamp(r.errorState.lastUpdateAttempt),
          };
        }
        return c;
      }),
    }));
    const type = messageType('envoy.service.status.v3.ClientStatusResponse');
    return Buffer.from(type.encode(type.fromObject({ config })).finish());
  }

  /** StreamClientStatus: one ClientStatusResponse per request. */
  readonly stream = (call: grpc.ServerDuplexStream<ClientStatusRequestObject, Buffer>): void => {
    call.on('data', (req: ClientStatusRequestObject) => {
      try {
        call.write(this.respond(req));
      } catch (err) {
        call.destroy(err instanceof Error ? err : new Error(String(err)));
      }
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  };

  /** FetchClientStatus. */
  readonly fetch = (call: grpc.ServerUnaryCall<ClientStatusRequestObject, Buffer>, callback: grpc.sendUnaryData<Buffer>): void => {
    try {
      callback(null, this.respond(call.request));
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
    }
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function timestamp(d: Date): { seconds: number; nanos: number } {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

function nodeOf(proxy: XdsProxy): JsonObject {
  const node: JsonObject = { id: proxy.id, metadata: jsonToStruct(proxy.metadata) };
  if (proxy.cluster) node.cluster = proxy.cluster;
  if (Object.keys(proxy.locality).length > 0) node.locality = { ...proxy.locality };
  return node;
}

/** OR over the matchers; a matcher checks node.id (node_metadatas are not supported and match nothing). */
export function nodeMatches(proxy: XdsProxy, matchers: ClientStatusRequestObject['node_matchers'] = []): boolean {
  if (matchers.length === 0) return true;
  return matchers.some((m) => {
    if ((m.node_metadatas ?? []).length > 0) return false;
    return !m.node_id || stringMatches(m.node_id, proxy.id);
  });
}

function stringMatches(m: StringMatcherObject, value: string): boolean {
  const fold = (s: string) => (m.ignore_case ? s.toLowerCase() : s);
  const v = fold(value);
  if (m.exact !== undefined) return v === fold(m.exact);
  if (m.prefix !== undefined) return v.startsWith(fold(m.prefix));
  if (m.suffix !== undefined) return v.endsWith(fold(m.suffix));
  if (m.contains !== undefined) return v.includes(fold(m.contains));
  if (m.safe_regex?.regex !== undefined) {
    try {
      return new RegExp(`^(?:${m.safe_regex.regex})$`, m.ignore_case ? 'i' : '').test(value);
    } catch {
      return false;
    }
  }
  return true;
}

/** The CSDS gRPC service with our serializers (requests decoded with protobufjs, responses pre-encoded). */
export function csdsServiceDefinition(): grpc.ServiceDefinition {
  const requestType = messageType('envoy.service.status.v3.ClientStatusRequest');
  const responseType = messageType('envoy.service.status.v3.ClientStatusResponse');
  const decode = (buf: Buffer) =>
    requestType.toObject(requestType.decode(buf), { longs: String, enums: String, arrays: true, defaults: false }) as ClientStatusRequestObject;
  const common = {
    requestSerialize: (req: object) => Buffer.from(requestType.encode(requestType.fromObject(req)).finish()),
    requestDeserialize: decode,
    responseSerialize: (res: Buffer) => res,
    responseDeserialize: (buf: Buffer) => responseType.decode(buf),
  };
  return {
    StreamClientStatus: { path: `/${CSDS_SERVICE}/StreamClientStatus`, requestStream: true, responseStream: true, originalName: 'streamClientStatus', ...common },
    FetchClientStatus: { path: `/${CSDS_SERVICE}/FetchClientStatus`, requestStream: false, responseStream: false, originalName: 'fetchClientStatus', ...common },
  } as grpc.ServiceDefinition;
}

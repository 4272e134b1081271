import { randomBytes } from 'node:crypto';
import type { StreamInfo } from '../callbacks/callbacks.js';
import type { Json } from '../protos/struct.js';
import type { XdsProxy } from '../proxy.js';
import { PUSH_ORDER } from '../resources/type-urls.js';
import type { SyncStatus, TypeState } from './ack.js';

/** What the SotW and delta protocol servers share: stream identity, nonces, status views. */

export type XdsProtocol = 'sotw' | 'delta';

/** One type on one stream, as /debug/syncz and proxy-status show it. */
export interface TypeStatus {
  readonly typeUrl: string;
  readonly status: SyncStatus;
  readonly wildcard: boolean;
  readonly subscribed: number;
  readonly sentVersion?: string;
  readonly sentNonce?: string;
  readonly ackedVersion?: string;
  readonly nackedVersion?: string;
  readonly lastError?: string;
}

export interface ProxyStatus {
  readonly id: string;
  readonly streamId: string;
  /** `sotw` (StreamAggregatedResources, Stream*) or `delta` (DeltaAggregatedResources, Delta*). */
  readonly protocol: XdsProtocol;
  readonly peer: string;
  readonly connectedAt: string;
  readonly generator: string;
  readonly namespace: string;
  readonly userAgent: string;
  readonly metadata: Readonly<Record<string, Json>>;
  /** By type URL. */
  readonly types: Readonly<Record<string, TypeStatus>>;
}

/** What the server knows of one resource on one client (for CSDS). */
export interface ResourceRecord {
  readonly name: string;
  /** The version our latest response carrying it had (undefined: never sent on this stream). */
  readonly sentVersion?: string;
  /** The version the client confirmed holding. */
  readonly ackedVersion?: string;
  /** The version the client refused, the error, and when. */
  readonly nacked?: { readonly version: string; readonly error: string; readonly at: Date };
}

/** One type on one stream with its resources, as CSDS reports it. */
export interface TypeBookkeeping {
  readonly typeUrl: string;
  readonly state: TypeState;
  /** Names the client subscribed to or that we sent, sorted. */
  readonly resources: readonly ResourceRecord[];
}

export interface StreamBookkeeping {
  readonly streamId: string;
  readonly protocol: XdsProtocol;
  readonly proxy: XdsProxy;
  readonly connectedAt: Date;
  readonly types: readonly TypeBookkeeping[];
}

/** A stream's identity and nonces; the servers hang their per-type state on it. */
export class XdsStream implements StreamInfo {
  proxy: XdsProxy | undefined;
  readonly connectedAt = new Date();
  /** Types already warned about (no generator): warn once per stream. Created on the first warning. */
  warned: Set<string> | undefined;
  private readonly noncePrefix = randomBytes(3).toString('hex');
  private nonceSeq = 0;
  closed = false;

  constructor(
    readonly streamId: string,
    readonly peer: string,
    readonly protocol: XdsProtocol,
    /** Single-type services: the only type the stream serves. */
    readonly fixedType: string | undefined,
  ) {}

  nextNonce(): string {
    return `${this.noncePrefix}-${++this.nonceSeq}`;
  }
}

/** CDS, EDS, LDS, RDS first (clusters before what needs them), then any other type by name. */
export function orderTypes(types: Iterable<string>): string[] {
  const all = [...types];
  // A push visits one type of most streams.
  if (all.length < 2) return all;
  const known = PUSH_ORDER.filter((t) => all.includes(t));
  return [...known, ...all.filter((t) => !PUSH_ORDER.includes(t)).sort()];
}

export function typeStatus(typeUrl: string, state: TypeState): TypeStatus {
  return {
    typeUrl,
    status: state.status,
    wildcard: state.wildcard,
    subscribed: state.names.size,
    ...(state.sentVersion !== undefined ? { sentVersion: state.sentVersion } : {}),
    ...(state.sentNonce !== undefined ? { sentNonce: state.sentNonce } : {}),
    ...(state.ackedVersion !== undefined ? { ackedVersion: state.ackedVersion } : {}),
    ...(state.nackedVersion !== undefined ? { nackedVersion: state.nackedVersion } : {}),
    ...(state.lastError !== undefined ? { lastError: state.lastError } : {}),
  };
}

export function proxyStatus(stream: XdsStream, proxy: XdsProxy, types: Record<string, TypeStatus>): ProxyStatus {
  return {
    id: proxy.id,
    streamId: stream.streamId,
    protocol: stream.protocol,
    peer: stream.peer,
    connectedAt: stream.connectedAt.toISOString(),
    generator: proxy.generator,
    namespace: proxy.namespace,
    userAgent: proxy.userAgent,
    metadata: proxy.metadata,
    types,
  };
}

/**
 * The resources a NACK's error_detail names (Envoy and both gRPC clients name the failing
 * resource in the message); all of `sent` when it names none of them.
 */
export function namesInError(message: string, sent: Iterable<string>): string[] {
  const all = [...sent];
  const named = all.filter((n) => n !== '' && message.includes(n));
  return named.length > 0 ? named : all;
}

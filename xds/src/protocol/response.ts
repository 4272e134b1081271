import { contentHash } from '@isthmus/core';
import protobuf from 'protobufjs';
import type { EncodedResource } from '../resources/encoded.js';

/**
 * version_info of a response: a hash over (name, version) of the resources in it. The
 * same resources give the same version on every replica, across restarts.
 */
export function responseVersion(resources: readonly EncodedResource[]): string {
  const parts: string[] = [];
  for (const r of resources) parts.push(r.name, r.version);
  return contentHash(...parts);
}

export interface ResponseParts {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
  readonly controlPlaneId?: string;
}

/**
 * An encoded DiscoveryResponse, assembled from the pre-encoded `resources` entries:
 * pushing to N proxies copies bytes N times and encodes no resource again.
 */
export function encodeDiscoveryResponse(p: ResponseParts): Buffer {
  const head = protobuf.Writer.create().uint32((1 << 3) | 2).string(p.versionInfo).finish();
  const tail = protobuf.Writer.create().uint32((4 << 3) | 2).string(p.typeUrl).uint32((5 << 3) | 2).string(p.nonce);
  if (p.controlPlaneId) tail.uint32((6 << 3) | 2).fork().uint32((1 << 3) | 2).string(p.controlPlaneId).ldelim();
  return Buffer.concat([head, ...p.resources.map((r) => r.framed), tail.finish()]);
}

export interface DeltaResponseParts {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
  readonly removed: readonly string[];
  readonly controlPlaneId?: string;
}

/**
 * An encoded DeltaDiscoveryResponse from the same pre-encoded entries: a delta
 * `Resource` is `{version = 1, resource = 2 (Any), name = 3}`, and field 2 is exactly the
 * `framed` bytes a SotW response carries, so nothing is encoded again here either.
 */
export function encodeDeltaDiscoveryResponse(p: DeltaResponseParts): Buffer {
  const w = protobuf.Writer.create().uint32((1 << 3) | 2).string(p.systemVersionInfo);
  const head = w.finish();
  const parts: Uint8Array[] = [head];
  for (const r of p.resources) {
    const tail = protobuf.Writer.create().uint32((1 << 3) | 2).string(r.version).uint32((3 << 3) | 2).string(r.name).finish();
    const length = r.framed.length + tail.length;
    parts.push(protobuf.Writer.create().uint32((2 << 3) | 2).uint32(length).finish(), r.framed, tail);
  }
  const end = protobuf.Writer.create().uint32((4 << 3) | 2).string(p.typeUrl).uint32((5 << 3) | 2).string(p.nonce);
  for (const name of p.removed) end.uint32((6 << 3) | 2).string(name);
  if (p.controlPlaneId) end.uint32((7 << 3) | 2).fork().uint32((1 << 3) | 2).string(p.controlPlaneId).ldelim();
  parts.push(end.finish());
  return Buffer.concat(parts);
}

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

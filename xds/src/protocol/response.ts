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
  // Written straight into one buffer (a push encodes this per stream).
  const cp = p.controlPlaneId ? Buffer.byteLength(p.controlPlaneId) : 0;
  let size = stringFieldSize(p.versionInfo) + stringFieldSize(p.typeUrl) + stringFieldSize(p.nonce);
  for (const r of p.resources) size += r.framed.length;
  if (p.controlPlaneId) size += 1 + varintSize(1 + varintSize(cp) + cp) + 1 + varintSize(cp) + cp;
  const out = Buffer.allocUnsafe(size);
  let at = writeStringField(out, 0, 1, p.versionInfo);
  for (const r of p.resources) {
    out.set(r.framed, at);
    at += r.framed.length;
  }
  at = writeStringField(out, at, 4, p.typeUrl);
  at = writeStringField(out, at, 5, p.nonce);
  if (p.controlPlaneId) {
    out[at++] = (6 << 3) | 2;
    at = writeVarint(out, at, 1 + varintSize(cp) + cp);
    writeStringField(out, at, 1, p.controlPlaneId);
  }
  return out;
}

export interface DeltaResponseParts {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
  readonly removed: readonly string[];
  readonly controlPlaneId?: string;
}

/** Per resource, its delta `resources` entry: encoded on first use, shared by every push of it. */
const deltaEntries = new WeakMap<EncodedResource, Uint8Array>();

/** `repeated Resource resources = 2;` entry: `Resource{version = 1, resource = 2 (Any), name = 3}`. */
export function deltaResourceEntry(r: EncodedResource): Uint8Array {
  let entry = deltaEntries.get(r);
  if (!entry) {
    const tail = protobuf.Writer.create().uint32((1 << 3) | 2).string(r.version).uint32((3 << 3) | 2).string(r.name).finish();
    const head = protobuf.Writer.create().uint32((2 << 3) | 2).uint32(r.framed.length + tail.length).finish();
    entry = Buffer.concat([head, r.framed, tail]);
    deltaEntries.set(r, entry);
  }
  return entry;
}

/**
 * An encoded DeltaDiscoveryResponse from the same pre-encoded entries: a delta
 * `Resource`'s field 2 is exactly the `framed` bytes a SotW response carries, and each
 * resource's whole entry is encoded once (deltaResourceEntry), so a push to N streams
 * only concatenates bytes around a per-stream nonce.
 */
export function encodeDeltaDiscoveryResponse(p: DeltaResponseParts): Buffer {
  // Written straight into one buffer (a push encodes this per stream).
  const entries = p.resources.map(deltaResourceEntry);
  const cp = p.controlPlaneId ? Buffer.byteLength(p.controlPlaneId) : 0;
  let size = stringFieldSize(p.systemVersionInfo) + stringFieldSize(p.typeUrl) + stringFieldSize(p.nonce);
  for (const e of entries) size += e.length;
  for (const name of p.removed) size += stringFieldSize(name);
  if (p.controlPlaneId) size += 1 + varintSize(1 + varintSize(cp) + cp) + 1 + varintSize(cp) + cp;
  const out = Buffer.allocUnsafe(size);
  let at = writeStringField(out, 0, 1, p.systemVersionInfo);
  for (const e of entries) {
    out.set(e, at);
    at += e.length;
  }
  at = writeStringField(out, at, 4, p.typeUrl);
  at = writeStringField(out, at, 5, p.nonce);
  for (const name of p.removed) at = writeStringField(out, at, 6, name);
  if (p.controlPlaneId) {
    out[at++] = (7 << 3) | 2;
    at = writeVarint(out, at, 1 + varintSize(cp) + cp);
    at = writeStringField(out, at, 1, p.controlPlaneId);
  }
  return out;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function stringFieldSize(s: string): number {
  const n = Buffer.byteLength(s);
  return 1 + varintSize(n) + n;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** A length-delimited string field (field numbers below 16: a one-byte tag). */
function writeStringField(out: Buffer, at: number, field: number, s: string): number {
  out[at++] = (field << 3) | 2;
  at = writeVarint(out, at, Buffer.byteLength(s));
  return at + out.write(s, at, 'utf8');
}

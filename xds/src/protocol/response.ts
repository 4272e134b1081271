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
  return assemble([
    [1, p.versionInfo],
    ...p.resources.map((r) => r.framed),
    [4, p.typeUrl],
    [5, p.nonce],
    ...(p.controlPlaneId ? [controlPlaneEntry(6, p.controlPlaneId)] : []),
  ]);
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
  return assemble([
    [1, p.systemVersionInfo],
    ...p.resources.map(deltaResourceEntry),
    [4, p.typeUrl],
    [5, p.nonce],
    ...p.removed.map((name): Piece => [6, name]),
    ...(p.controlPlaneId ? [controlPlaneEntry(7, p.controlPlaneId)] : []),
  ]);
}

/** One field of a response: a string field, or bytes already encoded with their tag. */
type Piece = readonly [field: number, value: string] | Uint8Array;

/** The pieces written straight into one buffer (a push encodes a response per stream). */
function assemble(pieces: readonly Piece[]): Buffer {
  let size = 0;
  for (const p of pieces) size += p instanceof Uint8Array ? p.length : stringFieldSize(p[1]);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of pieces) {
    if (p instanceof Uint8Array) {
      out.set(p, at);
      at += p.length;
    } else {
      at = writeStringField(out, at, p[0], p[1]);
    }
  }
  return out;
}

/** `ControlPlane{identifier = 1}` as field `field`: the same bytes on every response of a server. */
const controlPlanes = new Map<string, Uint8Array>();
function controlPlaneEntry(field: number, id: string): Uint8Array {
  const key = `${field}\0${id}`;
  let entry = controlPlanes.get(key);
  if (!entry) {
    const inner = assemble([[1, id]]);
    entry = Buffer.concat([Buffer.from([(field << 3) | 2]), varint(inner.length), inner]);
    if (controlPlanes.size < 64) controlPlanes.set(key, entry);
  }
  return entry;
}

function varint(n: number): Buffer {
  const out = Buffer.allocUnsafe(varintSize(n));
  writeVarint(out, 0, n);
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

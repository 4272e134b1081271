import protobuf from 'protobufjs';
import type { EncodedResource } from '../resources/encoded.js';

/**
 * version_info of a response: a digest of the set of (name, version) of the resources in
 * it, the XOR of one 64-bit term per resource. The same set gives the same version on every
 * replica, across restarts, in any order; and a push that changes a few resources of a
 * proxy's set updates the version for those alone (versionWith), without going over the
 * rest or hashing per response.
 */
export function responseVersion(resources: readonly Pick<EncodedResource, 'name' | 'version'>[]): string {
  const acc = scratch;
  acc[0] = 0;
  acc[1] = 0;
  for (const r of resources) xorTerm(acc, r.name, r.version);
  return hex64(acc);
}

/**
 * The version of a set after a change: `version` (of the set before) with `name` at
 * version `from` taken out (undefined: it was not in the set) and at `to` put in
 * (undefined: it leaves the set).
 */
export function versionWith(version: string, name: string, from: string | undefined, to: string | undefined): string {
  const acc = scratch;
  acc[0] = parseHex8(version, 0);
  acc[1] = parseHex8(version, 8);
  if (from !== undefined) xorTerm(acc, name, from);
  if (to !== undefined) xorTerm(acc, name, to);
  return hex64(acc);
}

/** The two 32-bit halves of a version being computed (the functions above run to completion). */
const scratch = new Int32Array(2);

function parseHex8(s: string, at: number): number {
  let n = 0;
  for (let i = at; i < at + 8; i++) {
    const c = s.charCodeAt(i);
    n = (n << 4) | (c <= 57 ? c - 48 : (c | 32) - 87);
  }
  return n;
}

/** XORs into `acc` a 64-bit hash of (name, version): two multiplicative hashes over the characters, mixed at the end. */
function xorTerm(acc: Int32Array, name: string, version: string): void {
  let a = 0x9e3779b9;
  let b = 0x85ebca6b;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  // A separator no character code equals: ("ab", "c") and ("a", "bc") differ.
  a = Math.imul(a ^ 0x10000, 0x01000193);
  b = Math.imul(b ^ 0x10000, 0x5bd1e995);
  for (let i = 0; i < version.length; i++) {
    const c = version.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b) ^ Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  acc[0] = acc[0]! ^ a;
  acc[1] = acc[1]! ^ b;
}

function hex64(acc: Int32Array): string {
  return (acc[0]! >>> 0).toString(16).padStart(8, '0') + (acc[1]! >>> 0).toString(16).padStart(8, '0');
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
  const pieces: Piece[] = [[1, p.versionInfo]];
  for (const r of p.resources) pieces.push(r.framed);
  pieces.push(typeUrlField(p.typeUrl), [5, p.nonce]);
  if (p.controlPlaneId) pieces.push(controlPlaneEntry(6, p.controlPlaneId));
  return assemble(pieces);
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
  const pieces: Piece[] = [[1, p.systemVersionInfo]];
  for (const r of p.resources) pieces.push(deltaResourceEntry(r));
  pieces.push(typeUrlField(p.typeUrl), [5, p.nonce]);
  for (const name of p.removed) pieces.push([6, name]);
  if (p.controlPlaneId) pieces.push(controlPlaneEntry(7, p.controlPlaneId));
  return assemble(pieces);
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

/** `type_url = 4` (in both responses): encoded once per type. */
const typeUrlFields = new Map<string, Uint8Array>();
function typeUrlField(typeUrl: string): Piece {
  let field = typeUrlFields.get(typeUrl);
  if (!field) {
    field = assemble([[4, typeUrl]]);
    // Clients may ask for any type URL: only so many are kept.
    if (typeUrlFields.size < 64) typeUrlFields.set(typeUrl, field);
  }
  return field;
}

/** `ControlPlane{identifier = 1}` as field `field`: the same bytes on every response of a server. */
const controlPlanes: Map<string, Uint8Array>[] = [];
function controlPlaneEntry(field: number, id: string): Uint8Array {
  const byId = (controlPlanes[field] ??= new Map());
  let entry = byId.get(id);
  if (!entry) {
    const inner = assemble([[1, id]]);
    entry = Buffer.concat([Buffer.from([(field << 3) | 2]), varint(inner.length), inner]);
    if (byId.size < 64) byId.set(id, entry);
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

import { contentHash } from '@isthmus/core';
import protobuf from 'protobufjs';
import { messageType } from '../protos/root.js';
import { checkShape } from '../protos/shape.js';
import { checkPgv, formatViolation } from '../validation/pgv.js';
import { attributeError, originsByPath } from '../validation/provenance.js';
import type { ClientKind, JsonObject, ResourceType, Validation } from './resource-type.js';

/**
 * One resource, encoded once and shared by every proxy that receives it.
 * `framed` is the ready-made `resources` entry of a DiscoveryResponse (field tag, length,
 * `Any{type_url, value}`), so a push only concatenates bytes.
 */
export interface EncodedResource {
  readonly name: string;
  readonly typeUrl: string;
  /** Content hash of the encoded message: equal content, equal version, on every replica. */
  readonly version: string;
  /** The resource as built (proto field names), for tests and config dumps. */
  readonly resource: JsonObject;
  readonly framed: Uint8Array;
  /** What the generator left out or adjusted while building it (bad endpoints, ...). */
  readonly warnings: readonly string[];
}

/**
 * Checks, then encodes: the proto shape (no unknown fields or wrong kinds), the
 * `validate.rules` (PGV) annotations of Envoy's protos — what Envoy itself refuses — and
 * the client rules of the resource type (what real gRPC clients refuse beyond that).
 * Errors inside a part built from a rule name that rule (`(from VirtualService/default/x
 * spec.http[1])`), so a refused resource points at the config that produced it.
 */
export function encodeResource(
  type: ResourceType,
  name: string,
  resource: JsonObject,
  client: ClientKind,
  warnings: readonly string[] = [],
): Validation<EncodedResource> {
  const message = messageType(type.messageType);
  const shapeErrors = checkShape(message, resource);
  const pgvErrors = shapeErrors.length > 0 ? [] : checkPgv(message, resource).map(formatViolation);
  const checked = type.validate(resource, client);
  const errors = [...shapeErrors, ...pgvErrors, ...(checked.valid ? [] : checked.errors)];
  if (errors.length > 0) {
    const byPath = originsByPath(resource);
    return { valid: false, errors: [...new Set(errors)].map((e) => attributeError(e, byPath)) };
  }
  const bytes = message.encode(message.fromObject(resource)).finish();
  return {
    valid: true,
    value: {
      name,
      typeUrl: type.typeUrl,
      version: contentHash(bytes),
      resource,
      framed: frameAny(type.typeUrl, bytes),
      warnings,
    },
  };
}

/** `repeated google.protobuf.Any resources = 2;` entry holding `bytes` as `typeUrl`. */
export function frameAny(typeUrl: string, bytes: Uint8Array): Uint8Array {
  return protobuf.Writer.create()
    .uint32((2 << 3) | 2)
    .fork()
    .uint32((1 << 3) | 2)
    .string(typeUrl)
    .uint32((2 << 3) | 2)
    .bytes(bytes)
    .ldelim()
    .finish();
}

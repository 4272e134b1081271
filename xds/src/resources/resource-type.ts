/** A resource as plain object in Envoy's proto shape (keepCase; nested `Any` as `{ '@type', ... }`). */
export type JsonObject = Record<string, unknown>;

/** Either the value, or every reason it is refused. */
export type Validation<T> = { valid: true; value: T } | { valid: false; errors: string[] };

/** The data plane a resource is built for: validators enforce what that client accepts. */
export type ClientKind = 'grpc' | 'envoy';

/** What the cache and the protocol server need to know about one xDS resource type. */
export interface ResourceType {
  readonly typeUrl: string;
  /** `LDS`, `RDS`, `CDS`, `EDS`: for logs. */
  readonly shortName: string;
  /** Full protobuf message name, e.g. `envoy.config.cluster.v3.Cluster`. */
  readonly messageType: string;
  /** SotW responses carry every subscribed resource; one left out is a deletion (LDS, CDS). */
  readonly allResourcesRequiredInSotW: boolean;
  /**
   * A SotW push (not the answer to a request) may carry only the resources that changed:
   * clients keep the subscribed resources a response leaves out. Needs
   * !allResourcesRequiredInSotW. EDS for every client (as Istio's incremental EDS does);
   * RDS for gRPC clients only (`'grpc'`: grpc-js-xds and C-core treat route configs like
   * assignments, gRFC A27; Envoy sidecars keep getting whole RDS responses).
   */
  readonly sotwPushChangedOnly: boolean | 'grpc';
  /** Rules real clients enforce beyond the proto schema (XDS-INTEROP); errors name the field. */
  validate(resource: JsonObject, client: ClientKind): Validation<JsonObject>;
}

export function validation(resource: JsonObject, errors: string[]): Validation<JsonObject> {
  return errors.length === 0 ? { valid: true, value: resource } : { valid: false, errors };
}

/** Loose accessors for walking resource objects in validators. */
export function obj(v: unknown): JsonObject | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : undefined;
}
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

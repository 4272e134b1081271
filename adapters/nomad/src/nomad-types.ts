import { NomadRequestError, expectOk, type NomadResponse } from './nomad-client.js';

// The fields of Nomad's responses the adapter reads (api-docs/services, /events,
// api/allocations.go), checked at runtime: a truncated body or an HTML error page from a
// proxy must become an error the watch retries, never a half-read registry. Go encodes
// empty slices as null, so null lists are read as empty.

/** One service name in `GET /v1/services`, with the union of its registrations' tags. */
export interface ServiceStub {
  readonly ServiceName: string;
  readonly Tags: readonly string[];
}

/** One element of `GET /v1/services`: the services of one namespace. */
export interface NamespaceServices {
  readonly Namespace: string;
  readonly Services: readonly ServiceStub[];
}

/** One element of `GET /v1/service/:name` (`api.ServiceRegistration`). No meta, no health. */
export interface ServiceRegistration {
  /** `_nomad-task-<allocID>-<group-<group>|task>-<service>-<portLabel>` */
  readonly ID: string;
  readonly ServiceName: string;
  readonly Namespace: string;
  readonly NodeID: string;
  readonly Datacenter: string;
  readonly JobID: string;
  readonly AllocID: string;
  readonly Tags: readonly string[];
  readonly Address: string;
  readonly Port: number;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export type CheckStatus = 'success' | 'failure' | 'pending';

/** One value of `GET /v1/client/allocation/:id/checks` (`api.AllocCheckStatus`). */
export interface CheckResult {
  readonly ID: string;
  readonly Check: string;
  /** The service it checks (absent on old Nomad versions). */
  readonly Service?: string;
  readonly Status: CheckStatus;
  readonly Mode?: string;
  readonly Output?: string;
}

/** A `Service` topic event (nomad/state/events.go). */
export interface ServiceEvent {
  readonly Type: 'ServiceRegistration' | 'ServiceDeregistration';
  readonly Key: string;
  readonly Namespace: string;
  readonly Index: number;
  readonly Service: ServiceRegistration;
}

/** One line of `/v1/event/stream`: a `{}` heartbeat or the events of one raft index. */
export type StreamFrame =
  | { readonly kind: 'heartbeat' }
  | { readonly kind: 'events'; readonly index: number; readonly events: readonly ServiceEvent[] };

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new NomadRequestError('invalid', `${what}: invalid JSON (${(err as Error).message})`);
  }
}

function invalid(what: string, detail: string): NomadRequestError {
  return new NomadRequestError('invalid', `${what}: unexpected response: ${detail}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(v: unknown, what: string, field: string): unknown[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw invalid(what, `${field} is not a list`);
  return v;
}

function strings(v: unknown, what: string, field: string): string[] {
  return list(v, what, field).map((t) => {
    if (typeof t !== 'string') throw invalid(what, `${field} holds a non-string`);
    return t;
  });
}

function str(o: Record<string, unknown>, key: string, what: string, required = true): string {
  const v = o[key];
  if (typeof v === 'string') return v;
  if (!required && (v === undefined || v === null)) return '';
  throw invalid(what, `${key} is not a string`);
}

function int(o: Record<string, unknown>, key: string, what: string, required = true): number {
  const v = o[key];
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (!required && (v === undefined || v === null)) return 0;
  throw invalid(what, `${key} is not an integer`);
}

/** `GET /v1/services` → the services of each namespace. */
export function decodeServiceList(res: NomadResponse, what: string): NamespaceServices[] {
  expectOk(res, what);
  return list(parseJson(res.body, what), what, 'body').map((ns) => {
    if (!isObject(ns)) throw invalid(what, 'a namespace entry is not an object');
    return {
      Namespace: str(ns, 'Namespace', what),
      Services: list(ns.Services, what, 'Services').map((s) => {
        if (!isObject(s)) throw invalid(what, 'a service stub is not an object');
        return { ServiceName: str(s, 'ServiceName', what), Tags: strings(s.Tags, what, 'Tags') };
      }),
    };
  });
}

export function decodeRegistration(v: unknown, what: string): ServiceRegistration {
  if (!isObject(v)) throw invalid(what, 'a registration is not an object');
  return {
    ID: str(v, 'ID', what),
    ServiceName: str(v, 'ServiceName', what),
    Namespace: str(v, 'Namespace', what, false) || 'default',
    NodeID: str(v, 'NodeID', what, false),
    Datacenter: str(v, 'Datacenter', what, false),
    JobID: str(v, 'JobID', what, false),
    AllocID: str(v, 'AllocID', what, false),
    Tags: strings(v.Tags, what, 'Tags'),
    Address: str(v, 'Address', what, false),
    Port: int(v, 'Port', what),
    CreateIndex: int(v, 'CreateIndex', what, false),
    ModifyIndex: int(v, 'ModifyIndex', what, false),
  };
}

/** `GET /v1/service/:name` → its registrations (`[]` for an unknown name). */
export function decodeRegistrations(res: NomadResponse, what: string): ServiceRegistration[] {
  expectOk(res, what);
  return list(parseJson(res.body, what), what, 'body').map((r) => decodeRegistration(r, what));
}

/** `GET /v1/client/allocation/:id/checks` → its check results. */
export function decodeChecks(res: NomadResponse, what: string): CheckResult[] {
  expectOk(res, what);
  const body = parseJson(res.body, what);
  if (body === null) return [];
  if (!isObject(body)) throw invalid(what, 'body is not an object');
  return Object.entries(body).map(([id, c]) => {
    if (!isObject(c)) throw invalid(what, `check ${id} is not an object`);
    const status = str(c, 'Status', what);
    if (status !== 'success' && status !== 'failure' && status !== 'pending') throw invalid(what, `check ${id} has status "${status}"`);
    return {
      ID: str(c, 'ID', what, false) || id,
      Check: str(c, 'Check', what, false),
      ...(typeof c.Service === 'string' ? { Service: c.Service } : {}),
      Status: status,
      ...(typeof c.Mode === 'string' ? { Mode: c.Mode } : {}),
      ...(typeof c.Output === 'string' ? { Output: c.Output } : {}),
    };
  });
}

/**
 * One event-stream line. Events of other topics or types are dropped (the adapter asks
 * only for `Service`, but a proxy or a newer Nomad may add some).
 */
export function decodeFrame(line: string): StreamFrame {
  const what = 'event stream';
  const v = parseJson(line, what);
  if (!isObject(v)) throw invalid(what, 'a line is not an object');
  if (Object.keys(v).length === 0) return { kind: 'heartbeat' };
  const index = int(v, 'Index', what);
  const events: ServiceEvent[] = [];
  for (const e of list(v.Events, what, 'Events')) {
    if (!isObject(e)) throw invalid(what, 'an event is not an object');
    if (e.Topic !== 'Service') continue;
    const type = e.Type;
    if (type !== 'ServiceRegistration' && type !== 'ServiceDeregistration') continue;
    const payload = e.Payload;
    if (!isObject(payload)) throw invalid(what, 'an event has no Payload');
    const service = decodeRegistration(payload.Service, what);
    events.push({
      Type: type,
      Key: str(e, 'Key', what, false) || service.ID,
      Namespace: str(e, 'Namespace', what, false) || service.Namespace,
      Index: int(e, 'Index', what, false) || index,
      Service: service,
    });
  }
  return { kind: 'events', index, events };
}

import { ConsulRequestError, expectOk, type ConsulResponse } from './consul-client.js';

// The fields of Consul's responses the adapter reads (api-docs/catalog, /health, /kv),
// checked at runtime: a truncated body or an HTML error page from a proxy must become an
// error the watch retries, never a half-read registry.

/** `GET /v1/catalog/services`: service name → union of its instances' tags. */
export type CatalogServices = ReadonlyMap<string, readonly string[]>;

export type ConsulCheckStatus = 'passing' | 'warning' | 'critical';

export interface ConsulNode {
  readonly Node: string;
  readonly Address: string;
  readonly Datacenter?: string;
  readonly Meta: Readonly<Record<string, string>>;
}

export interface ConsulServiceInstance {
  readonly ID: string;
  readonly Service: string;
  readonly Kind?: string;
  readonly Tags: readonly string[];
  readonly Address: string;
  readonly Port: number;
  readonly Meta: Readonly<Record<string, string>>;
  readonly Weights?: { readonly Passing: number; readonly Warning: number };
  readonly Proxy?: { readonly DestinationServiceName?: string; readonly DestinationServiceID?: string };
  readonly Connect?: { readonly Native?: boolean };
  readonly Locality?: { readonly Region?: string; readonly Zone?: string };
  readonly Namespace?: string;
  readonly Partition?: string;
}

export interface ConsulCheck {
  readonly CheckID: string;
  readonly Status: ConsulCheckStatus;
  readonly ServiceID: string;
  readonly Output?: string;
}

/** One element of `GET /v1/health/service/:name` (and `/v1/health/connect/:name`). */
export interface HealthEntry {
  readonly Node: ConsulNode;
  readonly Service: ConsulServiceInstance;
  readonly Checks: readonly ConsulCheck[];
}

/** One element of `GET /v1/kv/:prefix?recurse`. */
export interface KvEntry {
  readonly Key: string;
  readonly ModifyIndex: number;
  /** Decoded from base64; null for a key without a value (e.g. a "folder"). */
  readonly Value: string | null;
}

function parseJson(res: ConsulResponse, what: string): unknown {
  try {
    return JSON.parse(res.body) as unknown;
  } catch (err) {
    throw new ConsulRequestError('invalid', `${what}: invalid JSON (${(err as Error).message})`);
  }
}

function invalid(what: string, detail: string): ConsulRequestError {
  return new ConsulRequestError('invalid', `${what}: unexpected response: ${detail}`);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function decodeCatalogServices(res: ConsulResponse): CatalogServices {
  const what = 'GET /v1/catalog/services';
  expectOk(res, what);
  const body = parseJson(res, what);
  if (!isRecord(body)) throw invalid(what, 'expected an object of service name → tags');
  const out = new Map<string, readonly string[]>();
  for (const [name, tags] of Object.entries(body)) {
    if (tags !== null && !Array.isArray(tags)) throw invalid(what, `tags of ${name} are not a list`);
    out.set(name, strings(tags));
  }
  return out;
}

export function decodeHealthEntries(res: ConsulResponse, what: string): HealthEntry[] {
  expectOk(res, what);
  const body = parseJson(res, what);
  // Consul answers an unknown service with [] (health_endpoint.go), never null; accept null anyway.
  if (body === null) return [];
  if (!Array.isArray(body)) throw invalid(what, 'expected a list of {Node, Service, Checks}');
  return body.map((e, i) => decodeHealthEntry(e, `${what}[${i}]`));
}

function decodeHealthEntry(e: unknown, what: string): HealthEntry {
  if (!isRecord(e) || !isRecord(e.Node) || !isRecord(e.Service)) throw invalid(what, 'missing Node or Service');
  const n = e.Node;
  const s = e.Service;
  if (typeof n.Node !== 'string' || typeof s.ID !== 'string' || typeof s.Service !== 'string') {
    throw invalid(what, 'missing Node.Node, Service.ID or Service.Service');
  }
  if (typeof s.Port !== 'number' || !Number.isInteger(s.Port) || s.Port < 0 || s.Port > 65535) {
    throw invalid(what, `Service.Port of ${s.ID} is not a port`);
  }
  const checks: ConsulCheck[] = [];
  for (const c of Array.isArray(e.Checks) ? e.Checks : []) {
    if (!isRecord(c) || typeof c.CheckID !== 'string') throw invalid(what, 'a check without CheckID');
    const status = c.Status;
    if (status !== 'passing' && status !== 'warning' && status !== 'critical') {
      // Consul also has `maintenance` in some outputs; anything unknown is not passing.
      checks.push({ CheckID: c.CheckID, Status: 'critical', ServiceID: typeof c.ServiceID === 'string' ? c.ServiceID : '' });
      continue;
    }
    checks.push({
      CheckID: c.CheckID,
      Status: status,
      ServiceID: typeof c.ServiceID === 'string' ? c.ServiceID : '',
      ...(typeof c.Output === 'string' ? { Output: c.Output } : {}),
    });
  }
  const weights = isRecord(s.Weights) && typeof s.Weights.Passing === 'number' && typeof s.Weights.Warning === 'number'
    ? { Passing: s.Weights.Passing, Warning: s.Weights.Warning }
    : undefined;
  const proxy = isRecord(s.Proxy)
    ? {
        ...(typeof s.Proxy.DestinationServiceName === 'string' ? { DestinationServiceName: s.Proxy.DestinationServiceName } : {}),
        ...(typeof s.Proxy.DestinationServiceID === 'string' ? { DestinationServiceID: s.Proxy.DestinationServiceID } : {}),
      }
    : undefined;
  const locality = isRecord(s.Locality)
    ? {
        ...(typeof s.Locality.Region === 'string' ? { Region: s.Locality.Region } : {}),
        ...(typeof s.Locality.Zone === 'string' ? { Zone: s.Locality.Zone } : {}),
      }
    : undefined;
  return {
    Node: {
      Node: n.Node,
      Address: typeof n.Address === 'string' ? n.Address : '',
      ...(typeof n.Datacenter === 'string' ? { Datacenter: n.Datacenter } : {}),
      Meta: stringMap(n.Meta),
    },
    Service: {
      ID: s.ID,
      Service: s.Service,
      ...(typeof s.Kind === 'string' && s.Kind !== '' ? { Kind: s.Kind } : {}),
      Tags: strings(s.Tags),
      Address: typeof s.Address === 'string' ? s.Address : '',
      Port: s.Port,
      Meta: stringMap(s.Meta),
      ...(weights ? { Weights: weights } : {}),
      ...(proxy ? { Proxy: proxy } : {}),
      ...(isRecord(s.Connect) && s.Connect.Native === true ? { Connect: { Native: true } } : {}),
      ...(locality ? { Locality: locality } : {}),
      ...(typeof s.Namespace === 'string' ? { Namespace: s.Namespace } : {}),
      ...(typeof s.Partition === 'string' ? { Partition: s.Partition } : {}),
    },
    Checks: checks,
  };
}

/** `GET /v1/kv/<prefix>?recurse`; 404 (nothing under the prefix) is an empty list. */
export function decodeKvEntries(res: ConsulResponse, what: string): KvEntry[] {
  expectOk(res, what, [404]);
  if (res.status === 404) return [];
  const body = parseJson(res, what);
  if (!Array.isArray(body)) throw invalid(what, 'expected a list of KV entries');
  return body.map((e, i) => {
    if (!isRecord(e) || typeof e.Key !== 'string') throw invalid(what, `entry ${i} has no Key`);
    let value: string | null = null;
    if (typeof e.Value === 'string') value = Buffer.from(e.Value, 'base64').toString('utf8');
    else if (e.Value !== null && e.Value !== undefined) throw invalid(what, `Value of ${e.Key} is not base64 text`);
    return { Key: e.Key, ModifyIndex: typeof e.ModifyIndex === 'number' ? e.ModifyIndex : 0, Value: value };
  });
}

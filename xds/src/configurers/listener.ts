import type { JsonObject } from '../resources/resource-type.js';
import {
  CORS_FILTER_NAME,
  CORS_TYPE_URL,
  FAULT_FILTER_NAME,
  FAULT_TYPE_URL,
  HCM_TYPE_URL,
  ROUTER_FILTER_NAME,
  ROUTER_TYPE_URL,
} from '../resources/type-urls.js';
import { adsConfigSource } from './common.js';

/** An HttpConnectionManager that fetches route config `routeConfigName` over ADS, no filters yet. */
export function rdsConnectionManager(routeConfigName: string): JsonObject {
  return {
    '@type': HCM_TYPE_URL,
    rds: { config_source: adsConfigSource(), route_config_name: routeConfigName },
    http_filters: [],
  };
}

function filtersOf(hcm: JsonObject): JsonObject[] {
  return Array.isArray(hcm.http_filters) ? (hcm.http_filters as JsonObject[]) : [];
}

function isRouter(f: JsonObject): boolean {
  return (f.typed_config as JsonObject | undefined)?.['@type'] === ROUTER_TYPE_URL;
}

/** Puts the router last, with its typed_config: both clients NACK it elsewhere or bare. */
export function withRouterFilter(hcm: JsonObject): JsonObject {
  const others = filtersOf(hcm).filter((f) => !isRouter(f));
  return {
    ...hcm,
    http_filters: [...others, { name: ROUTER_FILTER_NAME, typed_config: { '@type': ROUTER_TYPE_URL } }],
  };
}

/**
 * Adds an empty HCM-level fault filter (before the router). Routes configure it through
 * `typed_per_filter_config`; clients ignore those overrides when the HCM lacks the filter.
 */
export function withFaultFilter(hcm: JsonObject): JsonObject {
  const filters = filtersOf(hcm).filter((f) => f.name !== FAULT_FILTER_NAME);
  const fault = { name: FAULT_FILTER_NAME, typed_config: { '@type': FAULT_TYPE_URL } };
  const routerAt = filters.findIndex(isRouter);
  if (routerAt < 0) filters.push(fault);
  else filters.splice(routerAt, 0, fault);
  return { ...hcm, http_filters: filters };
}

/**
 * Adds Envoy's CORS filter (empty config; routes carry their policy in
 * `typed_per_filter_config`) before the fault filter, or before the router. Envoy only;
 * gRPC clients have no CORS filter and would NACK it.
 */
export function withCorsFilter(hcm: JsonObject): JsonObject {
  const filters = filtersOf(hcm).filter((f) => f.name !== CORS_FILTER_NAME);
  const cors = { name: CORS_FILTER_NAME, typed_config: { '@type': CORS_TYPE_URL } };
  const at = filters.findIndex((f) => f.name === FAULT_FILTER_NAME || isRouter(f));
  if (at < 0) filters.push(cors);
  else filters.splice(at, 0, cors);
  return { ...hcm, http_filters: filters };
}

/** A client-side (API) listener: what gRPC resolves `xds:///<name>` to. */
export function apiListener(name: string, hcm: JsonObject): JsonObject {
  return { name, api_listener: { api_listener: hcm } };
}

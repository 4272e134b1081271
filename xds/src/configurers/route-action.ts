import type {
  CorsPolicy,
  DirectResponse,
  HeaderManipulation,
  HeaderOperations,
  HttpRedirect,
  HttpRewrite,
  RetryPolicy,
  StringMatch,
} from '@isthmus/core';
import type { ClientHashKey } from '../capabilities/adapt.js';
import { GRPC_RETRY_ON } from '../capabilities/adapt.js';
import type { JsonObject } from '../resources/resource-type.js';
import {
  CORS_POLICY_TYPE_URL,
  PREVIOUS_HOSTS_NAME,
  PREVIOUS_HOSTS_TYPE_URL,
  PREVIOUS_PRIORITIES_NAME,
  PREVIOUS_PRIORITIES_TYPE_URL,
} from '../resources/type-urls.js';
import { durationFromMs, fractionalPercent } from './common.js';
import { DEFAULT_RETRY_ON } from './route.js';

/**
 * Small configurers for the parts of an Envoy `Route` beyond matching and the cluster
 * choice (route.ts has those): each takes the compiled rule and returns proto-shaped
 * JSON. Which client gets which is decided by the capability profile (capabilities/),
 * not here.
 */

/** envoy.type.matcher.v3.StringMatcher. */
export function stringMatcher(sm: StringMatch): JsonObject {
  if ('exact' in sm) return { exact: sm.exact };
  if ('prefix' in sm) return { prefix: sm.prefix };
  return { safe_regex: { regex: sm.regex } };
}

const REDIRECT_CODES: Readonly<Record<number, string>> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

/**
 * RedirectAction. `derivePort: FROM_REQUEST_PORT` keeps the port the request came in on
 * (`requestPort`, the service port); FROM_PROTOCOL_DEFAULT leaves it to the scheme. An
 * unknown code is passed through as a number, for the validators to refuse by name.
 */
export function redirectAction(r: HttpRedirect, requestPort: number): JsonObject {
  const out: JsonObject = {};
  if (r.scheme !== undefined) out.scheme_redirect = r.scheme;
  if (r.authority !== undefined) out.host_redirect = r.authority;
  if (r.port !== undefined) out.port_redirect = r.port;
  else if (r.derivePort === 'FROM_REQUEST_PORT') out.port_redirect = requestPort;
  if (r.uri !== undefined) out.path_redirect = r.uri;
  out.response_code = REDIRECT_CODES[r.redirectCode] ?? r.redirectCode;
  return out;
}

/** DirectResponseAction: inline text or (base64) bytes. */
export function directResponseAction(d: DirectResponse): JsonObject {
  const out: JsonObject = { status: d.status };
  if (d.body) out.body = 'string' in d.body ? { inline_string: d.body.string } : { inline_bytes: d.body.bytes };
  return out;
}

/**
 * Path and authority rewrite on a RouteAction. `uri` replaces the matched prefix (the
 * whole path for an exact match); with a regex match the whole path is the match, so it
 * becomes a regex rewrite of the whole path (Envoy takes prefix_rewrite with prefix and
 * path matches only).
 */
export function withRewrite(action: JsonObject, rw: HttpRewrite | undefined, uriMatch: StringMatch | undefined): JsonObject {
  if (!rw) return action;
  const out = { ...action };
  if (rw.uri !== undefined) {
    if (uriMatch && 'regex' in uriMatch) out.regex_rewrite = { pattern: { regex: '^.*$' }, substitution: rw.uri };
    else out.prefix_rewrite = rw.uri;
  } else if (rw.uriRegex) {
    out.regex_rewrite = { pattern: { regex: rw.uriRegex.match }, substitution: rw.uriRegex.rewrite };
  }
  if (rw.authority !== undefined) out.host_rewrite_literal = rw.authority;
  return out;
}

function headerValueOptions(ops: HeaderOperations | undefined): JsonObject[] {
  if (!ops) return [];
  const out: JsonObject[] = [];
  for (const [key, value] of Object.entries(ops.set ?? {})) {
    out.push({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
  }
  for (const [key, value] of Object.entries(ops.add ?? {})) {
    out.push({ header: { key, value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' });
  }
  return out;
}

/** Merges header edits, later ones winning for `set` (route-level first, then a destination's). */
export function mergeHeaderManipulation(...list: (HeaderManipulation | undefined)[]): HeaderManipulation | undefined {
  const merged: { request?: HeaderOperations; response?: HeaderOperations } = {};
  for (const h of list) {
    if (!h) continue;
    for (const dir of ['request', 'response'] as const) {
      const ops = h[dir];
      if (!ops) continue;
      const prev = merged[dir] ?? {};
      merged[dir] = {
        ...(ops.set || prev.set ? { set: { ...prev.set, ...ops.set } } : {}),
        ...(ops.add || prev.add ? { add: { ...prev.add, ...ops.add } } : {}),
        ...(ops.remove || prev.remove ? { remove: [...new Set([...(prev.remove ?? []), ...(ops.remove ?? [])])].sort() } : {}),
      };
    }
  }
  return merged.request || merged.response ? merged : undefined;
}

/**
 * `request_headers_to_add` / `_remove`, `response_headers_to_add` / `_remove`, as a Route
 * and a WeightedCluster.ClusterWeight both spell them; `set` overwrites, `add` appends.
 */
export function withHeaderManipulation(target: JsonObject, h: HeaderManipulation | undefined): JsonObject {
  if (!h) return target;
  const out = { ...target };
  const reqAdd = headerValueOptions(h.request);
  if (reqAdd.length > 0) out.request_headers_to_add = reqAdd;
  if (h.request?.remove?.length) out.request_headers_to_remove = [...h.request.remove];
  const resAdd = headerValueOptions(h.response);
  if (resAdd.length > 0) out.response_headers_to_add = resAdd;
  if (h.response?.remove?.length) out.response_headers_to_remove = [...h.response.remove];
  return out;
}

/** `request_mirror_policies`: fire-and-forget copies to each cluster at its percentage. */
export function mirrorPolicies(mirrors: readonly { cluster: string; percent: number }[]): JsonObject[] {
  return mirrors.map((m) => ({ cluster: m.cluster, runtime_fraction: { default_value: fractionalPercent(m.percent) } }));
}

/** envoy.extensions.filters.http.cors.v3.CorsPolicy, for the CORS filter's typed_per_filter_config. */
export function corsConfig(c: CorsPolicy): JsonObject {
  const out: JsonObject = { '@type': CORS_POLICY_TYPE_URL };
  if (c.allowOrigins.length > 0) out.allow_origin_string_match = c.allowOrigins.map(stringMatcher);
  if (c.allowMethods.length > 0) out.allow_methods = c.allowMethods.join(',');
  if (c.allowHeaders.length > 0) out.allow_headers = c.allowHeaders.join(',');
  if (c.exposeHeaders.length > 0) out.expose_headers = c.exposeHeaders.join(',');
  if (c.maxAgeSeconds !== undefined) out.max_age = String(c.maxAgeSeconds);
  if (c.allowCredentials !== undefined) out.allow_credentials = { value: c.allowCredentials };
  if (c.unmatchedPreflights !== undefined) out.forward_not_matching_preflights = { value: c.unmatchedPreflights === 'FORWARD' };
  return out;
}

/** RouteAction.HashPolicy for a consistent-hash key. */
export function hashPolicy(key: ClientHashKey): JsonObject {
  if ('header' in key) return { header: { header_name: key.header } };
  if ('cookie' in key) {
    const cookie: JsonObject = { name: key.cookie.name };
    if (key.cookie.path !== undefined) cookie.path = key.cookie.path;
    if (key.cookie.ttlMs !== undefined) cookie.ttl = durationFromMs(key.cookie.ttlMs);
    return { cookie };
  }
  if ('sourceIp' in key) return { connection_properties: { source_ip: true } };
  if ('queryParameter' in key) return { query_parameter: { name: key.queryParameter } };
  return { filter_state: { key: 'io.grpc.channel_id' } };
}

/** Istio prefers hosts not tried yet: the previous_hosts predicate, 5 selection attempts. */
function previousHosts(): JsonObject[] {
  return [{ name: PREVIOUS_HOSTS_NAME, typed_config: { '@type': PREVIOUS_HOSTS_TYPE_URL } }];
}

/**
 * An Envoy retry policy as Istio builds it. No `retries` in the rule: Istio's default
 * (2 attempts on connect-failure, refused-stream, unavailable, cancelled and 503, a new
 * host each time). `attempts: 0`: none. Numeric `retryOn` entries become
 * `retriable_status_codes` with `retriable-status-codes`.
 */
export function envoyRetryPolicy(r: RetryPolicy | undefined): JsonObject | undefined {
  if (r && r.attempts <= 0) return undefined;
  const tokens = (r?.retryOn ?? DEFAULT_RETRY_ON).split(',').filter((t) => t !== '');
  const codes = tokens.filter((t) => /^\d+$/.test(t)).map(Number);
  const conditions = tokens.filter((t) => !/^\d+$/.test(t));
  if (codes.length > 0 && !conditions.includes('retriable-status-codes')) conditions.push('retriable-status-codes');
  if (!r?.retryOn && codes.length === 0) codes.push(503);
  const policy: JsonObject = { retry_on: conditions.join(','), num_retries: { value: r?.attempts ?? 2 } };
  if (r?.perTryTimeoutMs) policy.per_try_timeout = durationFromMs(r.perTryTimeoutMs);
  if (r?.retryRemoteLocalities) {
    policy.retry_priority = { name: PREVIOUS_PRIORITIES_NAME, typed_config: { '@type': PREVIOUS_PRIORITIES_TYPE_URL, update_frequency: 2 } };
  }
  if (r?.retryIgnorePreviousHosts !== false) {
    policy.retry_host_predicate = previousHosts();
    policy.host_selection_retry_max_attempts = 5;
  }
  if (codes.length > 0) policy.retriable_status_codes = codes;
  if (r?.backoffMs) policy.retry_back_off = { base_interval: durationFromMs(r.backoffMs) };
  return policy;
}

/**
 * A proxyless gRPC retry policy, or undefined: no retries unless the rule asks (gRPC
 * already retries transparently when a call never left the client), and never
 * `num_retries: 0` (grpc-js NACKs it). Conditions are gRPC statuses only; the
 * capability layer already dropped (and reported) the others.
 */
export function grpcRetryPolicy(r: RetryPolicy | undefined): JsonObject | undefined {
  if (!r || r.attempts <= 0) return undefined;
  const tokens = (r.retryOn ?? DEFAULT_RETRY_ON).split(',').filter((t) => GRPC_RETRY_ON.has(t));
  if (tokens.length === 0) return undefined;
  const policy: JsonObject = { retry_on: tokens.join(','), num_retries: { value: r.attempts } };
  if (r.perTryTimeoutMs) policy.per_try_timeout = durationFromMs(r.perTryTimeoutMs);
  if (r.backoffMs) policy.retry_back_off = { base_interval: durationFromMs(r.backoffMs) };
  return policy;
}

import type { StatusObject } from './types.js';

/**
 * An API error as kube-apiserver reports it: an HTTP code and a `Status` body whose
 * `reason` tells clients what happened (client-go and client-node branch on code/reason,
 * never on the message). Message texts follow apimachinery's `errors.New*` helpers.
 */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusObject['details'],
    readonly headers: Record<string, string> = {},
    readonly listMeta: StatusObject['metadata'] = {},
  ) {
    super(message);
  }

  status(): StatusObject {
    return statusObject(this.code, this.reason, this.message, this.details, this.listMeta);
  }
}

/** The reason apiserver gives each code (apimachinery `StatusReason` constants). */
export const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function statusObject(code: number, reason: string, message: string, details?: StatusObject['details'], metadata: StatusObject['metadata'] = {}): StatusObject {
  // Key order as apiserver encodes it: kind, apiVersion, metadata, status, message, reason, details, code.
  return { kind: 'Status', apiVersion: 'v1', metadata: { ...metadata }, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

/** `services "web"`, `endpointslices.discovery.k8s.io "web-abc"`: how apiserver names a resource in messages. */
export function qualified(plural: string, group: string, name: string): string {
  return `${group ? `${plural}.${group}` : plural} "${name}"`;
}

const details = (plural: string, group: string, name: string) => ({ name, ...(group ? { group } : {}), kind: plural });

export const notFound = (plural: string, group: string, name: string) =>
  new ApiError(404, 'NotFound', `${qualified(plural, group, name)} not found`, details(plural, group, name));

export const alreadyExists = (plural: string, group: string, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualified(plural, group, name)} already exists`, details(plural, group, name));

export const conflict = (plural: string, group: string, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(plural, group, name)}: ${why}`, details(plural, group, name));

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);

export const invalid = (kind: string, name: string, cause: string) =>
  new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${cause}`, { name, kind });

/** The watch cache's answer to a resourceVersion older than its history. */
export const tooOld = (requested: number, oldest: number) => new ApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);

export const pathNotFound = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource');

/** A Status for an arbitrary code, as fault injection asks for it. */
export function errorFor(code: number, reason?: string, message?: string, retryAfterSeconds?: number): ApiError {
  const r = reason ?? REASONS[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest');
  const text = message ?? defaultMessage(code);
  const headers: Record<string, string> = retryAfterSeconds !== undefined ? { 'Retry-After': String(retryAfterSeconds) } : {};
  return new ApiError(code, r, text, retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined, headers);
}

function defaultMessage(code: number): string {
  switch (code) {
    case 401:
      return 'Unauthorized';
    case 403:
      return 'forbidden: User "system:anonymous" cannot perform this action';
    case 429:
      return 'Too many requests, please try again later.';
    case 500:
      return 'Internal error occurred: etcdserver: leader changed';
    case 503:
      return 'the server is currently unable to handle the request';
    case 504:
      return 'the server was unable to return a response in the time allotted, but may still be processing the request';
    default:
      return REASONS[code] ?? `error ${code}`;
  }
}

/**
 * Port protocol names Istio accepts (case-insensitive, as Istio parses them). How each maps
 * onto the canonical model is the registry's job (`toProtocol` in registry/service-entries.ts);
 * validation only needs to know which names are Istio's, to warn about the others.
 */
export const ISTIO_PROTOCOL_NAMES: readonly string[] = [
  'HTTP',
  'HTTPS',
  'HTTP2',
  'GRPC',
  'GRPC-WEB',
  'HTTP_PROXY',
  'TCP',
  'TLS',
  'MONGO',
  'REDIS',
  'MYSQL',
  'UDP',
];

const KNOWN = new Set(ISTIO_PROTOCOL_NAMES);

export function isIstioProtocol(name: string): boolean {
  return KNOWN.has(name.toUpperCase());
}

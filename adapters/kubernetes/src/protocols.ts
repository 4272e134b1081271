import { toProtocol, type Protocol } from '@isthmus/core';

/*
 * A Service port's protocol, by Istio's rules (pkg/config/kube ConvertProtocol and
 * "Protocol Selection" in Istio's docs): UDP is not proxied; `appProtocol` wins when set,
 * with Kubernetes' standard names (`kubernetes.io/h2c` ...); otherwise the port name's
 * prefix up to the first `-` (`http-web`, `grpc`, `tcp-db`), `grpc-web` first since it
 * holds a hyphen. Names are case-insensitive. Istio sniffs the protocol of a port nothing
 * names; Isthmus does not sniff, so such a port is TCP.
 */

/** Istio's protocol names, upper-case, as `protocol.Parse` accepts them. */
const ISTIO_NAMES = new Set(['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY', 'TCP', 'TLS', 'MONGO', 'REDIS', 'MYSQL', 'UDP']);

/** Kubernetes' standard appProtocol values (KEP-3726) in Istio's terms. */
const KUBERNETES_APP_PROTOCOLS: Readonly<Record<string, string>> = {
  'kubernetes.io/h2c': 'HTTP2',
  'kubernetes.io/ws': 'HTTP',
  'kubernetes.io/wss': 'HTTPS',
};

/**
 * The Istio protocol name of a Service port (`HTTP`, `GRPC-WEB`, `MONGO` ...), `UDP` for
 * UDP and SCTP ports, or undefined when nothing names one (Istio would sniff it).
 */
export function istioProtocolOf(port: { readonly name?: string | undefined; readonly protocol?: string | undefined; readonly appProtocol?: string | undefined }): string | undefined {
  const transport = (port.protocol ?? 'TCP').toUpperCase();
  if (transport === 'UDP' || transport === 'SCTP') return 'UDP';
  let name = port.name ?? '';
  if (port.appProtocol) {
    const standard = KUBERNETES_APP_PROTOCOLS[port.appProtocol];
    if (standard) return standard;
    name = port.appProtocol;
  }
  const upper = name.toUpperCase();
  if (upper.startsWith('GRPC-WEB')) return 'GRPC-WEB';
  const dash = upper.indexOf('-');
  const prefix = dash >= 0 ? upper.slice(0, dash) : upper;
  return ISTIO_NAMES.has(prefix) ? prefix : undefined;
}

/**
 * The mesh protocol of a Service port (HTTP|HTTP2|GRPC|TCP|TLS), or undefined for a port
 * the mesh does not carry (UDP, SCTP). Istio's names map as everywhere in Isthmus (core's
 * `toProtocol`): HTTPS → TLS, GRPC-WEB → HTTP2, MONGO/REDIS/MYSQL → TCP, unnamed → TCP.
 */
export function portProtocol(port: Parameters<typeof istioProtocolOf>[0]): Protocol | undefined {
  const istio = istioProtocolOf(port);
  if (istio === 'UDP') return undefined;
  if (istio === 'HTTP_PROXY') return 'HTTP';
  return toProtocol(istio);
}

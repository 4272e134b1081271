import type { Cluster } from '@kubernetes/client-node';

/** OpenSSL's "the chain does not lead to a CA we trust" verification errors. */
const UNTRUSTED = /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY_LEAF|CERT_UNTRUSTED|INVALID_CA|CERT_SIGNATURE_FAILURE/;

/**
 * A TLS failure in operator terms, or undefined for other errors. Node says only
 * "self-signed certificate" or "unable to verify the first certificate"; the fix is
 * nearly always the CA the client trusts, so name that CA (kubeconfig data, a file such as
 * the service account's ca.crt, or none: the system's CAs).
 */
export function describeTlsError(err: NodeJS.ErrnoException, cluster: Cluster | null): string | undefined {
  const code = err.code ?? '';
  if (UNTRUSTED.test(code)) {
    const ca = cluster?.caFile
      ? `is ${cluster.caFile} the CA that signed it?`
      : cluster?.caData
        ? `is the kubeconfig's certificate-authority-data the CA that signed it?`
        : 'the kubeconfig names no certificate-authority, so only the system CAs are trusted';
    return `TLS: the API server's certificate is not trusted (${err.message}, ${code}); ${ca}`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `TLS: ${err.message}; use a server address the certificate names, or set tls-server-name`;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') return `TLS handshake failed (${err.message}); is the server speaking plain HTTP?`;
  if (/^(ERR_TLS_|ERR_SSL_)|^CERT_/.test(code)) return `TLS: ${err.message} (${code})`;
  return undefined;
}

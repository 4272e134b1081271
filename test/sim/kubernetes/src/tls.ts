import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A PEM certificate and its key, and where they were written. */
export interface TlsCertificate {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * Writes a self-signed certificate for 127.0.0.1 and localhost (P-256, valid one day) to
 * `<dir>/<name>.crt` and `<dir>/<name>.key`, with the `openssl` CLI: Node can serve TLS but
 * cannot create certificates, and openssl is on every Debian machine (developers' and CI's).
 * The certificate is its own CA: give it to clients as the one to trust.
 */
export function selfSignedCertificate(dir: string, name = 'apiserver'): TlsCertificate {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const args = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile,
  ];
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('selfSignedCertificate: the openssl CLI is not installed (apt-get install openssl)');
    throw new Error(`selfSignedCertificate: openssl failed: ${e.stderr?.toString().trim() || e.message}`);
  }
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

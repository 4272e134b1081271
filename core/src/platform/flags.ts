import type { PlatformTlsOptions } from './http-client.js';

/** A repeatable and/or comma separated CLI flag as a list (trimmed, empties dropped). */
export function splitListFlag(v: readonly string[] | undefined): string[] {
  return (v ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
}

/** The TLS flags of a platform adapter, already merged with their environment fallbacks. */
export interface PlatformTlsFlags {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly serverName?: string | undefined;
  readonly skipVerify?: boolean | undefined;
}

/**
 * TLS flags → client TLS options (unset values left out). `platform` names the flags in the
 * error: a certificate without its key (or the reverse) throws
 * `--<platform>-cert-file and --<platform>-key-file go together`.
 */
export function platformTlsFromFlags(platform: string, f: PlatformTlsFlags): PlatformTlsOptions {
  const { caFile, certFile, keyFile, serverName, skipVerify } = f;
  if ((certFile && !keyFile) || (!certFile && keyFile)) throw new Error(`--${platform}-cert-file and --${platform}-key-file go together`);
  return {
    ...(caFile ? { caFile } : {}),
    ...(certFile ? { certFile } : {}),
    ...(keyFile ? { keyFile } : {}),
    ...(serverName ? { serverName } : {}),
    ...(skipVerify ? { insecureSkipVerify: true } : {}),
  };
}

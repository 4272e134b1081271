import { platformTlsFromFlags, splitListFlag } from '@isthmus/core';
import type { NomadModuleOptions } from './nomad-module.js';
import type { HealthMode } from './options.js';

/** The `isthmus serve --nomad*` flags as commander parses them (camelCase). */
export interface NomadFlags {
  readonly nomad: string;
  readonly nomadToken?: string;
  readonly nomadTokenFile?: string;
  /** Repeatable and/or comma separated; `*` for all. */
  readonly nomadNamespace?: readonly string[];
  /** Repeatable and/or comma separated: one source per region. */
  readonly nomadRegion?: readonly string[];
  readonly nomadDomain?: string;
  readonly nomadHealth?: string;
  readonly nomadService?: readonly string[];
  readonly nomadTag?: readonly string[];
  readonly nomadCaFile?: string;
  readonly nomadCertFile?: string;
  readonly nomadKeyFile?: string;
  readonly nomadTlsServerName?: string;
  readonly nomadTlsSkipVerify?: boolean;
}

/**
 * Flags → module options. Unset flags fall back to the `nomad` CLI's own environment
 * variables (NOMAD_TOKEN, NOMAD_NAMESPACE, NOMAD_REGION, NOMAD_CACERT, NOMAD_CLIENT_CERT,
 * NOMAD_CLIENT_KEY, NOMAD_TLS_SERVER_NAME, NOMAD_SKIP_VERIFY), so an environment set up for
 * `nomad` just works.
 */
export function nomadOptionsFromFlags(f: NomadFlags, env: NodeJS.ProcessEnv = process.env): NomadModuleOptions {
  const health = f.nomadHealth ?? 'checks';
  if (health !== 'checks' && health !== 'placed') throw new Error(`--nomad-health must be "checks" or "placed", not "${health}"`);
  const token = f.nomadToken ?? env.NOMAD_TOKEN;
  const namespaces = splitListFlag(f.nomadNamespace);
  if (namespaces.length === 0 && env.NOMAD_NAMESPACE) namespaces.push(...splitListFlag([env.NOMAD_NAMESPACE]));
  const regions = splitListFlag(f.nomadRegion);
  if (regions.length === 0 && env.NOMAD_REGION) regions.push(env.NOMAD_REGION);
  const tls = platformTlsFromFlags('nomad', {
    caFile: f.nomadCaFile ?? env.NOMAD_CACERT,
    certFile: f.nomadCertFile ?? env.NOMAD_CLIENT_CERT,
    keyFile: f.nomadKeyFile ?? env.NOMAD_CLIENT_KEY,
    serverName: f.nomadTlsServerName ?? env.NOMAD_TLS_SERVER_NAME,
    skipVerify: f.nomadTlsSkipVerify ?? ['1', 'true'].includes((env.NOMAD_SKIP_VERIFY ?? '').toLowerCase()),
  });
  return {
    address: f.nomad,
    ...(token ? { token } : {}),
    ...(f.nomadTokenFile ? { tokenFile: f.nomadTokenFile } : {}),
    namespaces,
    regions,
    tls,
    ...(f.nomadDomain ? { domain: f.nomadDomain } : {}),
    health: health as HealthMode,
    services: splitListFlag(f.nomadService),
    tags: splitListFlag(f.nomadTag),
  };
}

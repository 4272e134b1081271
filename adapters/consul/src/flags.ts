import { platformTlsFromFlags, splitListFlag } from '@isthmus/core';
import type { ConnectMode } from './options.js';
import type { ConsulModuleOptions } from './consul-module.js';

/** The `isthmus serve --consul*` flags as commander parses them (camelCase). */
export interface ConsulFlags {
  readonly consul: string;
  readonly consulToken?: string;
  readonly consulTokenFile?: string;
  /** Repeatable and/or comma separated. */
  readonly consulDc?: readonly string[];
  readonly consulNamespace?: string;
  readonly consulPartition?: string;
  readonly consulCaFile?: string;
  readonly consulCertFile?: string;
  readonly consulKeyFile?: string;
  readonly consulTlsServerName?: string;
  readonly consulTlsSkipVerify?: boolean;
  readonly consulDomain?: string;
  readonly consulService?: readonly string[];
  readonly consulTag?: readonly string[];
  readonly consulKvPrefix?: string;
  readonly consulConnect?: string;
}

/**
 * Flags → module options. Unset flags fall back to Consul's own environment variables
 * (CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE, CONSUL_NAMESPACE, CONSUL_PARTITION,
 * CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME,
 * CONSUL_HTTP_SSL_VERIFY=false), so an environment set up for the `consul` CLI just works.
 */
export function consulOptionsFromFlags(f: ConsulFlags, env: NodeJS.ProcessEnv = process.env): ConsulModuleOptions {
  const connect = f.consulConnect ?? 'ignore';
  if (connect !== 'ignore' && connect !== 'sidecar') throw new Error(`--consul-connect must be "ignore" or "sidecar", not "${connect}"`);
  const token = f.consulToken ?? env.CONSUL_HTTP_TOKEN;
  const tokenFile = f.consulTokenFile ?? env.CONSUL_HTTP_TOKEN_FILE;
  const namespace = f.consulNamespace ?? env.CONSUL_NAMESPACE;
  const partition = f.consulPartition ?? env.CONSUL_PARTITION;
  const tls = platformTlsFromFlags('consul', {
    caFile: f.consulCaFile ?? env.CONSUL_CACERT,
    certFile: f.consulCertFile ?? env.CONSUL_CLIENT_CERT,
    keyFile: f.consulKeyFile ?? env.CONSUL_CLIENT_KEY,
    serverName: f.consulTlsServerName ?? env.CONSUL_TLS_SERVER_NAME,
    skipVerify: f.consulTlsSkipVerify ?? env.CONSUL_HTTP_SSL_VERIFY === 'false',
  });
  return {
    address: f.consul,
    ...(token ? { token } : {}),
    ...(tokenFile ? { tokenFile } : {}),
    ...(namespace ? { namespace } : {}),
    ...(partition ? { partition } : {}),
    tls,
    datacenters: splitListFlag(f.consulDc),
    ...(f.consulDomain ? { domain: f.consulDomain } : {}),
    services: splitListFlag(f.consulService),
    tags: splitListFlag(f.consulTag),
    ...(f.consulKvPrefix ? { kvPrefix: f.consulKvPrefix } : {}),
    connect: connect as ConnectMode,
  };
}

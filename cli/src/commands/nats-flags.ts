import { Command, InvalidArgumentError, Option } from 'commander';
import { checkMeshId, type NatsBusOptions, type NatsConnectionOptions } from '@isthmus/plugin-nats';

/** The NATS flags of serve, adapter, xds, apply, get and delete, as commander parses them. */
export interface NatsFlags {
  readonly nats?: string;
  readonly mesh: string;
  readonly natsUser?: string;
  readonly natsPassword?: string;
  readonly natsToken?: string;
  readonly natsNkey?: string;
  readonly natsCreds?: string;
  readonly natsCa?: string;
  readonly natsCert?: string;
  readonly natsKey?: string;
  readonly natsTlsFirst?: boolean;
  readonly natsReplicas: number;
  readonly natsHistory: number;
  readonly natsBindOnly?: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  return n;
}

function meshId(value: string): string {
  try {
    return checkMeshId(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/**
 * Adds the NATS connection flags. Secrets also come from the environment (NATS_USER,
 * NATS_PASSWORD, NATS_TOKEN, NATS_NKEY, NATS_CREDS) so they stay out of process lists.
 */
export function withNatsOptions(cmd: Command, opts: { required?: boolean } = {}): Command {
  const url = new Option('--nats <urls>', 'NATS server(s), comma separated (nats://host:4222, tls://host:4222)');
  if (opts.required) url.makeOptionMandatory();
  return cmd
    .addOption(url)
    .addOption(new Option('--mesh <id>', 'mesh id: names the KV buckets and subjects, so meshes can share one NATS').default('default').argParser(meshId))
    .addOption(new Option('--nats-user <user>', 'NATS user (with --nats-password)').env('NATS_USER'))
    .addOption(new Option('--nats-password <password>', 'NATS password').env('NATS_PASSWORD'))
    .addOption(new Option('--nats-token <token>', 'NATS token').env('NATS_TOKEN'))
    .addOption(new Option('--nats-nkey <file>', 'file holding an nkey seed (SU...)').env('NATS_NKEY'))
    .addOption(new Option('--nats-creds <file>', 'NATS .creds file (JWT + nkey seed)').env('NATS_CREDS'))
    .addOption(new Option('--nats-ca <file>', 'CA bundle that signs the NATS server certificate (enables TLS)'))
    .addOption(new Option('--nats-cert <file>', 'client certificate for mutual TLS'))
    .addOption(new Option('--nats-key <file>', 'client key for mutual TLS'))
    .addOption(new Option('--nats-tls-first', 'TLS handshake before the NATS protocol (servers with handshake_first)'))
    .addOption(new Option('--nats-replicas <n>', 'replicas of the KV buckets this process creates (3 on a 3-node cluster)').default(1).argParser(positiveInt))
    .addOption(new Option('--nats-history <n>', 'revisions kept per registry/config key').default(10).argParser(positiveInt))
    .addOption(new Option('--nats-bind-only', 'never create buckets, only use existing ones (least-privilege credentials)'));
}

export function natsConnectionFromFlags(f: NatsFlags, name?: string): NatsConnectionOptions {
  if (!f.nats) throw new Error('--nats <url> is required');
  if ((f.natsCert && !f.natsKey) || (!f.natsCert && f.natsKey)) throw new Error('--nats-cert and --nats-key go together');
  const servers = f.nats.split(',').map((s) => s.trim()).filter(Boolean);
  const tls = f.natsCa || f.natsCert || f.natsTlsFirst
    ? {
        ...(f.natsCa ? { caFile: f.natsCa } : {}),
        ...(f.natsCert ? { certFile: f.natsCert } : {}),
        ...(f.natsKey ? { keyFile: f.natsKey } : {}),
        ...(f.natsTlsFirst ? { handshakeFirst: true } : {}),
      }
    : undefined;
  return {
    servers,
    ...(name ? { name } : {}),
    ...(f.natsUser ? { user: f.natsUser } : {}),
    ...(f.natsPassword ? { password: f.natsPassword } : {}),
    ...(f.natsToken ? { token: f.natsToken } : {}),
    ...(f.natsNkey ? { nkeySeedFile: f.natsNkey } : {}),
    ...(f.natsCreds ? { credsFile: f.natsCreds } : {}),
    ...(tls ? { tls } : {}),
  };
}

/** Bus options from the flags (everything but logger, metrics and what a role adds). */
export function natsBusOptionsFromFlags(f: NatsFlags, extra: Partial<NatsBusOptions> = {}): NatsBusOptions {
  return {
    connection: natsConnectionFromFlags(f),
    mesh: f.mesh,
    replicas: f.natsReplicas,
    history: f.natsHistory,
    ...(f.natsBindOnly ? { bindOnly: true } : {}),
    ...extra,
  };
}

export function parseDurationMs(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`"${value}" is not a duration (e.g. 500ms, 15s, 5m)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return Math.round(n * (unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1000 : 1));
}

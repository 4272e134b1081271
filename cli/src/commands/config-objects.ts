import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'yaml';
import {
  CONFIG_KINDS,
  DEFAULT_NAMESPACE,
  createLogger,
  findKindByName,
  formatIssue,
  objectKey,
  stableStringify,
  validateObjects,
  type ConfigIssue,
  type ConfigMessage,
  type ConfigObject,
  type KindDescriptor,
  type SourcedObject,
} from '@isthmus/core';
import { NatsBus } from '@isthmus/plugin-nats';
import { readConfigFiles } from '../config-files.js';
import { natsBusOptionsFromFlags, parseDurationMs, withNatsOptions, type NatsFlags } from './nats-flags.js';

/** Config parts written by `isthmus apply`: one per object, `apply/<kind>/<ns>/<name>`. */
export const APPLY_PREFIX = 'apply/';
export const applyPart = (o: Pick<ConfigObject, 'kind' | 'metadata'>): string => `${APPLY_PREFIX}${objectKey(o)}`;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface ClientFlags extends NatsFlags {
  readonly timeout: number;
  readonly logLevel: string;
}

function withClientOptions(cmd: Command): Command {
  withNatsOptions(cmd, { required: true });
  return cmd
    .addOption(new Option('--timeout <duration>', 'give up when NATS does not answer within this').default(15_000, '15s').argParser(parseDurationMs))
    .addOption(new Option('--log-level <level>', 'log level of the NATS client (stderr)').default(process.env.ISTHMUS_LOG_LEVEL ?? 'warn'));
}

/** A bus that mirrors only the config, once its KV state is loaded (or an error after the timeout). */
async function openConfigBus(f: ClientFlags): Promise<NatsBus> {
  const logger = createLogger(f.logLevel);
  const bus = new NatsBus(natsBusOptionsFromFlags(f, { mirror: ['config'], logger: logger.child({ component: 'nats' }) }));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${bus.notReadyReason() ?? 'NATS'}: no answer within ${f.timeout} ms`)), f.timeout);
  });
  try {
    await Promise.race([bus.ready(), timeout]);
    return bus;
  } catch (err) {
    await bus.close().catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function withBus<T>(f: ClientFlags, fn: (bus: NatsBus) => Promise<T>): Promise<T> {
  const bus = await openConfigBus(f);
  try {
    return await fn(bus);
  } finally {
    await bus.close();
  }
}

/** Issues of a set of parts, validated the way ConfigStore does: other parts by name, `last` at the end. */
function validateParts(parts: ReadonlyMap<string, ConfigMessage>, last: readonly string[] = []): ConfigIssue[] {
  const names = [...parts.keys()].filter((p) => !last.includes(p)).sort();
  // The proposed objects last, in the order of their files (as `validate` reports them).
  names.push(...last.filter((p) => parts.has(p)));
  return validateObjects(names.flatMap((p) => parts.get(p)!.objects));
}

const issueKey = (i: ConfigIssue): string => `${i.severity} ${formatIssue(i)}`;

/** Where each object of the shared config lives: `<kind>/<ns>/<name>` → part. */
function ownersOf(parts: ReadonlyMap<string, ConfigMessage>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [part, m] of parts) for (const o of m.objects) out.set(objectKey(o.object), part);
  return out;
}

const displayName = (o: Pick<ConfigObject, 'kind' | 'metadata'>): string => `${o.kind.toLowerCase()}/${o.metadata.name}`;

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no acknowledgement from NATS within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export function applyCommand(): Command {
  const cmd = new Command('apply')
    .description('Validate objects and store them in the mesh\'s shared config on NATS (nothing is stored when any is invalid)')
    .requiredOption('-f, --filename <path>', 'file or directory, `-` for stdin (repeatable)', collect, [])
    .option('--dry-run', 'validate against the shared config, store nothing');
  withClientOptions(cmd);
  return cmd
    .addHelpText('after', `
Objects are validated together with every rule already on NATS, with the same messages as
\`isthmus validate\`. Each applied object is its own entry (apply/<kind>/<ns>/<name>);
\`isthmus delete\` removes it. Objects published by an adapter's files are changed there.

Examples:
  isthmus apply -f canary.yaml --nats nats://127.0.0.1:4222
  cat vs.yaml | isthmus apply -f - --nats nats://nats:4222 --mesh prod`)
    .action(async (opts: ClientFlags & { filename: string[]; dryRun?: boolean }) => {
      const { objects, issues: parseIssues, files } = await readConfigFiles(opts.filename);
      const parseErrors = parseIssues.filter((i) => i.severity === 'error');
      if (parseErrors.length > 0) {
        for (const e of parseErrors) process.stderr.write(`error: ${formatIssue(e)}\n`);
        process.stderr.write(`${objects.length} object(s) in ${files} file(s): ${parseErrors.length} error(s); nothing applied\n`);
        process.exitCode = 1;
        return;
      }
      await withBus(opts, async (bus) => {
        const current = new Map(bus.config.entries());
        const mine: string[] = [];
        const candidate = new Map(current);
        const proposed = new Map<string, SourcedObject[]>();
        for (const o of objects) {
          const part = applyPart(o.object);
          if (!mine.includes(part)) mine.push(part);
          proposed.set(part, [...(proposed.get(part) ?? []), o]);
        }
        for (const [part, list] of proposed) candidate.set(part, { source: part, objects: list, updatedAt: new Date().toISOString() });
        const before = new Set(validateParts(current).map(issueKey));
        const issues = validateParts(candidate, mine);
        const origins = new Set(objects.map((o) => o.origin));
        const errors = issues.filter((i) => i.severity === 'error' && !before.has(issueKey(i)));
        const warnings = [...parseIssues, ...issues.filter((i) => i.severity === 'warning' && origins.has(i.source))];
        for (const e of errors) process.stderr.write(`error: ${formatIssue(e)}\n`);
        for (const w of warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
        if (errors.length > 0) {
          process.stderr.write(`${objects.length} object(s) in ${files} file(s): ${errors.length} error(s), ${warnings.length} warning(s); nothing applied\n`);
          process.exitCode = 1;
          return;
        }
        const results: string[] = [];
        const changed: [string, ConfigMessage][] = [];
        for (const [part, list] of proposed) {
          const stored: ConfigMessage = { source: part, objects: list.map((o) => ({ object: o.object, origin: `nats:${part}` })), updatedAt: new Date().toISOString() };
          const existing = current.get(part);
          const same = existing && stableStringify(existing.objects.map((o) => o.object)) === stableStringify(stored.objects.map((o) => o.object));
          const name = displayName(list[0]!.object);
          if (same) {
            results.push(`${name} unchanged`);
            continue;
          }
          results.push(`${name} ${existing ? 'configured' : 'created'}${opts.dryRun ? ' (dry run)' : ''}`);
          changed.push([part, stored]);
        }
        // Parts written together are marked as a batch: rules engines wait for the rest
        // instead of building the first one at once (it may need the others).
        const batch = changed.length > 1 ? randomUUID() : undefined;
        const writes = opts.dryRun ? [] : changed.map(([part, stored]) => bus.config.put(part, batch ? { ...stored, batch } : stored));
        await withTimeout(Promise.all(writes), opts.timeout, 'apply');
        process.stdout.write(results.map((r) => `${r}\n`).join(''));
      });
    });
}

interface Selection {
  readonly kinds: readonly KindDescriptor[] | 'all';
  readonly name?: string;
  readonly namespace?: string;
}

function parseType(type: string): readonly KindDescriptor[] | 'all' {
  if (type === 'all') return 'all';
  const kinds = type.split(',').map((t) => {
    const d = findKindByName(t.trim());
    if (!d) throw new InvalidArgumentError(`unknown resource type "${t}"; known: ${CONFIG_KINDS.flatMap((k) => [k.plural, ...k.shortNames]).join(', ')}, proxy-status, sources`);
    return d;
  });
  return kinds;
}

function selected(o: ConfigObject, s: Selection): boolean {
  if (s.kinds !== 'all' && !s.kinds.some((k) => k.kind === o.kind)) return false;
  if (s.name !== undefined && o.metadata.name !== s.name) return false;
  if (s.namespace !== undefined && (o.metadata.namespace ?? DEFAULT_NAMESPACE) !== s.namespace) return false;
  return true;
}

function sortObjects(list: ConfigObject[]): ConfigObject[] {
  return list.sort((a, b) => {
    const ka = objectKey(a);
    const kb = objectKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

function print(objects: readonly ConfigObject[], output: string): void {
  switch (output) {
    case 'json':
      process.stdout.write(JSON.stringify(objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects }, null, 2) + '\n');
      return;
    case 'name':
      process.stdout.write(objects.map((o) => `${displayName(o)}\n`).join(''));
      return;
    default:
      process.stdout.write(objects.map((o) => stringify(o)).join('---\n'));
  }
}

export function getCommand(): Command {
  const cmd = new Command('get')
    .description('Print objects of the mesh\'s shared config on NATS (YAML, JSON or names); also proxy-status and sources')
    .argument('[type]', 'virtualservices|vs, destinationrules|dr, serviceentries|se, ..., all; or proxy-status, sources')
    .argument('[name]', 'one object by name')
    .option('-f, --filename <path>', 'get the objects named in these files (repeatable)', collect, [])
    .option('-n, --namespace <ns>', 'namespace (default: default)')
    .option('-A, --all-namespaces', 'every namespace')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json', 'name']).default('yaml'));
  withClientOptions(cmd);
  return cmd
    .addHelpText('after', `
Examples:
  isthmus get vs --nats nats://127.0.0.1:4222
  isthmus get virtualservices -n shop -o json --nats nats://nats:4222
  isthmus get vs greeter --nats nats://nats:4222
  isthmus get -f canary.yaml --nats nats://nats:4222
  isthmus get proxy-status --nats nats://nats:4222`)
    .action(async (type: string | undefined, name: string | undefined, opts: ClientFlags & {
      filename: string[]; namespace?: string; allNamespaces?: boolean; output: string;
    }) => {
      if (type === 'proxy-status' || type === 'proxies' || type === 'ps') return getProxyStatus(opts);
      if (type === 'sources') return getSources(opts);
      if (!type && opts.filename.length === 0) throw new Error('give a resource type (e.g. `get vs`) or -f <file>');
      const fromFiles = opts.filename.length > 0 ? (await readConfigFiles(opts.filename)).objects.map((o) => objectKey(o.object)) : undefined;
      const selection: Selection = {
        kinds: type ? parseType(type) : 'all',
        ...(name !== undefined ? { name } : {}),
        ...(opts.allNamespaces ? {} : { namespace: opts.namespace ?? DEFAULT_NAMESPACE }),
      };
      await withBus(opts, async (bus) => {
        const all = [...bus.config.entries().values()].flatMap((m) => m.objects.map((o) => o.object));
        const found = fromFiles
          ? all.filter((o) => fromFiles.includes(objectKey(o)))
          : all.filter((o) => selected(o, selection));
        const missing = fromFiles ? fromFiles.filter((k) => !found.some((o) => objectKey(o) === k)) : [];
        for (const k of missing) process.stderr.write(`error: ${k} not found\n`);
        if (name !== undefined && found.length === 0) {
          const plural = selection.kinds === 'all' ? 'objects' : selection.kinds.map((k) => k.plural).join(',');
          process.stderr.write(`error: ${plural} "${name}" not found${selection.namespace ? ` in namespace ${selection.namespace}` : ''}\n`);
          process.exitCode = 1;
          return;
        }
        if (missing.length > 0) process.exitCode = 1;
        print(sortObjects(found), opts.output);
      });
    });
}

async function getProxyStatus(opts: ClientFlags & { output: string }): Promise<void> {
  const bus = new NatsBus(natsBusOptionsFromFlags(opts, { mirror: ['proxyStatus'], logger: createLogger(opts.logLevel) }));
  try {
    await withTimeout(bus.ready(), opts.timeout, 'proxy-status');
    const rows = [...bus.proxyStatus.entries().values()].sort((a, b) => (a.proxyId + a.server < b.proxyId + b.server ? -1 : 1));
    if (opts.output === 'json') {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return;
    }
    const short = (t: string) => t.replace(/^.*\./, '').replace('ClusterLoadAssignment', 'EDS').replace('RouteConfiguration', 'RDS').replace('Cluster', 'CDS').replace('Listener', 'LDS');
    const cell = (t: { sent?: string; acked?: string; nacked?: string }) =>
      t.nacked && t.nacked === t.sent ? `NACKED ${t.nacked}` : t.acked && t.acked === t.sent ? `SYNCED ${t.acked}` : `STALE ${t.sent ?? '-'}`;
    const lines = [['PROXY', 'SERVER', 'TYPE', 'STATUS']];
    for (const r of rows) for (const [typeUrl, t] of Object.entries(r.types).sort()) lines.push([r.proxyId, r.server, short(typeUrl), cell(t)]);
    process.stdout.write(table(lines));
  } finally {
    await bus.close();
  }
}

async function getSources(opts: ClientFlags & { output: string }): Promise<void> {
  const bus = new NatsBus(natsBusOptionsFromFlags(opts, { mirror: ['registry'], logger: createLogger(opts.logLevel) }));
  try {
    await withTimeout(bus.ready(), opts.timeout, 'sources');
    const health = new Map(bus.status().sources.map((s) => [s.source, s]));
    const rows = [...bus.rawRegistry.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([source, m]) => ({
      source,
      synced: m.synced,
      stale: m.stale,
      services: m.shard.services.length,
      workloads: m.shard.workloads.length,
      adapter: health.get(source)?.adapter ?? '-',
      liveness: health.get(source)?.liveness ?? 'unmanaged',
      lastHeartbeat: health.get(source)?.lastHeartbeat ?? '-',
      revision: bus.rawRegistry.revisionOf(source) ?? 0,
    }));
    if (opts.output === 'json') {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return;
    }
    process.stdout.write(table([
      ['SOURCE', 'ADAPTER', 'LIVENESS', 'SERVICES', 'WORKLOADS', 'REVISION', 'LAST HEARTBEAT'],
      ...rows.map((r) => [r.source, r.adapter, r.stale ? `${r.liveness} (platform stale)` : r.liveness, String(r.services), String(r.workloads), String(r.revision), r.lastHeartbeat]),
    ]));
  } finally {
    await bus.close();
  }
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function deleteCommand(): Command {
  const cmd = new Command('delete')
    .description('Remove objects stored with `isthmus apply` from the shared config on NATS')
    .argument('[type]', 'resource type (vs, dr, ...) when deleting by name')
    .argument('[names...]', 'object names')
    .option('-f, --filename <path>', 'delete the objects named in these files (repeatable)', collect, [])
    .option('-n, --namespace <ns>', 'namespace (default: default)')
    .option('--ignore-not-found', 'objects that do not exist are not an error')
    .option('--force', 'delete even when other objects then fail validation (e.g. a subset a route needs)');
  withClientOptions(cmd);
  return cmd
    .addHelpText('after', `
Examples:
  isthmus delete -f canary.yaml --nats nats://127.0.0.1:4222
  isthmus delete vs greeter -n shop --nats nats://nats:4222`)
    .action(async (type: string | undefined, names: string[], opts: ClientFlags & {
      filename: string[]; namespace?: string; ignoreNotFound?: boolean; force?: boolean;
    }) => {
      let targets: Pick<ConfigObject, 'kind' | 'metadata'>[];
      if (opts.filename.length > 0) {
        targets = (await readConfigFiles(opts.filename)).objects.map((o) => o.object);
      } else {
        if (!type || names.length === 0) throw new Error('give -f <file>, or a type and names (`delete vs greeter`)');
        const kinds = parseType(type);
        if (kinds === 'all' || kinds.length !== 1) throw new Error('delete by name takes one resource type');
        targets = names.map((n) => ({ kind: kinds[0]!.kind, metadata: { name: n, namespace: opts.namespace ?? DEFAULT_NAMESPACE } }));
      }
      await withBus(opts, async (bus) => {
        const current = new Map(bus.config.entries());
        const owners = ownersOf(current);
        const remove = new Set<string>();
        const results: string[] = [];
        let failed = false;
        for (const t of targets) {
          const part = applyPart(t);
          const owner = owners.get(objectKey(t));
          if (current.has(part)) {
            remove.add(part);
            results.push(`${displayName(t)} deleted`);
          } else if (owner) {
            process.stderr.write(`error: ${objectKey(t)} comes from ${owner} (an adapter's config), not from apply: change it there\n`);
            failed = true;
          } else if (!opts.ignoreNotFound) {
            process.stderr.write(`error: ${objectKey(t)} not found\n`);
            failed = true;
          }
        }
        if (failed) {
          process.exitCode = 1;
          return;
        }
        const after = new Map(current);
        for (const p of remove) after.delete(p);
        const before = new Set(validateParts(current).map(issueKey));
        const errors = validateParts(after).filter((i) => i.severity === 'error' && !before.has(issueKey(i)));
        if (errors.length > 0 && !opts.force) {
          for (const e of errors) process.stderr.write(`error: ${formatIssue(e)}\n`);
          process.stderr.write(`deleting would leave ${errors.length} error(s) in the mesh's config; nothing deleted (--force deletes anyway)\n`);
          process.exitCode = 1;
          return;
        }
        await withTimeout(Promise.all([...remove].map((p) => bus.config.delete(p))), opts.timeout, 'delete');
        process.stdout.write(results.map((r) => `${r}\n`).join(''));
      });
    });
}

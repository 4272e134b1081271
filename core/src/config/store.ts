import type { Bus, ConfigMessage } from '../bus/bus.js';
import type { ConfigSink } from '../spi/config-source.js';
import { formatIssue, type ConfigIssue } from './issues.js';
import { objectKey, type SourcedObject } from './object.js';
import { validateObjects } from './validate.js';

/** The part of a logger the store uses (pino's shape). */
export interface ConfigStoreLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface ConfigStoreOptions {
  /** Name of the config source this store serves (for logs), e.g. `file`. */
  readonly source: string;
  readonly logger?: ConfigStoreLogger;
}

const SILENT: ConfigStoreLogger = { warn: () => {}, info: () => {} };

const issueKey = (i: ConfigIssue): string => `${i.severity} ${formatIssue(i)}`;

/**
 * The gate between a config source and the bus: a part (a file, a KV key) reaches
 * `bus.config` only if the whole resulting config set stays valid. The candidate — the
 * objects of every other part on the bus (from any source) plus the proposed ones — is
 * validated; if it has an error the current set did not have, the proposal is refused,
 * the errors are returned and logged, and the bus is not touched, so the last valid config
 * stays in force (DESIGN.md: nothing invalid ever reaches a proxy). Errors that already
 * existed (e.g. left behind when a file was deleted — withdrawal cannot be refused) do not
 * block unrelated changes.
 */
export class ConfigStore implements ConfigSink {
  private isSynced = false;
  private rejected = 0;
  /**
   * Parts this store wrote, authoritative before the bus reflects them (a NATS-backed put
   * is asynchronous, and the next proposal must see the previous one). `null`: withdrawn.
   */
  private readonly own = new Map<string, ConfigMessage | null>();
  /** Issues of the last refused proposal or unreadable read, per part. */
  private readonly failures = new Map<string, readonly ConfigIssue[]>();
  /**
   * Refused proposals, retried after every accepted change: a file refused because of
   * another file (a subset its VirtualService needs was missing) applies once that other
   * file is fixed, without being touched again.
   */
  private readonly pending = new Map<string, readonly SourcedObject[]>();
  private retrying = false;
  private cached: { parts: ReadonlyMap<string, ConfigMessage>; issues: readonly ConfigIssue[] } | undefined;
  private readonly log: ConfigStoreLogger;

  constructor(
    private readonly bus: Bus,
    private readonly opts: ConfigStoreOptions,
  ) {
    this.log = opts.logger ?? SILENT;
  }

  /** True once the source delivered everything it had at start. */
  get synced(): boolean {
    return this.isSynced;
  }

  /** Proposals refused since start. */
  get rejections(): number {
    return this.rejected;
  }

  propose(part: string, objects: readonly SourcedObject[]): readonly ConfigIssue[] {
    const result = this.tryPropose(part, objects);
    this.retryPending();
    return result;
  }

  private tryPropose(part: string, objects: readonly SourcedObject[]): readonly ConfigIssue[] {
    const current = this.currentParts();
    const before = new Set(this.validate(current).map(issueKey));
    const candidate = new Map(current);
    candidate.delete(part);
    const message: ConfigMessage = { source: part, objects: [...objects], updatedAt: new Date().toISOString() };
    candidate.set(part, message);
    const issues = this.validate(candidate, part);
    const owners = ownersOf(candidate);
    const mine = (i: ConfigIssue): boolean => (owners.get(ownerKey(i)) ?? part) === part;
    const fresh = (i: ConfigIssue): boolean => !before.has(issueKey(i));

    const newErrors = issues.filter((i) => i.severity === 'error' && fresh(i));
    if (newErrors.length > 0) {
      if (this.pending.get(part) === objects) return this.failures.get(part) ?? newErrors; // a retry, still refused
      this.rejected++;
      this.pending.set(part, objects);
      const result = [...newErrors, ...issues.filter((i) => i.severity === 'warning' && mine(i))];
      this.failures.set(part, result);
      this.log.warn(
        { source: this.opts.source, part, errors: newErrors.map(formatIssue) },
        `config rejected: ${part} has ${newErrors.length} error(s); the previous config stays in force:\n${newErrors.map(formatIssue).join('\n')}`,
      );
      return result;
    }
    this.own.set(part, message);
    this.failures.delete(part);
    this.pending.delete(part);
    this.cached = { parts: candidate, issues };
    this.publish(part, () => this.bus.config.put(part, message));
    this.log.info({ source: this.opts.source, part, objects: objects.length }, 'config accepted');
    return issues.filter((i) => i.severity === 'warning' && (mine(i) || fresh(i)));
  }

  /**
   * Proposes many parts at once (a source's initial listing, a relist): the candidate set is
   * validated once instead of once per part, so reading N objects costs O(N) validations
   * rather than O(N²). Parts to which a new error belongs are left out and proposed one by
   * one afterwards (refused with their own errors, as `propose` would); the rest are
   * accepted together. The result holds, per part, what `propose` would have returned.
   */
  proposeAll(parts: ReadonlyMap<string, readonly SourcedObject[]>): ReadonlyMap<string, readonly ConfigIssue[]> {
    const results = new Map<string, readonly ConfigIssue[]>();
    const remaining = new Map(parts);
    const blamed: string[] = [];
    const current = this.currentParts();
    const before = new Set(this.validate(current).map(issueKey));
    while (remaining.size > 0) {
      const candidate = new Map(current);
      const messages = new Map<string, ConfigMessage>();
      for (const [part, objects] of remaining) {
        const message: ConfigMessage = { source: part, objects: [...objects], updatedAt: new Date().toISOString() };
        candidate.set(part, message);
        messages.set(part, message);
      }
      const issues = this.validate(candidate);
      const owners = ownersOf(candidate);
      const newErrors = issues.filter((i) => i.severity === 'error' && !before.has(issueKey(i)));
      const guilty = new Set(newErrors.map((i) => owners.get(ownerKey(i))).filter((p): p is string => p !== undefined && remaining.has(p)));
      if (newErrors.length > 0 && guilty.size === 0) {
        // An error no proposed part owns (it arises from their combination): fall back to one by one.
        blamed.push(...remaining.keys());
        break;
      }
      if (guilty.size > 0) {
        for (const part of guilty) {
          remaining.delete(part);
          blamed.push(part);
        }
        continue;
      }
      for (const [part, message] of messages) {
        this.own.set(part, message);
        this.failures.delete(part);
        this.pending.delete(part);
        this.publish(part, () => this.bus.config.put(part, message));
        const mine = issues.filter((i) => i.severity === 'warning' && owners.get(ownerKey(i)) === part);
        results.set(part, mine);
      }
      this.log.info({ source: this.opts.source, parts: messages.size }, 'config accepted');
      break;
    }
    for (const part of blamed) results.set(part, this.tryPropose(part, parts.get(part)!));
    this.retryPending();
    return results;
  }

  withdraw(part: string): void {
    const had = this.currentParts().has(part);
    this.own.set(part, null);
    this.failures.delete(part);
    this.pending.delete(part);
    if (!had) return;
    this.publish(part, () => this.bus.config.delete(part));
    this.log.info({ source: this.opts.source, part }, 'config withdrawn');
    this.retryPending();
  }

  /** Re-proposes refused parts until none of them can be applied any more. */
  private retryPending(): void {
    if (this.retrying) return;
    this.retrying = true;
    try {
      let progress = true;
      while (progress) {
        progress = false;
        for (const [part, objects] of [...this.pending]) {
          this.tryPropose(part, objects);
          if (!this.pending.has(part)) progress = true;
        }
      }
    } finally {
      this.retrying = false;
    }
  }

  reportIssues(part: string, issues: readonly ConfigIssue[]): void {
    this.failures.set(part, [...issues]);
    // The part's content moved on: an older refused proposal must not apply later.
    if (issues.length > 0) this.pending.delete(part);
    if (issues.length > 0) {
      this.log.warn(
        { source: this.opts.source, part, issues: issues.map(formatIssue) },
        `config part cannot be read; its previous objects stay in force:\n${issues.map(formatIssue).join('\n')}`,
      );
    }
  }

  markSynced(): void {
    if (this.isSynced) return;
    this.isSynced = true;
    this.log.info({ source: this.opts.source }, 'config source synced');
  }

  /**
   * The latest issues of each part this store handles (for `/debug/configz`): those of a
   * refused proposal or unreadable read, then those of the accepted objects in force.
   */
  issues(): ReadonlyMap<string, ConfigIssue[]> {
    const current = this.currentParts();
    const byPart = new Map<string, ConfigIssue[]>();
    const owners = ownersOf(current);
    for (const i of this.validate(current)) {
      const p = owners.get(ownerKey(i));
      if (p === undefined) continue;
      byPart.set(p, [...(byPart.get(p) ?? []), i]);
    }
    const parts = [...new Set([...this.own.keys(), ...this.failures.keys()])].sort();
    const out = new Map<string, ConfigIssue[]>();
    for (const p of parts) {
      const seen = new Set<string>();
      const list = [...(this.failures.get(p) ?? []), ...(this.own.get(p) ? (byPart.get(p) ?? []) : [])].filter((i) => {
        const k = issueKey(i);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
      if (list.length > 0 || this.own.get(p)) out.set(p, list);
    }
    return out;
  }

  /** The bus's parts with this store's own writes laid over them. */
  private currentParts(): Map<string, ConfigMessage> {
    const parts = new Map(this.bus.config.entries());
    for (const [p, m] of this.own) {
      if (m === null) parts.delete(p);
      else parts.set(p, m);
    }
    return parts;
  }

  /**
   * Validates a set of parts, other parts first in name order and `last` at the end, so a
   * duplicate object is reported on the part that brought it. Reuses the last result while
   * the parts are the very same messages.
   */
  private validate(parts: ReadonlyMap<string, ConfigMessage>, last?: string): readonly ConfigIssue[] {
    const c = this.cached;
    if (last === undefined && c && c.parts.size === parts.size && [...parts].every(([k, v]) => c.parts.get(k) === v)) {
      return c.issues;
    }
    const names = [...parts.keys()].filter((p) => p !== last).sort();
    if (last !== undefined && parts.has(last)) names.push(last);
    const objects = names.flatMap((p) => parts.get(p)!.objects);
    const issues = validateObjects(objects);
    if (last === undefined) this.cached = { parts: new Map(parts), issues };
    return issues;
  }

  private publish(part: string, op: () => Promise<void>): void {
    op().catch((err: unknown) => {
      this.log.warn({ source: this.opts.source, part, err: String(err) }, 'config bus write failed');
    });
  }
}

/** `<source>\0<kind>/<ns>/<name>` of an issue or object: which part an issue belongs to. */
function ownerKey(i: Pick<ConfigIssue, 'source' | 'kind' | 'namespace' | 'name'>): string {
  return `${i.source}\0${i.kind}/${i.namespace}/${i.name}`;
}

function ownersOf(parts: ReadonlyMap<string, ConfigMessage>): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [part, m] of parts) {
    for (const o of m.objects) owners.set(`${o.origin}\0${objectKey(o.object)}`, part);
  }
  return owners;
}

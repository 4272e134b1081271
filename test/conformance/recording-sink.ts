import { isIP } from 'node:net';
import type { RegistryShard, RegistrySink, Workload } from '@isthmus/core';

export type SinkEvent =
  | { readonly type: 'replace'; readonly shard: RegistryShard; readonly seq: number }
  | { readonly type: 'stale'; readonly error: string; readonly seq: number };

/**
 * A RegistrySink that records every call and checks, on each `replace`, the rules every
 * adapter's shard must keep. Violations are collected (not thrown: the adapter would
 * swallow them) and asserted empty by the suite.
 */
export class RecordingSink implements RegistrySink {
  readonly events: SinkEvent[] = [];
  readonly violations: string[] = [];
  private seq = 0;
  /** Set by the test when the adapter has been stopped: later calls are violations. */
  closed = false;

  constructor(private readonly source: string) {}

  replace(shard: RegistryShard): void {
    if (this.closed) this.violations.push('replace() after stop()');
    this.check(shard);
    this.events.push({ type: 'replace', shard, seq: ++this.seq });
  }

  markStale(error: string): void {
    if (this.closed) this.violations.push('markStale() after stop()');
    if (typeof error !== 'string' || error.trim() === '') this.violations.push('markStale() without a reason');
    this.events.push({ type: 'stale', error, seq: ++this.seq });
  }

  /** The last complete state, or undefined before the first `replace`. */
  get shard(): RegistryShard | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if (e.type === 'replace') return e.shard;
    }
    return undefined;
  }

  get synced(): boolean {
    return this.shard !== undefined;
  }

  /** Stale as the aggregator would see it: a `markStale` after the last `replace`. */
  get stale(): boolean {
    const last = this.events.at(-1);
    return last?.type === 'stale';
  }

  get lastError(): string | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if (e.type === 'stale') return e.error;
    }
    return undefined;
  }

  replaces(): RegistryShard[] {
    return this.events.flatMap((e) => (e.type === 'replace' ? [e.shard] : []));
  }

  /** Workloads of the last shard, optionally of one host, sorted by id. */
  workloads(hostname?: string): Workload[] {
    return [...(this.shard?.workloads ?? [])].filter((w) => !hostname || w.hostname === hostname).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  hosts(): string[] {
    return [...new Set((this.shard?.services ?? []).map((s) => s.hostname))].sort();
  }

  private check(shard: RegistryShard): void {
    const v = (m: string) => this.violations.push(m);
    if (shard.source !== this.source) v(`shard.source ${shard.source} is not the adapter's source ${this.source}`);
    const hosts = new Set(shard.services.map((s) => s.hostname));
    const ids = new Set<string>();
    for (const s of shard.services) {
      if (!s.sources.includes(this.source)) v(`service ${s.hostname}: sources ${JSON.stringify(s.sources)} lack ${this.source}`);
      for (const p of s.ports) if (!Number.isInteger(p.number) || p.number < 1 || p.number > 65535) v(`service ${s.hostname}: bad port ${p.number}`);
    }
    for (const w of shard.workloads) {
      if (ids.has(w.id)) v(`duplicate workload id ${w.id}`);
      ids.add(w.id);
      if (w.source !== this.source) v(`workload ${w.id}: source ${w.source}`);
      if (!hosts.has(w.hostname)) v(`workload ${w.id}: host ${w.hostname} has no Service in the shard`);
      if (!isIP(w.address)) v(`workload ${w.id}: address ${w.address} is not an IP literal`);
      if (!(w.weight >= 1)) v(`workload ${w.id}: weight ${w.weight} < 1`);
      for (const [name, port] of Object.entries(w.ports)) if (!Number.isInteger(port) || port < 1 || port > 65535) v(`workload ${w.id}: port ${name}=${port}`);
    }
  }
}

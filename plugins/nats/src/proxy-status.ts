import { hashOf, type ProxyStatusMessage, type ReplicatedMap } from '@isthmus/core';

/** Key of a proxy's status entry: one per (xDS server, proxy). */
export const proxyStatusKey = (server: string, proxyId: string): string => `${server}/${proxyId}`;

/**
 * Publishes what one xDS server knows of its proxies (sent / ACKed / NACKed versions per
 * type) so any process — `isthmus get proxy-status --nats` — can tell which proxy has
 * which version across replicas. Writes only entries that changed; removes the entries
 * of proxies that left, and on start those this server left behind in an earlier run.
 */
export class ProxyStatusPublisher {
  private readonly last = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private cleaned = false;

  constructor(
    private readonly map: ReplicatedMap<ProxyStatusMessage>,
    private readonly server: string,
    private readonly collect: () => readonly ProxyStatusMessage[],
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.publish(), this.everyMs);
    this.timer.unref();
    // Entries live 15 minutes in KV (a dead replica's vanish): refresh ours well before.
    this.refreshTimer ??= setInterval(() => this.last.clear(), 5 * 60_000);
    this.refreshTimer.unref();
  }

  publish(): void {
    if (!this.cleaned) {
      this.cleaned = true;
      const prefix = `${this.server}/`;
      for (const key of this.map.entries().keys()) if (key.startsWith(prefix)) this.last.set(key, '');
    }
    const seen = new Set<string>();
    for (const status of this.collect()) {
      const key = proxyStatusKey(this.server, status.proxyId);
      seen.add(key);
      const hash = hashOf(status);
      if (this.last.get(key) === hash) continue;
      this.last.set(key, hash);
      this.map.put(key, status).catch(() => this.last.delete(key));
    }
    for (const key of [...this.last.keys()]) {
      if (seen.has(key)) continue;
      this.last.delete(key);
      this.map.delete(key).catch(() => undefined);
    }
  }

  /** Stops publishing and withdraws this server's entries (a clean shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    const keys = [...this.last.keys()];
    this.last.clear();
    await Promise.race([
      Promise.all(keys.map((k) => this.map.delete(k).catch(() => undefined))),
      new Promise((r) => setTimeout(r, 1000)),
    ]);
  }
}

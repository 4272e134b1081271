import type { Bus, ConfigMessage, ProxyStatusMessage, RegistryMessage, ReplicatedMap, Unsubscribe } from './bus.js';

/** Single-process ReplicatedMap: a Map plus synchronous watcher callbacks. */
export class InMemoryReplicatedMap<T> implements ReplicatedMap<T> {
  private readonly map = new Map<string, T>();
  private readonly watchers = new Set<(key: string, value: T | undefined) => void>();

  async put(key: string, value: T): Promise<void> {
    this.map.set(key, value);
    for (const w of [...this.watchers]) w(key, value);
  }

  async delete(key: string): Promise<void> {
    if (!this.map.delete(key)) return;
    for (const w of [...this.watchers]) w(key, undefined);
  }

  get(key: string): T | undefined {
    return this.map.get(key);
  }

  entries(): ReadonlyMap<string, T> {
    return this.map;
  }

  watch(handler: (key: string, value: T | undefined) => void): Unsubscribe {
    for (const [k, v] of this.map) handler(k, v);
    this.watchers.add(handler);
    return () => this.watchers.delete(handler);
  }
}

/** The default bus: everything in one process. */
export class InMemoryBus implements Bus {
  readonly registry = new InMemoryReplicatedMap<RegistryMessage>();
  readonly config = new InMemoryReplicatedMap<ConfigMessage>();
  readonly proxyStatus = new InMemoryReplicatedMap<ProxyStatusMessage>();
  async close(): Promise<void> {}
}

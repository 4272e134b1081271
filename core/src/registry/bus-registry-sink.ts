import type { Bus, RegistryMessage } from '../bus/bus.js';
import type { RegistryShard } from '../model/shard.js';
import type { RegistrySink } from '../spi/platform-adapter.js';
import type { Logger } from '../logging.js';

/**
 * Publishes an adapter's state on the bus. It remembers the last good shard so that a
 * failing platform is reported as stale without ever emptying what proxies are served.
 */
export class BusRegistrySink implements RegistrySink {
  private last: RegistryShard;
  private synced = false;

  constructor(
    private readonly bus: Bus,
    private readonly source: string,
    private readonly logger?: Logger,
  ) {
    this.last = { source, services: [], workloads: [] };
  }

  replace(shard: RegistryShard): void {
    if (shard.source !== this.source) {
      throw new Error(`adapter ${this.source} published a shard for another source (${shard.source})`);
    }
    const firstSync = !this.synced;
    this.last = shard;
    this.synced = true;
    this.publish({ shard, synced: true, stale: false, updatedAt: new Date().toISOString() });
    if (firstSync) {
      this.logger?.info(
        { source: this.source, services: shard.services.length, workloads: shard.workloads.length },
        'registry source synced',
      );
    }
  }

  markStale(error: string): void {
    this.logger?.warn({ source: this.source, error }, 'registry source failing: serving its last good state');
    this.publish({ shard: this.last, synced: this.synced, stale: true, error, updatedAt: new Date().toISOString() });
  }

  private publish(message: RegistryMessage): void {
    this.bus.registry.put(this.source, message).catch((err: unknown) => {
      this.logger?.error({ source: this.source, err }, 'could not publish registry state');
    });
  }
}

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Bus, ConfigMessage, ProxyStatusMessage, RegistryMessage } from '@isthmus/core';
import { BucketLink, type BucketOptions } from './bucket.js';
import { registryCodec, textCodec } from './chunking.js';
import { NatsConnector, redactUrl, type ConnectionLogger, type ConnectionStatus, type NatsConnectionOptions } from './connection.js';
import { bucketName, checkMeshId } from './keys.js';
import { KvReplicatedMap } from './kv-map.js';
import { HeartbeatPublisher, LivenessView, type LivenessOptions, type SourceHealth } from './liveness.js';
import { BusMetrics } from './metrics.js';

/** The maps a process mirrors (reads); every process may write any map. */
export type MirroredMap = 'registry' | 'config' | 'proxyStatus';

export interface NatsBusOptions {
  readonly connection: NatsConnectionOptions;
  /** Mesh id: namespaces buckets and subjects, so meshes can share a NATS. Default `default`. */
  readonly mesh?: string;
  /**
   * Maps to mirror from the start. Default all; an adapter needs only `config` (to
   * validate against the shared rules). A map read later starts mirroring then.
   */
  readonly mirror?: readonly MirroredMap[];
  /** KV stream replicas (1; use 3 on a 3-node cluster). */
  readonly replicas?: number;
  /** Revisions kept per registry/config key. Default 10. */
  readonly history?: number;
  /** Only bind to existing buckets (least-privilege credentials). */
  readonly bindOnly?: boolean;
  /** Staleness of sources whose adapter stops heartbeating. */
  readonly liveness?: LivenessOptions;
  /** Values up to this size are stored in one entry; larger ones in chunks. Default 256 KiB. */
  readonly inlineLimitBytes?: number;
  /** Identifies this process in entries and heartbeats. Default `<host>/<pid>/<random>`. */
  readonly processId?: string;
  readonly logger?: ConnectionLogger;
  /** Where the `isthmus_bus_*` metrics go (the process's registry). */
  readonly metrics?: Registry;
}

export interface MapStatus {
  readonly mirrored: boolean;
  readonly initialized: boolean;
  readonly entries: number;
  /** Entries waiting for their chunks. */
  readonly pending: number;
  /** Writes of this process not yet acknowledged by NATS. */
  readonly unsentWrites: number;
  /** Last KV revision seen on the bucket. */
  readonly revision: number;
}

/** Status for `/debug/busz`, readiness and the CLI. */
export interface BusStatus {
  readonly mesh: string;
  readonly servers: readonly string[];
  readonly connection: ConnectionStatus;
  readonly initialized: boolean;
  readonly maps: { readonly registry: MapStatus; readonly config: MapStatus; readonly proxyStatus: MapStatus };
  readonly sources: readonly SourceHealth[];
}

const SILENT: ConnectionLogger = { info: () => {}, warn: () => {}, debug: () => {} };

/**
 * The bus on NATS JetStream: registry, config and proxy status each in a KV bucket of
 * the mesh (history kept), adapter heartbeats in a fourth. Every process keeps a mirror
 * of the maps it reads, fed by KV watches, so a restarted process catches up from KV —
 * not from a replay of every event — and a NATS outage leaves the last state in place.
 *
 * The registry map is seen through a LivenessView (stale → removed after a grace period
 * when a source's adapter stops heartbeating). Construction connects in the background
 * and retries forever; `ready()` resolves after the first full replay.
 */
export class NatsBus implements Bus {
  readonly mesh: string;
  readonly processId: string;
  readonly metrics: BusMetrics;
  readonly registry: LivenessView;
  readonly config: KvReplicatedMap<ConfigMessage>;
  readonly proxyStatus: KvReplicatedMap<ProxyStatusMessage>;
  /** The registry as stored, before liveness (for tools). */
  readonly rawRegistry: KvReplicatedMap<RegistryMessage>;
  private readonly connector: NatsConnector;
  private readonly links: { registry: BucketLink; config: BucketLink; proxyStatus: BucketLink; heartbeat: BucketLink };
  private readonly logger: ConnectionLogger;
  private readonly heartbeats = new Map<number, HeartbeatPublisher>();
  private readonly options: NatsBusOptions;
  private closed = false;

  constructor(options: NatsBusOptions) {
    this.options = options;
    this.mesh = checkMeshId(options.mesh ?? 'default');
    this.processId = options.processId ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
    this.logger = options.logger ?? SILENT;
    this.metrics = new BusMetrics(options.metrics);
    this.connector = new NatsConnector(
      { ...options.connection, name: options.connection.name ?? `isthmus ${this.processId}` },
      this.logger,
    );
    this.metrics.connected.set(0);
    this.metrics.downSince.set(Date.now() / 1000);
    this.connector.onStateChange((s) => {
      this.metrics.connected.set(s.state === 'connected' ? 1 : 0);
      this.metrics.downSince.set(s.state === 'connected' ? 0 : Date.parse(s.since) / 1000);
    });
    let seenReconnects = 0;
    this.connector.onStateChange((s) => {
      if (s.reconnects > seenReconnects) {
        this.metrics.reconnects.inc(s.reconnects - seenReconnects);
        seenReconnects = s.reconnects;
      }
    });
    const data: BucketOptions = { history: options.history ?? 10, replicas: options.replicas ?? 1, ...(options.bindOnly ? { bindOnly: true } : {}) };
    const link = (map: 'registry' | 'config' | 'proxy_status' | 'heartbeat', o: BucketOptions) =>
      new BucketLink(bucketName(this.mesh, map), this.connector, o, this.logger);
    this.links = {
      registry: link('registry', data),
      config: link('config', data),
      // Proxy status is current state only; entries of a replica that died age out.
      proxyStatus: link('proxy_status', { ...data, history: 1, ttlMs: 15 * 60_000 }),
      heartbeat: link('heartbeat', { ...data, history: 1 }),
    };
    const common = { mesh: this.mesh, connector: this.connector, writerId: this.processId, logger: this.logger, metrics: this.metrics, ...(options.inlineLimitBytes ? { inlineLimitBytes: options.inlineLimitBytes } : {}) };
    this.rawRegistry = new KvReplicatedMap<RegistryMessage>({ ...common, name: 'registry', link: this.links.registry, codec: registryCodec(), revisionMetric: true });
    this.config = new KvReplicatedMap<ConfigMessage>({ ...common, name: 'config', link: this.links.config, codec: textCodec() });
    this.proxyStatus = new KvReplicatedMap<ProxyStatusMessage>({ ...common, name: 'proxy_status', link: this.links.proxyStatus, codec: textCodec() });
    this.registry = new LivenessView(this.rawRegistry, this.links.heartbeat, this.logger, this.metrics, options.liveness);
    const mirror = options.mirror ?? ['registry', 'config', 'proxyStatus'];
    if (mirror.includes('registry')) this.registry.entries();
    if (mirror.includes('config')) this.config.mirror();
    if (mirror.includes('proxyStatus')) this.proxyStatus.mirror();
    this.connector.addListener({ onConnected: () => void this.beatAll() });
    this.connector.start();
  }

  /** The maps this process mirrors have delivered their first full replay. */
  isInitialized(): boolean {
    return this.mirroredMaps().every((m) => m.initialized) && (!this.rawRegistry.mirrored || this.registry.initialized);
  }

  /** Resolves once connected and every mirrored map has its KV state (waits forever). */
  async ready(): Promise<void> {
    while (!this.isInitialized()) {
      if (this.closed) throw new Error('bus closed');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Why not initialized yet, for readiness pages; undefined when initialized. */
  notReadyReason(): string | undefined {
    if (this.isInitialized()) return undefined;
    const c = this.connector.status();
    const where = this.options.connection.servers.map(redactUrl).join(',');
    if (c.state !== 'connected') return `NATS ${where}: ${c.state} since ${c.since}${c.lastError ? ` (${c.lastError})` : ''}`;
    const waiting = this.mirroredMaps().filter((m) => !m.initialized).map((m) => m.name);
    if (this.rawRegistry.mirrored && !this.links.heartbeat.initialized) waiting.push('heartbeat');
    return `NATS ${where}: loading KV state (${waiting.join(', ')})`;
  }

  connectionStatus(): ConnectionStatus {
    return this.connector.status();
  }

  onConnectionChange(listener: (s: ConnectionStatus) => void): () => void {
    return this.connector.onStateChange(listener);
  }

  /** Publishes heartbeats for `source` every `intervalMs` as adapter `adapter` (the adapter role). */
  heartbeat(source: string, adapter: string, intervalMs = 5000): void {
    let publisher = this.heartbeats.get(intervalMs);
    if (!publisher) {
      publisher = new HeartbeatPublisher(this.links.heartbeat, adapter, intervalMs, this.logger);
      this.heartbeats.set(intervalMs, publisher);
    }
    publisher.add(source);
  }

  status(): BusStatus {
    const mapStatus = (m: KvReplicatedMap<unknown>, link: BucketLink): MapStatus => ({
      mirrored: m.mirrored,
      initialized: m.initialized,
      entries: m.mirrored ? m.entries().size : 0,
      pending: m.pending,
      unsentWrites: m.unsentWrites,
      revision: link.revision,
    });
    return {
      mesh: this.mesh,
      servers: this.options.connection.servers.map(redactUrl),
      connection: this.connector.status(),
      initialized: this.isInitialized(),
      maps: {
        registry: mapStatus(this.rawRegistry as KvReplicatedMap<unknown>, this.links.registry),
        config: mapStatus(this.config as KvReplicatedMap<unknown>, this.links.config),
        proxyStatus: mapStatus(this.proxyStatus as KvReplicatedMap<unknown>, this.links.proxyStatus),
      },
      sources: this.rawRegistry.mirrored ? this.registry.health() : [],
    };
  }

  /** Waits until every queued write is acknowledged by NATS (or the timeout passes). */
  async flush(timeoutMs = 5000): Promise<boolean> {
    const results = await Promise.all([this.rawRegistry, this.config, this.proxyStatus].map((m) => (m as KvReplicatedMap<unknown>).flush(timeoutMs)));
    return results.every(Boolean);
  }

  /** Publish → applied-snapshot lag (isthmus_bus_snapshot_lag_seconds); see Bus.snapshotApplied. */
  snapshotApplied(): void {
    this.metrics.snapshotApplied();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.heartbeats.values()) p.stop();
    // Give writes in flight a moment to land (a clean shutdown loses nothing it could send).
    if (this.connector.connected) await this.flush(2000);
    this.registry.close();
    for (const m of [this.rawRegistry, this.config, this.proxyStatus] as KvReplicatedMap<unknown>[]) m.close();
    for (const l of Object.values(this.links)) await l.close();
    await this.connector.close();
  }

  private mirroredMaps(): KvReplicatedMap<unknown>[] {
    return ([this.rawRegistry, this.config, this.proxyStatus] as KvReplicatedMap<unknown>[]).filter((m) => m.mirrored);
  }

  private async beatAll(): Promise<void> {
    if (this.heartbeats.size === 0) return;
    await this.links.heartbeat.handle().catch(() => undefined);
    for (const p of this.heartbeats.values()) await p.beat();
  }
}

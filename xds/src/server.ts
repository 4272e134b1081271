import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import type { MeshSnapshot, XdsContributor } from '@isthmus/core';
import { Registry } from 'prom-client';
import { SnapshotCache } from './cache/snapshot-cache.js';
import { CallbackChain, type NackEvent, type XdsCallbacks } from './callbacks/callbacks.js';
import { metricsCallbacks } from './callbacks/metrics.js';
import type { GeneratorRegistry } from './generators/generator.js';
import { defaultGenerators } from './generators/index.js';
import { silentXdsLogger, type XdsLogger } from './logger.js';
import { adsServiceDefinition } from './protocol/ads-service.js';
import { SotwServer, type ProxyStatus } from './protocol/sotw-server.js';
import { xdsProtoRoot } from './protos/root.js';

export interface XdsServerOptions {
  readonly logger?: XdsLogger;
  /** Where the `isthmus_xds_*` metrics go; a private registry when omitted. */
  readonly metrics?: Registry;
  /** Sent as `control_plane.identifier` in every response; names this replica. */
  readonly serverId?: string;
  /** Generators by `<GENERATOR>/<typeUrl>`; the built-in proxyless gRPC ones by default. */
  readonly generators?: GeneratorRegistry;
  readonly callbacks?: readonly XdsCallbacks[];
  /** Plugins that edit generated resources per proxy and type (core's XdsContributor SPI). */
  readonly contributors?: readonly XdsContributor[];
  /** Passed to the grpc-js Server. */
  readonly grpcOptions?: grpc.ServerOptions;
}

/**
 * Serves MeshSnapshots to data planes over ADS (state of the world): a snapshot cache
 * (generators + shared encoded resources), a protocol server, and callbacks (metrics,
 * NACK listeners) — go-control-plane's three layers.
 */
export class XdsServer {
  private readonly logger: XdsLogger;
  private readonly cache: SnapshotCache;
  private readonly callbacks: CallbackChain;
  private readonly sotw: SotwServer;
  private readonly grpcOptions: grpc.ServerOptions;
  private server: grpc.Server | undefined;
  readonly metrics: Registry;

  constructor(options: XdsServerOptions = {}) {
    this.logger = options.logger ?? silentXdsLogger;
    this.metrics = options.metrics ?? new Registry();
    this.callbacks = new CallbackChain(this.logger);
    this.callbacks.add(metricsCallbacks(this.metrics));
    for (const cb of options.callbacks ?? []) this.callbacks.add(cb);
    this.cache = new SnapshotCache(options.generators ?? defaultGenerators(), this.logger, options.contributors ?? []);
    this.sotw = new SotwServer(this.cache, this.callbacks, this.logger, options.serverId);
    this.grpcOptions = options.grpcOptions ?? {};
  }

  /** The snapshot being served (undefined before the first one: requests wait). */
  get snapshot(): MeshSnapshot | undefined {
    return this.cache.current;
  }

  /**
   * Serves `snapshot` from now on and pushes what changed, right away (bursts are
   * debounced upstream). A snapshot with the same content pushes nothing.
   */
  setSnapshot(snapshot: MeshSnapshot): void {
    const startedAt = performance.now();
    const changed = this.cache.setSnapshot(snapshot);
    if (changed.length === 0) return;
    this.logger.debug({ version: snapshot.version, changed }, 'new snapshot: pushing');
    this.sotw.pushAll(startedAt);
    this.cache.endRound();
  }

  /** Starts serving on host:port (0: any free port); resolves to the bound port. */
  async listen(host: string, port: number): Promise<number> {
    if (this.server) throw new Error('XdsServer is already listening');
    xdsProtoRoot(); // Load protos before the first stream, not during it.
    const server = new grpc.Server(this.grpcOptions);
    server.addService(adsServiceDefinition(), { StreamAggregatedResources: this.sotw.handle });
    const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    this.logger.info({ address: `${host}:${bound}` }, 'xDS server listening');
    return bound;
  }

  /** Ends every stream and stops listening. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.sotw.closeAll();
    if (!server) return;
    await new Promise<void>((resolve) => {
      // ADS streams are long-lived: give them a moment to end, then cut them.
      const timer = setTimeout(() => server.forceShutdown(), 1000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Every connected proxy with its per-type subscription and ACK/NACK state. */
  status(): ProxyStatus[] {
    return this.sotw.status();
  }

  /** Calls `listener` for every NACK; returns a function that removes it. */
  onNack(listener: (event: NackEvent) => void): () => void {
    return this.callbacks.add({ onNack: listener });
  }

  addCallbacks(callbacks: XdsCallbacks): () => void {
    return this.callbacks.add(callbacks);
  }
}

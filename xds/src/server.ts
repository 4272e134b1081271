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
import { CsdsService, csdsServiceDefinition } from './csds/csds.js';
import { DISCOVERY_SERVICES, discoveryServiceDefinition } from './protocol/ads-service.js';
import { DeltaServer } from './protocol/delta-server.js';
import { SotwServer, type ProxyStatus } from './protocol/sotw-server.js';
import { counter } from './protocol/stream-server.js';
import { xdsProtoRoot } from './protos/root.js';
import type { Refusal } from './cache/resource-cache.js';
import { profileFor, type ClientProfile, type ProfileId } from './capabilities/profiles.js';
import { unenforcedRules, unenforcedRulesGauge, type UnenforcedRule } from './capabilities/report.js';

/** What `capabilityWarnings()` returns (and `/debug/configz` shows as `unenforced`). */
export interface CapabilityReport {
  readonly snapshotVersion: string | null;
  /** The kinds of proxies connected, with how many of each. */
  readonly clients: readonly { readonly client: ProfileId; readonly name: string; readonly proxies: number }[];
  readonly unenforced: readonly UnenforcedRule[];
}

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

/** A push round yields to I/O after this long (ms)... */
const PUSH_SLICE_MS = 5;
/** ...when it has more streams than this (small rounds run at once). */
const SLICED_ROUND = 256;

/**
 * Serves MeshSnapshots to data planes: a snapshot cache (generators + shared encoded
 * resources), protocol servers (state of the world and delta, on ADS and on the
 * single-type CDS/EDS/LDS/RDS services), and callbacks (metrics, NACK listeners) —
 * go-control-plane's three layers — plus CSDS reporting what each proxy holds.
 */
export class XdsServer {
  private readonly logger: XdsLogger;
  private readonly cache: SnapshotCache;
  private readonly callbacks: CallbackChain;
  private readonly sotw: SotwServer;
  private readonly delta: DeltaServer;
  /** Client Status Discovery Service over both protocol servers' bookkeeping. */
  readonly csds: CsdsService;
  private readonly grpcOptions: grpc.ServerOptions;
  private server: grpc.Server | undefined;
  private unenforcedCache: { key: string; list: UnenforcedRule[] } | undefined;
  /** The push round in progress (see continueRound). */
  private round: { readonly work: (() => void)[]; next: number; timer?: NodeJS.Immediate } | undefined;
  private sweepTimer: NodeJS.Immediate | undefined;
  readonly metrics: Registry;

  constructor(options: XdsServerOptions = {}) {
    this.logger = options.logger ?? silentXdsLogger;
    this.metrics = options.metrics ?? new Registry();
    this.callbacks = new CallbackChain(this.logger);
    this.callbacks.add(metricsCallbacks(this.metrics));
    for (const cb of options.callbacks ?? []) this.callbacks.add(cb);
    this.cache = new SnapshotCache(options.generators ?? defaultGenerators(), this.logger, options.contributors ?? []);
    const streamIds = counter();
    this.sotw = new SotwServer(this.cache, this.callbacks, this.logger, options.serverId, streamIds);
    this.delta = new DeltaServer(this.cache, this.callbacks, this.logger, options.serverId, streamIds);
    this.csds = new CsdsService(() => [...this.sotw.bookkeeping(), ...this.delta.bookkeeping()], this.cache);
    this.grpcOptions = options.grpcOptions ?? {};
    unenforcedRulesGauge(this.metrics, () => this.capabilityWarnings().unenforced);
  }

  /** The snapshot being served (undefined before the first one: requests wait). */
  get snapshot(): MeshSnapshot | undefined {
    return this.cache.current;
  }

  /**
   * Serves `snapshot` from now on and pushes what changed, right away (bursts are
   * debounced upstream), in slices when many proxies are due (continueRound). A
   * snapshot with the same content pushes nothing.
   */
  setSnapshot(snapshot: MeshSnapshot): void {
    // A round still pushing the previous snapshot ends first: rounds never overlap.
    this.finishRound();
    const startedAt = performance.now();
    const changed = this.cache.setSnapshot(snapshot);
    if (changed.length === 0) return;
    this.logger.debug({ version: snapshot.version, changed }, 'new snapshot: pushing');
    const work: (() => void)[] = [];
    for (const [stream, types] of this.sotw.dueStreams()) work.push(() => this.sotw.pushStream(stream, types, startedAt));
    for (const [stream, types] of this.delta.dueStreams()) work.push(() => this.delta.pushStream(stream, types, startedAt));
    this.round = { work, next: 0 };
    this.continueRound();
  }

  /**
   * Pushes a round's streams in slices of PUSH_SLICE_MS, letting I/O run in between, so
   * the first proxies' responses are on the wire (and their ACKs come back) while later
   * ones are still being built; a round of a few streams runs at once. Nothing else
   * changes during a round: the snapshot it pushes is replaced only after finishRound.
   */
  private continueRound(): void {
    const round = this.round;
    if (!round) return;
    round.timer = undefined;
    const deadline = performance.now() + PUSH_SLICE_MS;
    while (round.next < round.work.length) {
      round.work[round.next++]!();
      if (round.work.length > SLICED_ROUND && round.next < round.work.length && performance.now() >= deadline) {
        round.timer = setImmediate(() => this.continueRound());
        return;
      }
    }
    this.endRound();
  }

  /** Runs what is left of the current push round now. */
  private finishRound(): void {
    const round = this.round;
    if (!round) return;
    if (round.timer) clearImmediate(round.timer);
    while (round.next < round.work.length) round.work[round.next++]!();
    this.endRound();
  }

  /**
   * The round's own cleanup now; the periodic full sweep (O(cache)) on the next turn of
   * the event loop, after the responses just written have gone out (http2 sends them from
   * its own immediate): run inside the round it delayed every 32nd change by milliseconds.
   * The cache runs a due sweep itself before the next snapshot if this has not run yet.
   */
  private endRound(): void {
    this.round = undefined;
    this.cache.endRound();
    if (this.cache.sweepDue && !this.sweepTimer) {
      this.sweepTimer = setImmediate(() => {
        this.sweepTimer = undefined;
        this.cache.sweep();
      });
    }
  }

  /** Starts serving on host:port (0: any free port); resolves to the bound port. */
  async listen(host: string, port: number): Promise<number> {
    if (this.server) throw new Error('XdsServer is already listening');
    xdsProtoRoot(); // Load protos before the first stream, not during it.
    const server = new grpc.Server(this.grpcOptions);
    for (const spec of DISCOVERY_SERVICES) {
      server.addService(discoveryServiceDefinition(spec), {
        [spec.sotw]: this.sotw.handlerFor(spec.typeUrl),
        [spec.delta]: this.delta.handlerFor(spec.typeUrl),
      });
    }
    server.addService(csdsServiceDefinition(), { StreamClientStatus: this.csds.stream, FetchClientStatus: this.csds.fetch });
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
    this.finishRound();
    if (this.sweepTimer) clearImmediate(this.sweepTimer);
    this.sweepTimer = undefined;
    const server = this.server;
    this.server = undefined;
    this.sotw.closeAll();
    this.delta.closeAll();
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

  /** Every connected proxy (one entry per stream) with its per-type subscription and ACK/NACK state. */
  status(): ProxyStatus[] {
    return [...this.sotw.status(), ...this.delta.status()].sort((a, b) => Number(a.streamId) - Number(b.streamId));
  }

  /**
   * Rule parts the kinds of proxies connected now cannot enforce, left out of (or
   * approximated in) their config — per rule and client kind (capabilities/). Also in
   * `isthmus_xds_unenforced_rules{kind,client}`.
   */
  capabilityWarnings(): CapabilityReport {
    const snapshot = this.cache.current;
    const clients = new Map<string, { profile: ClientProfile; proxies: number }>();
    for (const s of this.status()) {
      const profile = profileFor(s);
      const c = clients.get(profile.id) ?? { profile, proxies: 0 };
      c.proxies++;
      clients.set(profile.id, c);
    }
    const profiles = [...clients.values()].map((c) => c.profile).sort((a, b) => (a.id < b.id ? -1 : 1));
    const key = `${snapshot?.version ?? '-'}|${profiles.map((p) => p.id).join(',')}`;
    if (this.unenforcedCache?.key !== key) {
      this.unenforcedCache = { key, list: snapshot ? unenforcedRules(snapshot, profiles) : [] };
    }
    return {
      snapshotVersion: snapshot?.version ?? null,
      clients: profiles.map((p) => ({ client: p.id, name: p.name, proxies: clients.get(p.id)!.proxies })),
      unenforced: this.unenforcedCache.list,
    };
  }

  /** Generated resources that failed validation (PGV, client rules) and are not pushed, naming the rule behind them. */
  refusedResources(): Refusal[] {
    return this.cache.refusals();
  }

  /** Calls `listener` for every NACK; returns a function that removes it. */
  onNack(listener: (event: NackEvent) => void): () => void {
    return this.callbacks.add({ onNack: listener });
  }

  addCallbacks(callbacks: XdsCallbacks): () => void {
    return this.callbacks.add(callbacks);
  }
}

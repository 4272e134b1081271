import { Container, type ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import {
  AdminEndpoint,
  Bus,
  BusRegistrySink,
  ConfigSource,
  ConfigStore,
  CoreOptions,
  LoggerToken,
  MeshEngineToken,
  MetricsRegistry,
  PlatformAdapter,
  contributionsOf,
  coreModule,
  type ConfigIssue,
  type Logger,
  type MeshEngine,
} from '@isthmus/core';
import { XdsServerToken, XdsSettings, xdsModule, type XdsServer } from '@isthmus/xds';
import { staticModule } from '@isthmus/adapter-static';
import { AdminServer } from './admin/admin-server.js';
import { builtinAdminEndpoints } from './admin/debug-endpoints.js';

export interface RuntimeOptions {
  readonly staticPaths: readonly string[];
  readonly address: string;
  readonly xdsPort: number;
  readonly httpPort: number;
  readonly debounceMs?: number;
  readonly maxDelayMs?: number;
  /** Config changes on a quiet mesh are built at once (docs/decisions/007). */
  readonly debounceLeadingEdge?: boolean;
  /** Endpoint-only changes: least time between builds (docs/decisions/006). */
  readonly endpointIntervalMs?: number;
  /** Endpoint-only changes: largest share of time their builds may take (docs/decisions/006). */
  readonly endpointBuildShare?: number;
  readonly logLevel?: string;
  /** Extra modules: plugins, or tests rebinding a token. */
  readonly modules?: readonly ContainerModule[];
  /** Identifies this control plane in proxy status (defaults to host:port). */
  readonly serverId?: string;
  /** Roles' additions (readiness gates, publishers), started before sources and the engine. */
  readonly extensions?: readonly RuntimeExtension[];
}

/** What a role adds to a runtime, e.g. the xDS role over NATS (cli/src/commands/federation.ts). */
export interface RuntimeExtension {
  start(ctx: { readonly container: Container; readonly engine: MeshEngine; readonly xds: XdsServer }): void | Promise<void>;
  stop(): Promise<void>;
}

/**
 * One control-plane process: the container with core, the static source and plugins,
 * then sources → bus → engine → xDS, plus the admin port. `serve` runs exactly this.
 */
export class MeshRuntime {
  readonly container = new Container();
  private engine!: MeshEngine;
  private xds!: XdsServer;
  private admin!: AdminServer;
  private readonly stores: ConfigStore[] = [];
  private readonly stoppables: { stop(): Promise<void> }[] = [];
  private serving = false;
  xdsPort = 0;
  httpPort = 0;

  constructor(private readonly options: RuntimeOptions) {}

  get logger(): Logger {
    return this.container.get<Logger>(LoggerToken);
  }

  async start(): Promise<void> {
    const o = this.options;
    this.container.bind<CoreOptions>(CoreOptions).toConstantValue({
      ...(o.debounceMs !== undefined ? { debounceMs: o.debounceMs } : {}),
      ...(o.maxDelayMs !== undefined ? { maxDelayMs: o.maxDelayMs } : {}),
      ...(o.debounceLeadingEdge !== undefined ? { debounceLeadingEdge: o.debounceLeadingEdge } : {}),
      ...(o.endpointIntervalMs !== undefined ? { endpointIntervalMs: o.endpointIntervalMs } : {}),
      ...(o.endpointBuildShare !== undefined ? { endpointBuildShare: o.endpointBuildShare } : {}),
      ...(o.logLevel !== undefined ? { logLevel: o.logLevel } : {}),
    });
    this.container.bind<XdsSettings>(XdsSettings).toConstantValue({ serverId: o.serverId ?? `isthmus@${o.address}:${o.xdsPort}` });
    await this.container.load(coreModule, xdsModule, staticModule(o.staticPaths), ...(o.modules ?? []));
    const logger = this.logger;
    const bus = this.container.get<Bus>(Bus);
    const metrics = this.container.get<Registry>(MetricsRegistry);
    this.engine = this.container.get<MeshEngine>(MeshEngineToken);

    this.xds = this.container.get<XdsServer>(XdsServerToken);
    this.engine.onSnapshot((s) => this.xds.setSnapshot(s));
    for (const extension of o.extensions ?? []) {
      await extension.start({ container: this.container, engine: this.engine, xds: this.xds });
      this.stoppables.push(extension);
    }

    const adminEndpoints = [
      ...builtinAdminEndpoints({
        engine: this.engine,
        metrics,
        configIssues: () => this.configIssues(),
        xdsStatus: () => this.xds.status(),
        serving: () => this.serving,
        xdsCapabilities: () => ({ ...this.xds.capabilityWarnings(), refused: this.xds.refusedResources() }),
      }),
      ...contributionsOf<AdminEndpoint>(this.container, AdminEndpoint).getContributions(),
    ];
    this.admin = new AdminServer(adminEndpoints, logger.child({ component: 'admin' }));
    this.httpPort = await this.admin.listen(o.address, o.httpPort);

    this.engine.start();
    for (const adapter of contributionsOf<PlatformAdapter>(this.container, PlatformAdapter).getContributions()) {
      this.engine.requireRegistrySource(adapter.source);
      await adapter.start(new BusRegistrySink(bus, adapter.source, logger));
      this.stoppables.push(adapter);
      logger.info({ source: adapter.source }, 'platform adapter started');
    }
    for (const source of contributionsOf<ConfigSource>(this.container, ConfigSource).getContributions()) {
      const store = new ConfigStore(bus, { source: source.source, logger: logger.child({ config: source.source }) });
      this.stores.push(store);
      this.engine.addGate({ name: `config source ${source.source}`, isReady: () => store.synced });
      await source.start(store);
      this.stoppables.push(source);
      logger.info({ source: source.source }, 'config source started');
    }

    this.xdsPort = await this.xds.listen(o.address, o.xdsPort);
    this.serving = true;
    logger.info({ xds: `${o.address}:${this.xdsPort}`, admin: `${o.address}:${this.httpPort}` }, 'isthmus serving');
  }

  configIssues(): ReadonlyMap<string, readonly ConfigIssue[]> {
    const all = new Map<string, readonly ConfigIssue[]>();
    for (const store of this.stores) for (const [part, list] of store.issues()) all.set(part, list);
    return all;
  }

  async stop(): Promise<void> {
    this.serving = false;
    for (const s of this.stoppables.splice(0).reverse()) await s.stop().catch(() => undefined);
    this.engine?.stop();
    await this.xds?.close();
    await this.admin?.close();
    await this.container.get<Bus>(Bus).close();
  }
}

import { Container, ContainerModule } from 'inversify';
import type { Registry } from 'prom-client';
import {
  AdminEndpoint,
  BusRegistrySink,
  ConfigSource,
  ConfigStore,
  LoggerToken,
  MetricsRegistry,
  PlatformAdapter,
  REGISTRY_KINDS,
  contributionsOf,
  coreModule,
  formatIssue,
  serviceEntriesToShard,
  type Bus,
  type ConfigIssue,
  type ConfigMessage,
  type Logger,
  type MeshEngine,
  type ProxyStatusMessage,
  type ReplicatedMap,
  type SourcedObject,
  type Unsubscribe,
} from '@isthmus/core';
import { staticModule } from '@isthmus/adapter-static';
import type { ProxyStatus, XdsServer } from '@isthmus/xds';
import {
  ExportFilter,
  ExportingSink,
  NatsBusToken,
  ProxyStatusPublisher,
  natsModule,
  type ExportPolicy,
  type NatsBus,
} from '@isthmus/plugin-nats';
import { sendJson } from '../admin/admin-server.js';
import type { RuntimeExtension } from '../runtime.js';

/**
 * The config map an adapter's ConfigStore writes through. Registry kinds (ServiceEntry,
 * WorkloadEntry) stay in the runtime: they become the adapter's registry shard
 * (`static/<id>`, heartbeated, export policy applied), because two runtimes each
 * declaring `ServiceEntry default/greeter` is federation, not a duplicate. Rules go to the
 * shared config under `<id>:<part>`, so parts of different adapters never collide.
 *
 * Reads present the shared config with this adapter's parts under their local names and
 * local content, so the store validates each proposal against every rule in the mesh.
 */
export class SplitConfigMap implements ReplicatedMap<ConfigMessage> {
  private readonly local = new Map<string, ConfigMessage>();
  private readonly registryParts = new Map<string, readonly SourcedObject[]>();
  private view: Map<string, ConfigMessage> | undefined;
  private unwatch: Unsubscribe | undefined;

  constructor(
    private readonly shared: ReplicatedMap<ConfigMessage>,
    private readonly prefix: string,
    private readonly filter: ExportFilter,
    private readonly onRegistryChange: () => void,
  ) {}

  /** Every ServiceEntry and WorkloadEntry of this adapter's parts, in part order. */
  registryObjects(): SourcedObject[] {
    return [...this.registryParts.keys()].sort().flatMap((p) => this.registryParts.get(p) ?? []);
  }

  async put(part: string, message: ConfigMessage): Promise<void> {
    this.local.set(part, message);
    this.view = undefined;
    const registry = message.objects.filter((o) => REGISTRY_KINDS.has(o.object.kind));
    const before = this.registryParts.get(part);
    if (registry.length > 0) this.registryParts.set(part, registry);
    else this.registryParts.delete(part);
    if (registry.length > 0 || before) this.onRegistryChange();
    const rules = message.objects
      .filter((o) => !REGISTRY_KINDS.has(o.object.kind) && this.filter.object(o))
      .map((o) => ({ object: o.object, origin: `${this.prefix}${o.origin}` }));
    const key = this.prefix + part;
    if (rules.length > 0) {
      await this.shared.put(key, { source: key, objects: rules, updatedAt: message.updatedAt });
    } else if (this.shared.get(key)) {
      await this.shared.delete(key);
    }
  }

  async delete(part: string): Promise<void> {
    this.local.delete(part);
    this.view = undefined;
    if (this.registryParts.delete(part)) this.onRegistryChange();
    await this.shared.delete(this.prefix + part);
  }

  get(part: string): ConfigMessage | undefined {
    return this.entries().get(part);
  }

  entries(): ReadonlyMap<string, ConfigMessage> {
    this.unwatch ??= this.shared.watch(() => {
      this.view = undefined;
    });
    if (this.view) return this.view;
    const view = new Map<string, ConfigMessage>();
    for (const [k, v] of this.shared.entries()) if (!k.startsWith(this.prefix)) view.set(k, v);
    for (const [k, v] of this.local) view.set(k, v);
    this.view = view;
    return view;
  }

  watch(handler: (key: string, value: ConfigMessage | undefined) => void): Unsubscribe {
    for (const [k, v] of this.entries()) handler(k, v);
    return () => undefined;
  }

  close(): void {
    this.unwatch?.();
  }
}

export interface AdapterRoleOptions {
  /** Names this adapter: its static source is `static/<id>`, its config parts `<id>:<file>`. */
  readonly id: string;
  readonly bus: NatsBus;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly staticPaths: readonly string[];
  /** Platform modules (Consul, plugins) whose adapters and config sources this role runs. */
  readonly modules: readonly ContainerModule[];
  readonly exportPolicy: ExportPolicy;
  readonly heartbeatMs: number;
}

/**
 * The adapter role: runs one runtime's platform adapters and config sources and
 * publishes what the export policy lets out — registry shards with a heartbeat per source,
 * and rules — on the NATS bus. Serves no xDS.
 */
export class AdapterRole {
  readonly container = new Container();
  /** Registry sources this role publishes. */
  readonly sources: string[] = [];
  private readonly stoppables: { stop(): Promise<void> }[] = [];
  private readonly stores: ConfigStore[] = [];
  private split: SplitConfigMap | undefined;
  private started = false;
  private readonly filter: ExportFilter;

  constructor(private readonly o: AdapterRoleOptions) {
    this.filter = new ExportFilter(o.exportPolicy);
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Started, and NATS acknowledged everything published so far. */
  isReady(): boolean {
    const s = this.o.bus.status();
    return this.started && s.initialized && s.connection.state === 'connected' && s.maps.registry.unsentWrites === 0 && s.maps.config.unsentWrites === 0;
  }

  async start(): Promise<void> {
    const o = this.o;
    const shared = new ContainerModule(({ rebind }) => {
      rebind<Logger>(LoggerToken).toConstantValue(o.logger);
      rebind<Registry>(MetricsRegistry).toConstantValue(o.metrics);
    });
    await this.container.load(coreModule, shared, natsModule(o.bus), staticModule(o.staticPaths), ...o.modules);
    if (!this.filter.exportsAll) o.logger.info({ export: o.exportPolicy }, 'export policy: only matching services and rules leave this runtime');
    // Our files are validated against the mesh's shared rules: have them first.
    if (!o.bus.isInitialized()) o.logger.info({ reason: o.bus.notReadyReason() }, 'waiting for NATS before publishing');
    await o.bus.ready();

    for (const adapter of contributionsOf<PlatformAdapter>(this.container, PlatformAdapter).getContributions()) {
      await adapter.start(new ExportingSink(new BusRegistrySink(o.bus, adapter.source, o.logger), this.filter));
      this.stoppables.push(adapter);
      this.publishes(adapter.source);
      o.logger.info({ adapter: o.id, source: adapter.source }, 'platform adapter publishing on NATS');
    }

    const configSources = contributionsOf<ConfigSource>(this.container, ConfigSource).getContributions();
    if (configSources.length > 0) {
      const source = `static/${o.id}`;
      const log = o.logger.child({ source });
      const sink = new ExportingSink(new BusRegistrySink(o.bus, source, log), this.filter);
      let synced = false;
      const publish = () => {
        if (synced) sink.replace(serviceEntriesToShard(source, this.split!.registryObjects()));
      };
      this.split = new SplitConfigMap(o.bus.config, `${o.id}:`, this.filter, publish);
      const facade: Bus = { registry: o.bus.registry, config: this.split, proxyStatus: o.bus.proxyStatus, close: async () => undefined };
      for (const cs of configSources) {
        const store = new ConfigStore(facade, { source: cs.source, logger: o.logger.child({ config: cs.source }) });
        this.stores.push(store);
        await cs.start(store);
        this.stoppables.push(cs);
      }
      synced = true;
      publish();
      this.publishes(source);
    }
    this.started = true;
    o.logger.info({ adapter: o.id, sources: this.sources, mesh: o.bus.mesh }, 'adapter publishing');
  }

  /** Latest issues per config part (refused proposals, warnings). */
  configIssues(): ReadonlyMap<string, readonly ConfigIssue[]> {
    const all = new Map<string, readonly ConfigIssue[]>();
    for (const store of this.stores) for (const [part, list] of store.issues()) all.set(part, list);
    return all;
  }

  async stop(): Promise<void> {
    for (const s of this.stoppables.splice(0).reverse()) await s.stop().catch(() => undefined);
    this.split?.close();
  }

  /** `/debug/adapterz`: what this adapter publishes and what it refused. */
  adminEndpoint(): AdminEndpoint {
    return {
      path: '/debug/adapterz',
      description: 'Adapter role: sources published on NATS, export policy, refused config',
      handle: (_req, res) => {
        const rejected: Record<string, string[]> = {};
        for (const [part, list] of this.configIssues()) {
          const errors = list.filter((i) => i.severity === 'error').map(formatIssue);
          if (errors.length > 0) rejected[part] = errors;
        }
        sendJson(res, 200, { adapter: this.o.id, started: this.started, sources: this.sources, export: this.o.exportPolicy, rejected });
      },
    };
  }

  private publishes(source: string): void {
    this.sources.push(source);
    this.o.bus.heartbeat(source, this.o.id, this.o.heartbeatMs);
  }
}

/** An xDS server's proxies as ProxyStatusMessages. */
export function proxyStatusMessages(server: string, proxies: readonly ProxyStatus[]): ProxyStatusMessage[] {
  return proxies.map((p) => ({
    proxyId: p.id,
    server,
    connectedAt: p.connectedAt,
    types: Object.fromEntries(
      Object.entries(p.types).map(([typeUrl, t]) => [
        typeUrl,
        {
          ...(t.sentVersion !== undefined ? { sent: t.sentVersion } : {}),
          ...(t.ackedVersion !== undefined ? { acked: t.ackedVersion } : {}),
          ...(t.nackedVersion !== undefined ? { nacked: t.nackedVersion } : {}),
          ...(t.lastError !== undefined ? { error: t.lastError } : {}),
        },
      ]),
    ),
  }));
}

/**
 * The xDS role over NATS, added to a MeshRuntime whose Bus is a NatsBus: nothing is
 * served until the KV state is loaded (and, in `serve --nats`, this process's own sources
 * are on the bus), and this server's proxy status is published for every process to see.
 */
export class XdsRoleExtension implements RuntimeExtension {
  private publisher: ProxyStatusPublisher | undefined;

  constructor(
    private readonly serverId: string,
    /** This process's own sources (serve --nats): served only once they are on the bus. */
    private readonly local?: { readonly isStarted: boolean; readonly sources: readonly string[] },
    /** Sources that must be on the bus (synced) before anything is served (`--require-source`). */
    private readonly required: readonly string[] = [],
  ) {}

  start({ container, engine, xds }: { container: Container; engine: MeshEngine; xds: XdsServer }): void {
    const bus = container.get<NatsBus>(NatsBusToken);
    engine.addGate({
      get name() {
        return bus.notReadyReason() ?? 'NATS KV state';
      },
      isReady: () => bus.isInitialized(),
    });
    const local = this.local;
    if (local) {
      let open = false;
      engine.addGate({
        name: 'this process\'s sources on NATS',
        // Sticky: a gate that closes again would stop every later snapshot.
        isReady: () => (open ||= local.isStarted && local.sources.every((s) => bus.registry.get(s)?.synced === true)),
      });
    }
    for (const source of this.required) {
      let open = false;
      engine.addGate({ name: `registry source ${source} on NATS`, isReady: () => (open ||= bus.registry.get(source)?.synced === true) });
    }
    this.publisher = new ProxyStatusPublisher(bus.proxyStatus, this.serverId, () => proxyStatusMessages(this.serverId, xds.status()));
    this.publisher.start();
  }

  async stop(): Promise<void> {
    await this.publisher?.stop();
  }
}

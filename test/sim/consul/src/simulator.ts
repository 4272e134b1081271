import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { parseGoDuration } from './duration.js';

/**
 * An in-process Consul HTTP API for tests and local development: the catalog, health and
 * KV endpoints an Isthmus adapter reads, with Consul's documented semantics (blocking
 * queries on `index`/`wait` with jitter, per-service raft indexes, `?passing`, 404s,
 * ACL tokens, namespaces, partitions, datacenters), plus fault and latency injection.
 * No dependencies beyond Node.
 *
 * Tests drive it through methods (`registerInstance`, `setHealth`, `inject`, `down` ...);
 * other processes through Consul's own write endpoints (`PUT /v1/catalog/register`,
 * `/v1/catalog/deregister`, `/v1/kv/...`) and a small control API under `/_sim/`.
 */

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** The local datacenter (answers requests without `?dc=`). Default `dc1`. */
  readonly datacenter?: string;
  /** Further datacenters reachable with `?dc=` (WAN federation). */
  readonly datacenters?: readonly string[];
  /** Serve HTTPS with this key and certificate (PEM); with `clientCa`, require client certificates it signed. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer; readonly clientCa?: string | Buffer };
  /** Enable ACLs with these tokens. Without it every request is allowed. */
  readonly aclTokens?: Readonly<Record<string, AclRule>>;
  /** Add Consul's random extra wait (up to wait/16) to blocking queries. Default true. */
  readonly jitter?: boolean;
}

/** What a token may do: read everything, read and write everything, or read some services. */
export type AclRule = 'read' | 'write' | { readonly servicePrefixes: readonly string[] };

/** Something that goes wrong, for requests whose path starts with `path` (default: all of `/v1/`). */
export type Fault = (
  | { readonly kind: 'error'; readonly status?: number; readonly body?: string; readonly retryAfterSeconds?: number }
  | { readonly kind: 'reset' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'slow'; readonly delayMs: number }
  | { readonly kind: 'zeroIndex' }
  | { readonly kind: 'noIndex' }
  | { readonly kind: 'indexBack'; readonly by?: number }
  | { readonly kind: 'badJson' }
  | { readonly kind: 'staleRead' }
) & {
  readonly path?: string;
  /** Apply to this many requests, then disappear. Default: until cleared. */
  readonly times?: number;
};

/** A convenient way to register one service instance (and its node) as an agent would. */
export interface InstanceInput {
  readonly service: string;
  /** Default `<service>-<n>`. */
  readonly id?: string;
  /** Default `node1`. */
  readonly node?: string;
  /** Default 127.0.0.1; used when the service has no address of its own. */
  readonly nodeAddress?: string;
  readonly nodeMeta?: Readonly<Record<string, string>>;
  /** Service address; empty means "the node's address", as in Consul. */
  readonly address?: string;
  readonly port: number;
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
  /** Status of the instance's service check; `null` registers no service check. Default passing. */
  readonly status?: CheckStatus | null;
  readonly kind?: string;
  readonly proxy?: Readonly<Record<string, unknown>>;
  readonly connectNative?: boolean;
  readonly weights?: { readonly Passing: number; readonly Warning: number };
  readonly locality?: { readonly Region?: string; readonly Zone?: string };
  readonly namespace?: string;
  readonly partition?: string;
  readonly dc?: string;
}

/** One request as the simulator saw it. */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** performance.now() at arrival. */
  readonly at: number;
  status?: number;
}

interface SimNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
  Partition: string;
  CreateIndex: number;
  ModifyIndex: number;
}

interface SimService {
  Kind?: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses?: Record<string, { address: string; port: number }>;
  Meta: Record<string, string>;
  Port: number;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
  Proxy: Record<string, unknown>;
  Connect: Record<string, unknown>;
  Locality?: { Region?: string; Zone?: string };
  Namespace: string;
  Partition: string;
  CreateIndex: number;
  ModifyIndex: number;
}

interface SimCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Namespace: string;
  Partition: string;
  CreateIndex: number;
  ModifyIndex: number;
}

interface KvEntry {
  Key: string;
  Flags: number;
  Value: Buffer | null;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Consul keeps one raft log (and so one index space) per datacenter. */
class Datacenter {
  index = 10;
  catalogIndex = 1;
  kvIndex = 1;
  readonly nodes = new Map<string, SimNode>();
  /** `node/namespace/serviceID` → service */
  readonly services = new Map<string, SimService>();
  /** `node/checkID` → check */
  readonly checks = new Map<string, SimCheck>();
  readonly kv = new Map<string, KvEntry>();
  /** `partition/namespace/name` → index of the last change affecting that service's health result. */
  readonly serviceIndexes = new Map<string, number>();
  readonly connectIndexes = new Map<string, number>();
  constructor(readonly name: string) {}

  bump(): number {
    return ++this.index;
  }
}

/** What a read endpoint computes; recomputed on every write while a blocking query waits. */
interface ReadResult {
  readonly status: number;
  readonly index: number;
  /** JSON-serialisable body, or a string sent as-is. */
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

interface Waiter {
  readonly dc: Datacenter;
  readonly minIndex: number;
  readonly compute: () => ReadResult;
  /** The result's index without building the body: thousands of waiters are checked on every write. */
  readonly indexOf: () => number;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly record: RequestRecord;
  readonly token: string | undefined;
  timer: NodeJS.Timeout;
}

interface ActiveFault {
  readonly id: number;
  readonly fault: Fault;
  remaining: number;
}

const MAX_WAIT_MS = 10 * 60_000;
const DEFAULT_WAIT_MS = 5 * 60_000;
const LOG_LIMIT = 200_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ConsulSimulator {
  private readonly dcs = new Map<string, Datacenter>();
  private readonly local: Datacenter;
  private readonly host: string;
  private readonly jitter: boolean;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<Waiter>();
  private readonly hung = new Set<{ release: () => void; path: string }>();
  private faults: ActiveFault[] = [];
  private nextFaultId = 1;
  private acl: Map<string, AclRule> | undefined;
  private counter = 0;
  private readonly log: RequestRecord[] = [];
  private boundPort = 0;

  constructor(private readonly options: SimulatorOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.jitter = options.jitter ?? true;
    this.local = new Datacenter(options.datacenter ?? 'dc1');
    this.dcs.set(this.local.name, this.local);
    for (const name of options.datacenters ?? []) if (!this.dcs.has(name)) this.dcs.set(name, new Datacenter(name));
    if (options.aclTokens) this.acl = new Map(Object.entries(options.aclTokens));
  }

  /** Creates a simulator and starts listening (port 0 = any free port). */
  static async start(options: SimulatorOptions & { port?: number } = {}): Promise<ConsulSimulator> {
    const sim = new ConsulSimulator(options);
    await sim.listen(options.port ?? 0);
    return sim;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Base URL, e.g. `http://127.0.0.1:38211`. */
  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://${this.host}:${this.boundPort}`;
  }

  get datacenter(): string {
    return this.local.name;
  }

  /** Starts listening; `port` defaults to the port used before (so `down()`/`listen()` keeps the URL). */
  async listen(port = this.boundPort): Promise<void> {
    if (this.server) return;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    const server = this.options.tls
      ? createHttpsServer(
          {
            key: this.options.tls.key,
            cert: this.options.tls.cert,
            ...(this.options.tls.clientCa ? { ca: this.options.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
          },
          handler,
        )
      : createHttpServer(handler);
    server.keepAliveTimeout = 65_000;
    // Blocking queries may wait up to 10 min (+ wait/16): do not let Node cut them at its 5 min default.
    server.requestTimeout = 0;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    server.on('secureConnection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
  }

  /** The agent goes away: the port refuses connections and open requests are cut. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters.clear();
    this.hung.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** The agent comes back on the same port. */
  async up(): Promise<void> {
    await this.listen(this.boundPort);
  }

  async stop(): Promise<void> {
    await this.down();
  }

  // ---- state changes -------------------------------------------------------------------

  /** Registers (or updates) one instance and its node, with a serfHealth node check like an agent's. */
  registerInstance(input: InstanceInput): string {
    const id = input.id ?? `${input.service}-${++this.counter}`;
    const node = input.node ?? 'node1';
    const checks: Record<string, unknown>[] = [];
    const dc = this.dc(input.dc);
    if (!dc.checks.has(`${node}/serfHealth`)) {
      checks.push({ CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', ServiceID: '' });
    }
    if (input.status !== null) {
      checks.push({
        CheckID: `service:${id}`,
        Name: `Service '${input.service}' check`,
        Status: input.status ?? 'passing',
        ServiceID: id,
        Type: 'ttl',
      });
    }
    this.register(
      {
        Datacenter: dc.name,
        Node: node,
        Address: input.nodeAddress ?? dc.nodes.get(node)?.Address ?? '127.0.0.1',
        NodeMeta: input.nodeMeta ?? dc.nodes.get(node)?.Meta ?? {},
        Partition: input.partition,
        SkipNodeUpdate: input.nodeAddress === undefined && input.nodeMeta === undefined && dc.nodes.has(node),
        Service: {
          ID: id,
          Service: input.service,
          Kind: input.kind,
          Tags: input.tags ?? [],
          Address: input.address ?? '',
          Meta: input.meta ?? {},
          Port: input.port,
          Weights: input.weights,
          Proxy: input.proxy,
          Connect: input.connectNative ? { Native: true } : undefined,
          Locality: input.locality,
          Namespace: input.namespace,
        },
        Checks: checks,
      },
      input.dc,
    );
    return id;
  }

  /**
   * `PUT /v1/catalog/register` semantics (api-docs/catalog): upserts the node, the service
   * and the checks given. An unchanged object keeps its ModifyIndex, so an idempotent
   * write does not wake blocking queries that see no difference.
   */
  register(body: Record<string, any>, dcName?: string): void {
    const dc = this.dc(dcName ?? body.Datacenter);
    if (typeof body.Node !== 'string' || body.Node === '') throw new HttpError(400, 'Must provide node');
    if (typeof body.Address !== 'string' || body.Address === '') {
      if (!dc.nodes.has(body.Node)) throw new HttpError(400, 'Must provide address');
    }
    const partition = str(body.Partition, 'default');
    const idx = dc.index + 1;
    let changed = false;
    const touched = new Set<string>();
    const existingNode = dc.nodes.get(body.Node);
    if (!existingNode || !body.SkipNodeUpdate) {
      const address = str(body.Address, existingNode?.Address ?? '');
      const node: SimNode = {
        ID: str(body.ID, existingNode?.ID ?? pseudoUuid(body.Node)),
        Node: body.Node,
        Address: address,
        Datacenter: dc.name,
        TaggedAddresses: { ...(body.TaggedAddresses ?? { lan: address, lan_ipv4: address, wan: address, wan_ipv4: address }) },
        Meta: { ...(body.NodeMeta ?? {}) },
        Partition: partition,
        CreateIndex: existingNode?.CreateIndex ?? idx,
        ModifyIndex: idx,
      };
      if (!existingNode || !same(existingNode, node, ['CreateIndex', 'ModifyIndex'])) {
        dc.nodes.set(node.Node, node);
        changed = true;
        dc.catalogIndex = idx;
        for (const s of this.servicesOnNode(dc, node.Node)) touched.add(serviceKey(s.Partition, s.Namespace, s.Service));
      }
    }
    if (body.Service) {
      const s = body.Service as Record<string, any>;
      if (typeof s.Service !== 'string' || s.Service === '') throw new HttpError(400, 'Must provide service name');
      const ns = str(s.Namespace, 'default');
      const id = str(s.ID, s.Service);
      const key = `${body.Node}/${ns}/${id}`;
      const prev = dc.services.get(key);
      const svc: SimService = {
        ...(s.Kind ? { Kind: String(s.Kind) } : {}),
        ID: id,
        Service: s.Service,
        Tags: [...(s.Tags ?? [])].map(String),
        Address: str(s.Address, ''),
        ...(s.TaggedAddresses ? { TaggedAddresses: s.TaggedAddresses } : {}),
        Meta: { ...(s.Meta ?? {}) },
        Port: Number(s.Port ?? 0),
        Weights: s.Weights ?? { Passing: 1, Warning: 1 },
        EnableTagOverride: Boolean(s.EnableTagOverride),
        Proxy: s.Proxy ? { ...s.Proxy } : { Mode: '', MeshGateway: {}, Expose: {} },
        Connect: s.Connect ? { ...s.Connect } : {},
        ...(s.Locality ? { Locality: s.Locality } : {}),
        Namespace: ns,
        Partition: partition,
        CreateIndex: prev?.CreateIndex ?? idx,
        ModifyIndex: idx,
      };
      if (!prev || !same(prev, svc, ['CreateIndex', 'ModifyIndex'])) {
        if (prev && prev.Service !== svc.Service) touched.add(serviceKey(prev.Partition, prev.Namespace, prev.Service));
        dc.services.set(key, svc);
        changed = true;
        dc.catalogIndex = idx;
        touched.add(serviceKey(partition, ns, svc.Service));
        this.touchConnect(dc, svc, idx);
        if (prev) this.touchConnect(dc, prev, idx);
      }
    }
    const checks: Record<string, any>[] = [...(body.Check ? [body.Check] : []), ...(body.Checks ?? [])];
    for (const c of checks) {
      const checkId = str(c.CheckID, str(c.Name, ''));
      if (checkId === '') throw new HttpError(400, 'Must provide check ID');
      const serviceId = str(c.ServiceID, '');
      const owner = serviceId ? this.findService(dc, body.Node, serviceId) : undefined;
      if (serviceId && !owner) throw new HttpError(400, `Missing service registration for check ${checkId}`);
      const key = `${body.Node}/${checkId}`;
      const prev = dc.checks.get(key);
      const check: SimCheck = {
        Node: body.Node,
        CheckID: checkId,
        Name: str(c.Name, checkId),
        Status: (c.Status ?? 'critical') as CheckStatus,
        Notes: str(c.Notes, ''),
        Output: str(c.Output, ''),
        ServiceID: serviceId,
        ServiceName: owner?.Service ?? '',
        ServiceTags: owner ? [...owner.Tags] : [],
        Type: str(c.Type, ''),
        Namespace: owner?.Namespace ?? 'default',
        Partition: partition,
        CreateIndex: prev?.CreateIndex ?? idx,
        ModifyIndex: idx,
      };
      if (!['passing', 'warning', 'critical'].includes(check.Status)) throw new HttpError(400, `Invalid check status: ${check.Status}`);
      if (!prev || !same(prev, check, ['CreateIndex', 'ModifyIndex'])) {
        dc.checks.set(key, check);
        changed = true;
        this.touchCheck(dc, check, touched);
      }
    }
    if (changed) this.commit(dc, idx, touched);
  }

  /**
   * `PUT /v1/catalog/deregister` semantics: a node (with everything on it), one service
   * (and its checks), or one check.
   */
  deregister(body: Record<string, any>, dcName?: string): void {
    const dc = this.dc(dcName ?? body.Datacenter);
    const nodeName = str(body.Node, '');
    if (nodeName === '') throw new HttpError(400, 'Must provide node');
    if (!dc.nodes.has(nodeName)) return;
    const idx = dc.index + 1;
    const touched = new Set<string>();
    if (body.ServiceID) {
      const svc = this.findService(dc, nodeName, body.ServiceID, body.Namespace);
      if (!svc) return;
      this.removeService(dc, nodeName, svc, idx, touched);
    } else if (body.CheckID) {
      const key = `${nodeName}/${body.CheckID}`;
      const check = dc.checks.get(key);
      if (!check) return;
      dc.checks.delete(key);
      this.touchCheck(dc, check, touched);
    } else {
      for (const svc of this.servicesOnNode(dc, nodeName)) this.removeService(dc, nodeName, svc, idx, touched);
      for (const [key, c] of dc.checks) if (c.Node === nodeName) dc.checks.delete(key);
      dc.nodes.delete(nodeName);
      dc.catalogIndex = idx;
    }
    this.commit(dc, idx, touched);
  }

  /** Removes one instance by service ID (on whichever node holds it). */
  deregisterInstance(serviceId: string, opts: { node?: string; dc?: string; namespace?: string } = {}): void {
    const dc = this.dc(opts.dc);
    for (const s of [...dc.services.entries()]) {
      const [key, svc] = s;
      const node = key.split('/')[0]!;
      if (svc.ID === serviceId && (!opts.node || opts.node === node) && (!opts.namespace || opts.namespace === svc.Namespace)) {
        this.deregister({ Node: node, ServiceID: serviceId, Namespace: svc.Namespace }, dc.name);
      }
    }
  }

  /** Removes every instance of a service. */
  deregisterService(name: string, opts: { dc?: string } = {}): void {
    const dc = this.dc(opts.dc);
    const instances = [...dc.services.entries()].filter(([, s]) => s.Service === name);
    if (instances.length === 0) return;
    const idx = dc.index + 1;
    const touched = new Set<string>();
    for (const [key, svc] of instances) this.removeService(dc, key.split('/')[0]!, svc, idx, touched);
    this.commit(dc, idx, touched);
  }

  /** Sets the status of an instance's service check (`service:<id>`), creating the check if needed. */
  setHealth(serviceId: string, status: CheckStatus, opts: { node?: string; dc?: string; output?: string; checkId?: string } = {}): void {
    const dc = this.dc(opts.dc);
    const svcEntry = [...dc.services.entries()].find(([key, s]) => s.ID === serviceId && (!opts.node || key.startsWith(`${opts.node}/`)));
    if (!svcEntry) throw new HttpError(404, `no service instance ${serviceId}`);
    const node = svcEntry[0].split('/')[0]!;
    const checkId = opts.checkId ?? `service:${serviceId}`;
    const prev = dc.checks.get(`${node}/${checkId}`);
    this.register(
      {
        Node: node,
        SkipNodeUpdate: true,
        Check: {
          CheckID: checkId,
          Name: prev?.Name ?? `Service '${svcEntry[1].Service}' check`,
          Status: status,
          ServiceID: serviceId,
          Output: opts.output ?? prev?.Output ?? '',
          Type: prev?.Type ?? 'ttl',
        },
      },
      dc.name,
    );
  }

  /** Sets the node-level serfHealth check, which affects every instance on the node. */
  setNodeHealth(node: string, status: CheckStatus, opts: { dc?: string } = {}): void {
    this.register({ Node: node, SkipNodeUpdate: true, Check: { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: status } }, opts.dc);
  }

  /** Raises a service's index without changing anything (Consul does this on idempotent writes to some tables). */
  touch(service: string, opts: { dc?: string; namespace?: string; partition?: string } = {}): void {
    const dc = this.dc(opts.dc);
    const idx = dc.index + 1;
    this.commit(dc, idx, new Set([serviceKey(opts.partition ?? 'default', opts.namespace ?? 'default', service)]));
  }

  putKv(key: string, value: string | Buffer, opts: { dc?: string; flags?: number; cas?: number } = {}): boolean {
    const dc = this.dc(opts.dc);
    const prev = dc.kv.get(key);
    if (opts.cas !== undefined && (opts.cas === 0 ? prev !== undefined : prev?.ModifyIndex !== opts.cas)) return false;
    const idx = dc.index + 1;
    dc.kv.set(key, {
      Key: key,
      Flags: opts.flags ?? prev?.Flags ?? 0,
      Value: typeof value === 'string' ? Buffer.from(value) : value,
      LockIndex: prev?.LockIndex ?? 0,
      CreateIndex: prev?.CreateIndex ?? idx,
      ModifyIndex: idx,
    });
    dc.kvIndex = idx;
    this.commit(dc, idx, new Set());
    return true;
  }

  deleteKv(key: string, opts: { dc?: string; recurse?: boolean } = {}): void {
    const dc = this.dc(opts.dc);
    const keys = opts.recurse ? [...dc.kv.keys()].filter((k) => k.startsWith(key)) : dc.kv.has(key) ? [key] : [];
    const idx = dc.index + 1;
    for (const k of keys) dc.kv.delete(k);
    dc.kvIndex = idx;
    this.commit(dc, idx, new Set());
  }

  /**
   * A snapshot restore: every index of the datacenter drops to at most `index` (data kept).
   * Blocking queries waiting on a higher index time out and come back with a lower one,
   * which is what Consul's "reset the index when it goes backwards" rule is for.
   */
  restoreSnapshot(index: number, opts: { dc?: string } = {}): void {
    const dc = this.dc(opts.dc);
    const clamp = (n: number) => Math.min(n, index);
    dc.index = index;
    dc.catalogIndex = clamp(dc.catalogIndex);
    dc.kvIndex = clamp(dc.kvIndex);
    for (const m of [dc.serviceIndexes, dc.connectIndexes]) for (const [k, v] of m) m.set(k, clamp(v));
    for (const s of dc.services.values()) s.ModifyIndex = clamp(s.ModifyIndex);
    for (const c of dc.checks.values()) c.ModifyIndex = clamp(c.ModifyIndex);
    for (const e of dc.kv.values()) e.ModifyIndex = clamp(e.ModifyIndex);
  }

  /** Replaces the ACL token set (a token rotation); open blocking queries with a revoked token fail with 403. */
  setAclTokens(tokens: Readonly<Record<string, AclRule>> | undefined): void {
    this.acl = tokens ? new Map(Object.entries(tokens)) : undefined;
    for (const w of [...this.waiters]) {
      const denied = this.aclDenial(w.token);
      if (denied) this.finishWaiter(w, { status: 403, index: 0, body: denied });
    }
  }

  // ---- faults --------------------------------------------------------------------------

  /**
   * Injects a fault; returns a function that removes it. `error`, `reset` and `hang` also
   * hit blocking queries already waiting on a matching path, as a lost leader or a
   * stopped agent would.
   */
  inject(fault: Fault): () => void {
    const active: ActiveFault = { id: this.nextFaultId++, fault, remaining: fault.times ?? Infinity };
    this.faults.push(active);
    if (fault.kind === 'hang') {
      // A stopped agent answers nothing, not even the queries already waiting.
      for (const w of [...this.waiters]) {
        if (!matches(fault, w.record.path)) continue;
        this.waiters.delete(w);
        clearTimeout(w.timer);
        const h = {
          path: w.record.path,
          release: () => {
            this.hung.delete(h);
            if (!w.res.destroyed) this.respond(w.res, w.record, w.compute());
          },
        };
        this.hung.add(h);
        w.res.once('close', () => this.hung.delete(h));
      }
    }
    if (fault.kind === 'error' || fault.kind === 'reset') {
      for (const w of [...this.waiters]) {
        if (!matches(fault, w.record.path) || active.remaining <= 0) continue;
        active.remaining--;
        this.waiters.delete(w);
        clearTimeout(w.timer);
        if (fault.kind === 'reset') w.req.socket.destroy();
        else this.send(w.res, w.record, fault.status ?? 500, fault.body ?? 'No cluster leader', {});
      }
      this.pruneFaults();
    }
    return () => this.removeFault(active.id);
  }

  clearFaults(): void {
    this.faults = [];
    for (const h of [...this.hung]) h.release();
  }

  private removeFault(id: number): void {
    this.faults = this.faults.filter((f) => f.id !== id);
    for (const h of [...this.hung]) h.release();
  }

  private takeFault(path: string, kinds: readonly Fault['kind'][]): Fault | undefined {
    for (const f of this.faults) {
      if (f.remaining > 0 && kinds.includes(f.fault.kind) && matches(f.fault, path)) {
        f.remaining--;
        this.pruneFaults();
        return f.fault;
      }
    }
    return undefined;
  }

  private pruneFaults(): void {
    this.faults = this.faults.filter((f) => f.remaining > 0);
  }

  // ---- observation ---------------------------------------------------------------------

  /** Requests received (oldest first), optionally only those whose path starts with `prefix`. */
  requests(prefix = ''): readonly RequestRecord[] {
    return prefix ? this.log.filter((r) => r.path.startsWith(prefix)) : [...this.log];
  }

  /** Blocking queries currently waiting, optionally only those whose path starts with `prefix`. */
  pendingQueries(prefix = ''): number {
    let n = 0;
    for (const w of this.waiters) if (w.record.path.startsWith(prefix)) n++;
    return n;
  }

  /** Current raft index of a datacenter. */
  index(dcName?: string): number {
    return this.dc(dcName).index;
  }

  /** Service names registered in a datacenter. */
  serviceNames(dcName?: string): string[] {
    return [...new Set([...this.dc(dcName).services.values()].map((s) => s.Service))].sort();
  }

  // ---- HTTP ----------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://sim');
    const record: RequestRecord = { method: req.method ?? 'GET', path: url.pathname, query: url.search, at: performance.now() };
    if (this.log.length >= LOG_LIMIT) this.log.splice(0, LOG_LIMIT / 2);
    this.log.push(record);
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const text = Buffer.concat(body).toString('utf8');
      if (url.pathname.startsWith('/_sim/')) {
        this.control(req, res, url, text, record);
        return;
      }
      this.arrive(req, res, url, text, record);
    });
  }

  /** Arrival faults (reset, hang, error, slow) come first, as they would from a sick agent. */
  private arrive(req: IncomingMessage, res: ServerResponse, url: URL, text: string, record: RequestRecord): void {
    const fault = this.takeFault(url.pathname, ['reset', 'hang', 'error', 'slow']);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      const h = {
        path: url.pathname,
        release: () => {
          this.hung.delete(h);
          if (!res.destroyed) this.arrive(req, res, url, text, record);
        },
      };
      this.hung.add(h);
      res.once('close', () => this.hung.delete(h));
      return;
    }
    if (fault?.kind === 'error') {
      const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {};
      this.send(res, record, fault.status ?? 500, fault.body ?? 'No cluster leader', headers);
      return;
    }
    if (fault?.kind === 'slow') {
      const t = setTimeout(() => this.route(req, res, url, text, record), fault.delayMs);
      res.once('close', () => clearTimeout(t));
      return;
    }
    this.route(req, res, url, text, record);
  }

  private route(req: IncomingMessage, res: ServerResponse, url: URL, text: string, record: RequestRecord): void {
    if (res.destroyed || !this.server) return;
    try {
      const token = tokenOf(req, url);
      const method = req.method ?? 'GET';
      const p = url.pathname;
      const dc = this.dcFromQuery(url);
      const reading = method === 'GET';
      const denied = this.aclDenial(token);
      if (denied) throw new HttpError(403, denied);
      if (!reading && !this.canWrite(token)) throw new HttpError(403, 'Permission denied');
      if (p === '/v1/status/leader' && reading) return this.send(res, record, 200, '"127.0.0.1:8300"', {}, true);
      if (p === '/v1/agent/self' && reading) {
        return this.sendJson(res, record, 200, { Config: { Datacenter: this.local.name, NodeName: 'sim', Version: '1.21.0' } }, {});
      }
      if (p === '/v1/catalog/services' && reading) {
        return this.read(req, res, url, record, dc, token, () => this.catalogServices(dc, url, token), () => Math.max(1, dc.catalogIndex));
      }
      let m = /^\/v1\/catalog\/service\/(.+)$/.exec(p);
      if (m && reading) return this.read(req, res, url, record, dc, token, () => this.catalogService(dc, url, decodeURIComponent(m![1]!), token));
      m = /^\/v1\/health\/(service|connect)\/(.+)$/.exec(p);
      if (m && reading) {
        const connect = m[1] === 'connect';
        const name = decodeURIComponent(m[2]!);
        const { ns, partition } = scope(url);
        const key = serviceKey(partition, ns, name);
        const indexes = connect ? dc.connectIndexes : dc.serviceIndexes;
        return this.read(
          req,
          res,
          url,
          record,
          dc,
          token,
          () => this.healthService(dc, url, name, token, connect),
          () => indexes.get(key) ?? Math.max(1, dc.catalogIndex),
        );
      }
      if (p === '/v1/catalog/register' && method === 'PUT') {
        this.register(parseBody(text), dc.name);
        return this.send(res, record, 200, 'true', {}, true);
      }
      if (p === '/v1/catalog/deregister' && method === 'PUT') {
        this.deregister(parseBody(text), dc.name);
        return this.send(res, record, 200, 'true', {}, true);
      }
      m = /^\/v1\/kv\/(.*)$/.exec(p);
      if (m) {
        const key = decodeURIComponent(m[1]!);
        if (this.acl && (token === undefined || !this.acl.has(token))) throw new HttpError(403, 'Permission denied');
        if (reading) return this.read(req, res, url, record, dc, token, () => this.kvRead(dc, url, key));
        if (method === 'PUT') {
          const cas = url.searchParams.get('cas');
          const flags = url.searchParams.get('flags');
          const ok = this.putKv(key, Buffer.from(text), {
            dc: dc.name,
            ...(cas !== null ? { cas: Number(cas) } : {}),
            ...(flags !== null ? { flags: Number(flags) } : {}),
          });
          return this.send(res, record, 200, String(ok), {}, true);
        }
        if (method === 'DELETE') {
          this.deleteKv(key, { dc: dc.name, recurse: url.searchParams.has('recurse') });
          return this.send(res, record, 200, 'true', {}, true);
        }
      }
      if (p.startsWith('/v1/')) throw new HttpError(reading ? 404 : 405, reading ? 'Not found' : 'method not allowed');
      throw new HttpError(404, 'Not found');
    } catch (err) {
      if (err instanceof HttpError) this.send(res, record, err.status, err.message, {});
      else this.send(res, record, 500, String((err as Error)?.message ?? err), {});
    }
  }

  /**
   * Runs a read with Consul's blocking semantics: `index` absent or 0 answers at once;
   * otherwise wait until the result's index exceeds it or `wait` (+ up to wait/16) passes.
   */
  private read(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    record: RequestRecord,
    dc: Datacenter,
    token: string | undefined,
    compute: () => ReadResult,
    indexOf: () => number = () => compute().index,
  ): void {
    const indexParam = url.searchParams.get('index');
    const minIndex = indexParam === null || indexParam === '' ? 0 : Number(indexParam);
    if (!Number.isInteger(minIndex) || minIndex < 0) throw new HttpError(400, 'Invalid index');
    const waitParam = url.searchParams.get('wait');
    let waitMs = DEFAULT_WAIT_MS;
    if (waitParam !== null) {
      const parsed = parseGoDuration(waitParam);
      if (parsed === undefined) throw new HttpError(400, 'Invalid wait time');
      waitMs = Math.min(parsed, MAX_WAIT_MS);
    }
    const first = compute();
    if (minIndex === 0 || first.index > minIndex) {
      this.respond(res, record, first);
      return;
    }
    const total = waitMs + (this.jitter ? Math.random() * (waitMs / 16) : 0);
    const waiter: Waiter = {
      dc,
      minIndex,
      compute,
      indexOf,
      req,
      res,
      record,
      token,
      timer: setTimeout(() => this.finishWaiter(waiter, waiter.compute()), total),
    };
    this.waiters.add(waiter);
    res.once('close', () => {
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
    });
  }

  private finishWaiter(w: Waiter, result: ReadResult): void {
    if (!this.waiters.delete(w)) return;
    clearTimeout(w.timer);
    this.respond(w.res, w.record, result);
  }

  /** After a write: wake the blocking queries whose result moved past their index. */
  private commit(dc: Datacenter, idx: number, touched: Set<string>): void {
    dc.index = Math.max(dc.index, idx);
    for (const key of touched) dc.serviceIndexes.set(key, idx);
    for (const w of [...this.waiters]) {
      if (w.dc !== dc) continue;
      if (w.indexOf() > w.minIndex) this.finishWaiter(w, w.compute());
    }
  }

  /** Response-time faults (index tricks, bad bodies, stale reads) and the Consul headers. */
  private respond(res: ServerResponse, record: RequestRecord, result: ReadResult): void {
    const headers: Record<string, string> = {
      'X-Consul-Index': String(result.index),
      'X-Consul-KnownLeader': 'true',
      'X-Consul-LastContact': '0',
      'X-Consul-Effective-Consistency': 'leader',
      ...(this.acl ? { 'X-Consul-Default-Acl-Policy': 'deny' } : {}),
      ...(result.headers ?? {}),
    };
    const f = this.takeFault(record.path, ['zeroIndex', 'noIndex', 'indexBack', 'badJson', 'staleRead']);
    if (f?.kind === 'zeroIndex') headers['X-Consul-Index'] = '0';
    if (f?.kind === 'noIndex') delete headers['X-Consul-Index'];
    if (f?.kind === 'indexBack') headers['X-Consul-Index'] = String(Math.max(1, result.index - (f.by ?? 1000)));
    if (f?.kind === 'staleRead') {
      headers['X-Consul-KnownLeader'] = 'false';
      headers['X-Consul-LastContact'] = '120000';
    }
    if (typeof result.body === 'string') {
      this.send(res, record, result.status, result.body, headers, result.status === 200);
      return;
    }
    let text = JSON.stringify(result.body);
    if (f?.kind === 'badJson') text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    this.send(res, record, result.status, text, headers, true);
  }

  private sendJson(res: ServerResponse, record: RequestRecord, status: number, body: unknown, headers: Record<string, string>): void {
    this.send(res, record, status, JSON.stringify(body), headers, true);
  }

  private send(res: ServerResponse, record: RequestRecord, status: number, text: string, headers: Record<string, string>, json = false): void {
    record.status = status;
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, { 'Content-Type': json ? 'application/json' : 'text/plain; charset=utf-8', ...headers });
    res.end(text);
  }

  // ---- read endpoints ------------------------------------------------------------------

  private catalogServices(dc: Datacenter, url: URL, token: string | undefined): ReadResult {
    const { ns, partition } = scope(url);
    const out: Record<string, Set<string>> = {};
    let filtered = false;
    for (const s of dc.services.values()) {
      if (!inScope(s, ns, partition)) continue;
      if (!this.canReadService(token, s.Service)) {
        filtered = true;
        continue;
      }
      const tags = (out[s.Service] ??= new Set());
      for (const t of s.Tags) tags.add(t);
    }
    const body: Record<string, string[]> = {};
    for (const name of Object.keys(out).sort()) body[name] = [...out[name]!].sort();
    return { status: 200, index: Math.max(1, dc.catalogIndex), body, headers: filteredHeader(filtered) };
  }

  private catalogService(dc: Datacenter, url: URL, name: string, token: string | undefined): ReadResult {
    const { ns, partition } = scope(url);
    const index = dc.serviceIndexes.get(serviceKey(partition, ns, name)) ?? Math.max(1, dc.catalogIndex);
    if (!this.canReadService(token, name)) return { status: 200, index, body: [], headers: filteredHeader(true) };
    const body = this.instancesOf(dc, name, ns, partition).map(({ node, svc }) => ({
      ID: node.ID,
      Node: node.Node,
      Address: node.Address,
      Datacenter: dc.name,
      TaggedAddresses: node.TaggedAddresses,
      NodeMeta: node.Meta,
      ServiceKind: svc.Kind ?? '',
      ServiceID: svc.ID,
      ServiceName: svc.Service,
      ServiceTags: svc.Tags,
      ServiceAddress: svc.Address,
      ServiceMeta: svc.Meta,
      ServicePort: svc.Port,
      ServiceWeights: svc.Weights,
      ServiceEnableTagOverride: svc.EnableTagOverride,
      ServiceProxy: svc.Proxy,
      ServiceConnect: svc.Connect,
      Namespace: svc.Namespace,
      Partition: svc.Partition,
      CreateIndex: svc.CreateIndex,
      ModifyIndex: svc.ModifyIndex,
    }));
    return { status: 200, index, body };
  }

  /** `/v1/health/service/:name` (connect=false) and `/v1/health/connect/:name` (connect=true). */
  private healthService(dc: Datacenter, url: URL, name: string, token: string | undefined, connect: boolean): ReadResult {
    const { ns, partition } = scope(url);
    const passing = passingParam(url);
    if (url.searchParams.has('filter')) throw new HttpError(400, 'simulator: ?filter (bexpr) is not implemented');
    const tags = url.searchParams.getAll('tag');
    const key = serviceKey(partition, ns, name);
    const index = (connect ? dc.connectIndexes.get(key) : dc.serviceIndexes.get(key)) ?? Math.max(1, dc.catalogIndex);
    if (!this.canReadService(token, name)) return { status: 200, index, body: [], headers: filteredHeader(true) };
    const instances = connect ? this.connectInstancesOf(dc, name, ns, partition) : this.instancesOf(dc, name, ns, partition);
    const body = [];
    for (const { node, svc } of instances) {
      if (tags.some((t) => !svc.Tags.includes(t))) continue;
      const checks = [...dc.checks.values()]
        .filter((c) => c.Node === node.Node && (c.ServiceID === '' || c.ServiceID === svc.ID))
        .sort((a, b) => (a.CheckID < b.CheckID ? -1 : 1));
      if (passing && checks.some((c) => c.Status !== 'passing')) continue;
      body.push({
        Node: { ...node },
        Service: { ...svc },
        Checks: checks.map((c) => ({ ...c, ServiceTags: c.ServiceID ? [...svc.Tags] : [] })),
      });
    }
    return { status: 200, index, body };
  }

  private kvRead(dc: Datacenter, url: URL, key: string): ReadResult {
    if (url.searchParams.has('keys')) {
      const sep = url.searchParams.get('separator') ?? '';
      const keys = new Set<string>();
      let index = 0;
      for (const e of dc.kv.values()) {
        if (!e.Key.startsWith(key)) continue;
        index = Math.max(index, e.ModifyIndex);
        const rest = e.Key.slice(key.length);
        const cut = sep ? rest.indexOf(sep) : -1;
        keys.add(cut >= 0 ? key + rest.slice(0, cut + sep.length) : e.Key);
      }
      if (keys.size === 0) return { status: 404, index: dc.kvIndex, body: '' };
      return { status: 200, index, body: [...keys].sort() };
    }
    const entries = url.searchParams.has('recurse')
      ? [...dc.kv.values()].filter((e) => e.Key.startsWith(key)).sort((a, b) => (a.Key < b.Key ? -1 : 1))
      : dc.kv.has(key)
        ? [dc.kv.get(key)!]
        : [];
    // Consul's own rule: the index of a recursive read is the highest ModifyIndex under
    // the prefix, so deleting that key makes the index go backwards.
    if (entries.length === 0) return { status: 404, index: dc.kvIndex, body: '' };
    const index = Math.max(...entries.map((e) => e.ModifyIndex));
    if (url.searchParams.has('raw')) return { status: 200, index, body: entries[0]!.Value?.toString('utf8') ?? '' };
    return {
      status: 200,
      index,
      body: entries.map((e) => ({
        LockIndex: e.LockIndex,
        Key: e.Key,
        Flags: e.Flags,
        Value: e.Value === null ? null : e.Value.toString('base64'),
        CreateIndex: e.CreateIndex,
        ModifyIndex: e.ModifyIndex,
      })),
    };
  }

  // ---- control API ---------------------------------------------------------------------

  private control(req: IncomingMessage, res: ServerResponse, url: URL, text: string, record: RequestRecord): void {
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    try {
      const body = text ? parseBody(text) : {};
      switch (`${method} ${url.pathname}`) {
        case 'GET /_sim/state':
          return this.sendJson(res, record, 200, this.dump(), {});
        case 'POST /_sim/instances':
          return this.sendJson(res, record, 200, { ID: this.registerInstance(body as InstanceInput) }, {});
        case 'DELETE /_sim/instances':
          this.deregisterInstance(q.get('id') ?? '', { ...opt('node', q.get('node')), ...opt('dc', q.get('dc')) });
          return this.sendJson(res, record, 200, true, {});
        case 'DELETE /_sim/services':
          this.deregisterService(q.get('name') ?? '', opt('dc', q.get('dc')));
          return this.sendJson(res, record, 200, true, {});
        case 'PUT /_sim/health':
          this.setHealth(String(body.id), body.status as CheckStatus, { ...opt('node', body.node), ...opt('dc', body.dc) });
          return this.sendJson(res, record, 200, true, {});
        case 'PUT /_sim/node-health':
          this.setNodeHealth(String(body.node), body.status as CheckStatus, opt('dc', body.dc));
          return this.sendJson(res, record, 200, true, {});
        case 'POST /_sim/faults':
          this.inject(body as Fault);
          return this.sendJson(res, record, 200, true, {});
        case 'DELETE /_sim/faults':
          this.clearFaults();
          return this.sendJson(res, record, 200, true, {});
        case 'POST /_sim/restore-snapshot':
          this.restoreSnapshot(Number(body.index), opt('dc', body.dc));
          return this.sendJson(res, record, 200, true, {});
        case 'PUT /_sim/acl':
          this.setAclTokens(body.tokens as Record<string, AclRule> | undefined);
          return this.sendJson(res, record, 200, true, {});
        default:
          throw new HttpError(404, `unknown control endpoint ${method} ${url.pathname}`);
      }
    } catch (err) {
      if (err instanceof HttpError) this.send(res, record, err.status, err.message, {});
      else this.send(res, record, 400, String((err as Error)?.message ?? err), {});
    }
  }

  /** Everything the simulator holds, for `GET /_sim/state` and debugging. */
  dump(): unknown {
    return Object.fromEntries(
      [...this.dcs.values()].map((dc) => [
        dc.name,
        {
          index: dc.index,
          nodes: [...dc.nodes.values()],
          services: [...dc.services.values()],
          checks: [...dc.checks.values()],
          kv: [...dc.kv.keys()],
        },
      ]),
    );
  }

  // ---- helpers -------------------------------------------------------------------------

  private dc(name?: string): Datacenter {
    if (!name) return this.local;
    const dc = this.dcs.get(name);
    if (!dc) throw new HttpError(500, `No path to datacenter`);
    return dc;
  }

  private dcFromQuery(url: URL): Datacenter {
    return this.dc(url.searchParams.get('dc') ?? undefined);
  }

  private findService(dc: Datacenter, node: string, id: string, ns?: string): SimService | undefined {
    for (const [key, s] of dc.services) if (key.startsWith(`${node}/`) && s.ID === id && (!ns || s.Namespace === ns)) return s;
    return undefined;
  }

  private servicesOnNode(dc: Datacenter, node: string): SimService[] {
    return [...dc.services.entries()].filter(([k]) => k.startsWith(`${node}/`)).map(([, s]) => s);
  }

  private removeService(dc: Datacenter, node: string, svc: SimService, idx: number, touched: Set<string>): void {
    dc.services.delete(`${node}/${svc.Namespace}/${svc.ID}`);
    for (const [key, c] of dc.checks) if (c.Node === node && c.ServiceID === svc.ID) dc.checks.delete(key);
    dc.catalogIndex = idx;
    touched.add(serviceKey(svc.Partition, svc.Namespace, svc.Service));
    this.touchConnect(dc, svc, idx);
  }

  private touchConnect(dc: Datacenter, svc: SimService, idx: number): void {
    const dest = svc.Kind === 'connect-proxy' ? String(svc.Proxy.DestinationServiceName ?? '') : svc.Connect.Native ? svc.Service : '';
    if (dest) dc.connectIndexes.set(serviceKey(svc.Partition, svc.Namespace, dest), idx);
  }

  /** A check change moves the index of its service, or of every service on the node for a node check. */
  private touchCheck(dc: Datacenter, check: SimCheck, touched: Set<string>): void {
    const affected = check.ServiceID
      ? this.servicesOnNode(dc, check.Node).filter((s) => s.ID === check.ServiceID)
      : this.servicesOnNode(dc, check.Node);
    const idx = dc.index + 1;
    for (const s of affected) {
      touched.add(serviceKey(s.Partition, s.Namespace, s.Service));
      this.touchConnect(dc, s, idx);
    }
  }

  private instancesOf(dc: Datacenter, name: string, ns: string, partition: string): { node: SimNode; svc: SimService }[] {
    const out: { node: SimNode; svc: SimService }[] = [];
    for (const [key, svc] of dc.services) {
      if (svc.Service !== name || !inScope(svc, ns, partition)) continue;
      const node = dc.nodes.get(key.split('/')[0]!);
      if (node) out.push({ node, svc });
    }
    return out.sort((a, b) => (a.node.Node < b.node.Node ? -1 : a.node.Node > b.node.Node ? 1 : a.svc.ID < b.svc.ID ? -1 : 1));
  }

  private connectInstancesOf(dc: Datacenter, name: string, ns: string, partition: string): { node: SimNode; svc: SimService }[] {
    const out: { node: SimNode; svc: SimService }[] = [];
    for (const [key, svc] of dc.services) {
      if (!inScope(svc, ns, partition)) continue;
      const isProxy = svc.Kind === 'connect-proxy' && svc.Proxy.DestinationServiceName === name;
      const isNative = svc.Service === name && svc.Connect.Native === true;
      const node = dc.nodes.get(key.split('/')[0]!);
      if ((isProxy || isNative) && node) out.push({ node, svc });
    }
    return out.sort((a, b) => (a.node.Node < b.node.Node ? -1 : a.node.Node > b.node.Node ? 1 : a.svc.ID < b.svc.ID ? -1 : 1));
  }

  /** undefined when allowed; otherwise the 403 message Consul gives. */
  private aclDenial(token: string | undefined): string | undefined {
    if (!this.acl || token === undefined || token === '') return undefined;
    return this.acl.has(token) ? undefined : 'ACL not found';
  }

  private canWrite(token: string | undefined): boolean {
    if (!this.acl) return true;
    return token !== undefined && this.acl.get(token) === 'write';
  }

  /** Anonymous (no token) reads nothing: Consul filters such results instead of failing them. */
  private canReadService(token: string | undefined, name: string): boolean {
    if (!this.acl) return true;
    const rule = token === undefined ? undefined : this.acl.get(token);
    if (rule === undefined) return false;
    if (rule === 'read' || rule === 'write') return true;
    return rule.servicePrefixes.some((p) => name.startsWith(p));
  }
}

function serviceKey(partition: string, ns: string, name: string): string {
  return `${partition}/${ns}/${name}`;
}

function scope(url: URL): { ns: string; partition: string } {
  return { ns: url.searchParams.get('ns') || 'default', partition: url.searchParams.get('partition') || 'default' };
}

function inScope(s: SimService, ns: string, partition: string): boolean {
  return (ns === '*' || s.Namespace === ns) && s.Partition === partition;
}

/** Consul's `getBoolQueryParam`: a bare key is true; anything but a Go bool is a 400. */
function passingParam(url: URL): boolean {
  if (!url.searchParams.has('passing')) return false;
  const v = url.searchParams.get('passing') ?? '';
  if (v === '' || ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new HttpError(400, 'Invalid value for ?passing');
}

function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers['x-consul-token'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length);
  return url.searchParams.get('token') ?? undefined;
}

function filteredHeader(filtered: boolean): Record<string, string> {
  return filtered ? { 'X-Consul-Results-Filtered-By-ACLs': 'true' } : {};
}

function matches(f: Fault, path: string): boolean {
  return path.startsWith(f.path ?? '/v1/');
}

function parseBody(text: string): Record<string, any> {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
    return v as Record<string, any>;
  } catch (err) {
    throw new HttpError(400, `Request decode failed: ${(err as Error).message}`);
  }
}

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' && v !== '' ? v : fallback;
}

function opt<K extends string>(key: K, v: unknown): Partial<Record<K, string>> {
  return typeof v === 'string' && v !== '' ? ({ [key]: v } as Record<K, string>) : {};
}

function same<T extends object>(a: T, b: T, ignore: readonly string[]): boolean {
  const strip = (o: T) => JSON.stringify(o, (k, v) => (ignore.includes(k) ? undefined : v));
  return strip(a) === strip(b);
}

/** A stable, UUID-shaped node ID derived from the node name. */
function pseudoUuid(seed: string): string {
  let h = 2166136261;
  const bytes: number[] = [];
  for (let i = 0; i < 16; i++) {
    for (const c of `${seed}:${i}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    bytes.push((h >>> 0) & 0xff);
  }
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

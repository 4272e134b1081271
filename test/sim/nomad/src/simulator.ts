import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { parseGoDuration } from './duration.js';

/**
 * An in-process Nomad HTTP API for tests and local development: the native service
 * discovery endpoints an Isthmus adapter reads, with Nomad's documented semantics
 * (api-docs/services, /events, /allocations; command/agent/service_registration_endpoint.go,
 * event_endpoint.go, nomad/stream/ndjson.go):
 * - `GET /v1/services` and `GET /v1/service/:name`, blocking on `index`/`wait` (default 5 m,
 *   max 10 m, plus up to wait/16 jitter). Both answer with the index of the service
 *   registrations *table* (`X-Nomad-Index`), as Nomad does ("no way of tracking the max
 *   index on deletes"): a query returns at once when the table moved past its index, and
 *   otherwise wakes only when its own result changes (or at the timeout).
 * - `GET /v1/event/stream?topic=Service[:key]&namespace=&index=`: NDJSON, one
 *   `{"Index":N,"Events":[...]}` line per raft write, a `{}` heartbeat every 30 s, replay
 *   from a bounded buffer (an index that left it starts at the oldest one held, silently).
 * - `GET /v1/client/allocation/:id/checks`: the allocation's Nomad service check results.
 * - Namespaces (`?namespace=`, `*`), regions (`?region=`), ACL tokens (`X-Nomad-Token` or
 *   `Authorization: Bearer`; 403 without the capability), TLS.
 * - Faults: errors, resets, hangs, latency, index tricks, bad JSON, and event-stream
 *   drops, silence (no heartbeats), lag and gaps.
 * No dependencies beyond Node.
 *
 * Tests drive it through methods (`registerService`, `stopAllocation`, `setCheck`,
 * `inject`, `down` ...); other processes through Nomad's own `DELETE /v1/service/:name/:id`
 * and a small control API under `/_sim/`.
 */

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** The local region (answers requests without `?region=`). Default `global`. */
  readonly region?: string;
  /** Further regions reachable with `?region=` (federation). */
  readonly regions?: readonly string[];
  /** Datacenter of registrations that do not name one. Default `dc1`. */
  readonly datacenter?: string;
  /** Serve HTTPS with this key and certificate (PEM); with `clientCa`, require client certificates it signed. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer; readonly clientCa?: string | Buffer };
  /** Enable ACLs with these tokens. Without it every request is allowed. */
  readonly aclTokens?: Readonly<Record<string, AclRule>>;
  /** Add Nomad's random extra wait (up to wait/16) to blocking queries. Default true. */
  readonly jitter?: boolean;
  /** Event-stream heartbeat period. Default 30 s, as Nomad's. */
  readonly heartbeatMs?: number;
  /** Raft writes the event buffer holds for replay. Default 100 (Nomad's `event_buffer_size`). */
  readonly eventBufferSize?: number;
}

/**
 * What a token may do: everything (a management token), read jobs (and so services) in
 * every namespace, or read jobs in some namespaces.
 */
export type AclRule = 'management' | 'read' | { readonly namespaces: readonly string[] };

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
  /** Event streams (open and new) send nothing at all, heartbeats included, while it lasts. */
  | { readonly kind: 'silent' }
  /** Event streams deliver every frame `delayMs` late. */
  | { readonly kind: 'lag'; readonly delayMs: number }
  /** Event streams lose the frames written while it lasts (they stay in the replay buffer). */
  | { readonly kind: 'gap' }
) & {
  readonly path?: string;
  /** Apply to this many requests, then disappear. Default: until cleared. */
  readonly times?: number;
};

/** One native service registration, as a Nomad client would make it for an allocation. */
export interface ServiceInput {
  readonly service: string;
  /** Default: a new UUID. Registrations of one allocation share it. */
  readonly allocId?: string;
  /** Default: the service name. */
  readonly job?: string;
  /** Task group of a group-level service. Default `group`. */
  readonly group?: string;
  /** Set for a task-level service (the ID then carries the task name instead of the group). */
  readonly task?: string;
  /** The port label of the service. Default `http`. */
  readonly portLabel?: string;
  /** Default `default`. */
  readonly namespace?: string;
  /** Default: the simulator's datacenter. */
  readonly datacenter?: string;
  /** Default: a node ID derived from the address. */
  readonly nodeId?: string;
  /** Default 127.0.0.1. */
  readonly address?: string;
  readonly port: number;
  /** `tags`, or `canary_tags` for a canary allocation. */
  readonly tags?: readonly string[];
  readonly region?: string;
}

/** A Nomad service check result (`nomad alloc checks -json`). */
export type CheckStatus = 'success' | 'failure' | 'pending';

export interface CheckInput {
  readonly allocId: string;
  /** The check's name. Default `alive`. */
  readonly name?: string;
  /** The service it checks (needed when the allocation has several). */
  readonly service?: string;
  readonly status: CheckStatus;
  readonly output?: string;
  readonly mode?: 'healthiness' | 'readiness';
  readonly region?: string;
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

/** `api.ServiceRegistration`, field for field. */
interface Registration {
  ID: string;
  ServiceName: string;
  Namespace: string;
  NodeID: string;
  Datacenter: string;
  JobID: string;
  AllocID: string;
  Tags: string[];
  Address: string;
  Port: number;
  CreateIndex: number;
  ModifyIndex: number;
}

/** `structs.CheckQueryResult`, field for field. */
interface CheckResult {
  ID: string;
  Check: string;
  Group: string;
  Mode: string;
  Output: string;
  Service: string;
  Status: CheckStatus;
  StatusCode: number;
  Task: string;
  Timestamp: number;
}

interface Allocation {
  readonly id: string;
  readonly namespace: string;
  readonly job: string;
  readonly group: string;
  readonly checks: Map<string, CheckResult>;
}

interface StreamEvent {
  Topic: 'Service';
  Type: 'ServiceRegistration' | 'ServiceDeregistration';
  Key: string;
  Namespace: string;
  FilterKeys: string[];
  Index: number;
  Payload: { Service: Registration };
}

interface Frame {
  readonly Index: number;
  readonly Events: StreamEvent[];
}

/** Each region is its own cluster with its own raft log (and index space). */
class Region {
  /** The raft index: every write moves it. Starts at 1 on a new cluster. */
  index = 1;
  /** Index of the service registrations table (what the service endpoints answer with). */
  servicesIndex = 1;
  /** `namespace/id` → registration */
  readonly registrations = new Map<string, Registration>();
  /** `namespace/name` and `namespace/` → index of the last change to that result. */
  readonly changes = new Map<string, number>();
  readonly allocations = new Map<string, Allocation>();
  /** The event buffer, oldest first. */
  frames: Frame[] = [];
  constructor(readonly name: string) {}
}

interface ReadResult {
  readonly status: number;
  readonly index: number;
  /** JSON-serialisable body, or a string sent as-is. */
  readonly body: unknown;
}

interface Waiter {
  readonly region: Region;
  readonly minIndex: number;
  readonly compute: () => ReadResult;
  /** Index of the last change to this query's result (its watch set firing). */
  readonly changedAt: () => number;
  readonly res: ServerResponse;
  readonly record: RequestRecord;
  readonly token: string | undefined;
  readonly namespace: string;
  timer: NodeJS.Timeout;
}

interface Stream {
  readonly region: Region;
  readonly res: ServerResponse;
  readonly record: RequestRecord;
  readonly token: string | undefined;
  /** `*` or one namespace. */
  readonly namespace: string;
  /** topic → filter keys (`*` = all). */
  readonly topics: ReadonlyMap<string, readonly string[]>;
  heartbeat: NodeJS.Timeout;
  closed: boolean;
}

interface ActiveFault {
  readonly id: number;
  readonly fault: Fault;
  remaining: number;
}

const MAX_WAIT_MS = 10 * 60_000;
const DEFAULT_WAIT_MS = 5 * 60_000;
const LOG_LIMIT = 200_000;
const STREAM_FAULTS: readonly Fault['kind'][] = ['silent', 'lag', 'gap'];

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class NomadSimulator {
  private readonly regions = new Map<string, Region>();
  private readonly local: Region;
  private readonly host: string;
  private readonly jitter: boolean;
  private readonly heartbeatMs: number;
  private readonly bufferSize: number;
  private readonly datacenter: string;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<Waiter>();
  private readonly streams = new Set<Stream>();
  private readonly hung = new Set<{ release: () => void; path: string }>();
  private faults: ActiveFault[] = [];
  private nextFaultId = 1;
  private acl: Map<string, AclRule> | undefined;
  private readonly log: RequestRecord[] = [];
  private boundPort = 0;

  constructor(private readonly options: SimulatorOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.jitter = options.jitter ?? true;
    this.heartbeatMs = options.heartbeatMs ?? 30_000;
    this.bufferSize = Math.max(1, options.eventBufferSize ?? 100);
    this.datacenter = options.datacenter ?? 'dc1';
    this.local = new Region(options.region ?? 'global');
    this.regions.set(this.local.name, this.local);
    for (const name of options.regions ?? []) if (!this.regions.has(name)) this.regions.set(name, new Region(name));
    if (options.aclTokens) this.acl = new Map(Object.entries(options.aclTokens));
  }

  /** Creates a simulator and starts listening (port 0 = any free port). */
  static async start(options: SimulatorOptions & { port?: number } = {}): Promise<NomadSimulator> {
    const sim = new NomadSimulator(options);
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

  get region(): string {
    return this.local.name;
  }

  /** Starts listening; `port` defaults to the port used before (so `down()`/`up()` keeps the URL). */
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
    // Blocking queries wait up to 10 min and event streams forever: no server-side cut.
    server.requestTimeout = 0;
    const track = (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    };
    server.on('connection', track);
    server.on('secureConnection', track);
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

  /** The agent goes away: the port refuses connections, open queries and streams are cut. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters.clear();
    for (const s of [...this.streams]) this.closeStream(s);
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

  /**
   * Registers (or updates) one native service registration, as a Nomad client does when
   * an allocation's task starts: one raft write, one `ServiceRegistration` event. The ID
   * is Nomad's: `_nomad-task-<allocID>-<group-<group>|task>-<service>-<portLabel>`. An
   * identical registration is not written again. Returns the ID.
   */
  registerService(input: ServiceInput): string {
    const region = this.regionNamed(input.region);
    if (!input.service) throw new HttpError(400, 'missing service name');
    if (!Number.isInteger(input.port) || input.port < 0 || input.port > 65535) throw new HttpError(400, `invalid port ${input.port}`);
    const allocId = input.allocId ?? uuid(`${input.service}/${region.index}/${Math.random()}`);
    const namespace = input.namespace ?? 'default';
    const group = input.group ?? 'group';
    const owner = input.task ?? `group-${group}`;
    const id = `_nomad-task-${allocId}-${owner}-${input.service}-${input.portLabel ?? 'http'}`;
    const key = `${namespace}/${id}`;
    const prev = region.registrations.get(key);
    const address = input.address ?? '127.0.0.1';
    const next: Registration = {
      ID: id,
      ServiceName: input.service,
      Namespace: namespace,
      NodeID: input.nodeId ?? prev?.NodeID ?? uuid(`node/${address}`),
      Datacenter: input.datacenter ?? prev?.Datacenter ?? this.datacenter,
      JobID: input.job ?? prev?.JobID ?? input.service,
      AllocID: allocId,
      Tags: [...(input.tags ?? [])],
      Address: address,
      Port: input.port,
      CreateIndex: prev?.CreateIndex ?? 0,
      ModifyIndex: 0,
    };
    if (prev && same(prev, next, ['CreateIndex', 'ModifyIndex'])) return id;
    const idx = region.index + 1;
    next.CreateIndex = prev?.CreateIndex ?? idx;
    next.ModifyIndex = idx;
    region.registrations.set(key, next);
    if (!region.allocations.has(allocId)) region.allocations.set(allocId, { id: allocId, namespace, job: next.JobID, group, checks: new Map() });
    this.commit(region, idx, [event('ServiceRegistration', next, idx)]);
    return id;
  }

  /** Removes one registration (`DELETE /v1/service/:name/:id`). */
  deregisterService(id: string, opts: { namespace?: string; region?: string } = {}): void {
    const region = this.regionNamed(opts.region);
    const key = `${opts.namespace ?? 'default'}/${id}`;
    const reg = region.registrations.get(key);
    if (!reg) return;
    const idx = region.index + 1;
    region.registrations.delete(key);
    this.commit(region, idx, [event('ServiceDeregistration', reg, idx)]);
  }

  /**
   * An allocation stops: every registration it made goes in one raft write (one event
   * frame), and the client forgets its check results.
   */
  stopAllocation(allocId: string, opts: { region?: string } = {}): void {
    const region = this.regionNamed(opts.region);
    const gone = [...region.registrations.entries()].filter(([, r]) => r.AllocID === allocId);
    region.allocations.delete(allocId);
    if (gone.length === 0) return;
    const idx = region.index + 1;
    for (const [key] of gone) region.registrations.delete(key);
    this.commit(region, idx, gone.map(([, r]) => event('ServiceDeregistration', r, idx)));
  }

  /** Sets a check result on an allocation's client. No raft write: checks live on the client node. */
  setCheck(input: CheckInput): void {
    const region = this.regionNamed(input.region);
    const alloc = region.allocations.get(input.allocId);
    if (!alloc) throw new HttpError(404, `Unknown allocation "${input.allocId}"`);
    const name = input.name ?? 'alive';
    const service = input.service ?? [...region.registrations.values()].find((r) => r.AllocID === alloc.id)?.ServiceName ?? '';
    const id = createHash('md5').update(`${alloc.id}/${service}/${name}`).digest('hex');
    alloc.checks.set(id, {
      ID: id,
      Check: name,
      Group: `${alloc.job}.${alloc.group}[0]`,
      Mode: input.mode ?? 'healthiness',
      Output: input.output ?? (input.status === 'success' ? 'nomad: http ok' : input.status === 'failure' ? 'nomad: connection refused' : ''),
      Service: service,
      Status: input.status,
      StatusCode: input.status === 'success' ? 200 : 0,
      Task: '',
      Timestamp: Math.floor(Date.now() / 1000),
    });
  }

  /** A raft write to another table (a job, an evaluation): the raft index moves, the services' does not. */
  unrelatedWrite(opts: { region?: string } = {}): void {
    const region = this.regionNamed(opts.region);
    region.index++;
  }

  /**
   * A snapshot restore: every index of the region drops to at most `index` (data kept),
   * the event buffer is emptied and open event streams are closed. Blocking queries
   * waiting on a higher index time out and come back with a lower one.
   */
  restoreSnapshot(index: number, opts: { region?: string } = {}): void {
    const region = this.regionNamed(opts.region);
    const clamp = (n: number) => Math.max(1, Math.min(n, index));
    region.index = clamp(region.index);
    region.servicesIndex = clamp(region.servicesIndex);
    for (const [k, v] of region.changes) region.changes.set(k, clamp(v));
    for (const r of region.registrations.values()) {
      r.CreateIndex = clamp(r.CreateIndex);
      r.ModifyIndex = clamp(r.ModifyIndex);
    }
    region.frames = [];
    for (const s of [...this.streams]) if (s.region === region) this.closeStream(s);
  }

  /** Replaces the ACL token set (a rotation): denied blocking queries fail with 403, denied streams close. */
  setAclTokens(tokens: Readonly<Record<string, AclRule>> | undefined): void {
    this.acl = tokens ? new Map(Object.entries(tokens)) : undefined;
    for (const w of [...this.waiters]) {
      const denied = this.denial(w.token, w.namespace);
      if (denied) this.finishWaiter(w, { status: 403, index: 0, body: denied });
    }
    for (const s of [...this.streams]) if (this.denial(s.token, s.namespace)) this.closeStream(s);
  }

  /** Closes every open event stream (a server restart, a proxy cutting long requests). */
  dropStreams(): void {
    for (const s of [...this.streams]) this.closeStream(s);
  }

  // ---- faults --------------------------------------------------------------------------

  /**
   * Injects a fault; returns a function that removes it. `error` and `reset` also hit
   * blocking queries already waiting on a matching path (and close matching event
   * streams), as a lost leader would; `hang` freezes them (a stopped agent answers
   * nothing, and its open event streams send nothing, not even heartbeats).
   */
  inject(fault: Fault): () => void {
    const active: ActiveFault = { id: this.nextFaultId++, fault, remaining: fault.times ?? Infinity };
    this.faults.push(active);
    if (fault.kind === 'hang') {
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
        if (fault.kind === 'reset') w.res.socket?.destroy();
        else this.send(w.res, w.record, fault.status ?? 500, fault.body ?? 'No cluster leader', {});
      }
      for (const s of [...this.streams]) {
        if (!matches(fault, s.record.path) || active.remaining <= 0) continue;
        active.remaining--;
        if (fault.kind === 'reset') s.res.socket?.destroy();
        this.closeStream(s);
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

  /** A stream fault in force for `path` (not consumed: stream faults last until removed). */
  private streamFault<K extends Fault['kind']>(path: string, kind: K): Extract<Fault, { kind: K }> | undefined {
    for (const f of this.faults) if (f.remaining > 0 && f.fault.kind === kind && matches(f.fault, path)) return f.fault as Extract<Fault, { kind: K }>;
    return undefined;
  }

  /** Streams on `path` send nothing: silenced, or their agent hangs. */
  private frozen(path: string): boolean {
    return this.streamFault(path, 'silent') !== undefined || this.streamFault(path, 'hang') !== undefined;
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

  /** Event streams currently open. */
  openStreams(): number {
    return this.streams.size;
  }

  /** Current raft index of a region. */
  index(regionName?: string): number {
    return this.regionNamed(regionName).index;
  }

  /** Registration IDs of a service (all namespaces unless one is given). */
  registrationIds(service: string, opts: { namespace?: string; region?: string } = {}): string[] {
    return [...this.regionNamed(opts.region).registrations.values()]
      .filter((r) => r.ServiceName === service && (!opts.namespace || r.Namespace === opts.namespace))
      .map((r) => r.ID)
      .sort();
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
      this.arrive(req, res, url, record);
    });
  }

  /** Arrival faults (reset, hang, error, slow) come first, as they would from a sick agent. */
  private arrive(req: IncomingMessage, res: ServerResponse, url: URL, record: RequestRecord): void {
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
          if (!res.destroyed) this.arrive(req, res, url, record);
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
      const t = setTimeout(() => this.route(req, res, url, record), fault.delayMs);
      res.once('close', () => clearTimeout(t));
      return;
    }
    this.route(req, res, url, record);
  }

  private route(req: IncomingMessage, res: ServerResponse, url: URL, record: RequestRecord): void {
    if (res.destroyed || !this.server) return;
    try {
      const token = tokenOf(req);
      const method = req.method ?? 'GET';
      const p = url.pathname;
      const region = this.regionOf(url);
      const reading = method === 'GET';
      if (this.acl && token !== undefined && !this.acl.has(token)) throw new HttpError(403, 'ACL token not found');
      if (p === '/v1/status/leader' && reading) return this.send(res, record, 200, '"127.0.0.1:4647"', {}, true);
      if (p === '/v1/agent/self' && reading) {
        return this.sendJson(res, record, 200, { config: { Region: this.local.name, Datacenter: this.datacenter, Version: { Version: '1.10.0' } } });
      }
      const namespace = url.searchParams.get('namespace') || 'default';
      if (p === '/v1/services' && reading) {
        if (namespace !== '*') this.authorize(token, namespace);
        if (url.searchParams.has('filter')) throw new HttpError(400, 'simulator: ?filter is not implemented');
        return this.read(res, url, record, region, token, namespace, () => this.listServices(region, namespace, token), () =>
          region.changes.get(namespace === '*' ? '*' : `${namespace}/`) ?? 0,
        );
      }
      let m = /^\/v1\/service\/([^/]+)$/.exec(p);
      if (m && reading) {
        const name = decodeURIComponent(m[1]!);
        if (namespace === '*') throw new HttpError(400, 'wildcard namespace is not supported for reading a service');
        this.authorize(token, namespace);
        for (const unsupported of ['filter', 'choose', 'per_page', 'next_token']) {
          if (url.searchParams.has(unsupported)) throw new HttpError(400, `simulator: ?${unsupported} is not implemented`);
        }
        return this.read(res, url, record, region, token, namespace, () => this.getService(region, namespace, name), () => region.changes.get(`${namespace}/${name}`) ?? 0);
      }
      m = /^\/v1\/service\/([^/]+)\/([^/]+)$/.exec(p);
      if (m && method === 'DELETE') {
        this.authorizeWrite(token);
        this.deregisterService(decodeURIComponent(m[2]!), { namespace, region: region.name });
        return this.sendJson(res, record, 200, { Index: region.index });
      }
      m = /^\/v1\/client\/allocation\/([^/]+)\/checks$/.exec(p);
      if (m && reading) {
        const alloc = region.allocations.get(decodeURIComponent(m[1]!));
        if (!alloc) throw new HttpError(404, `Unknown allocation "${m[1]}"`);
        this.authorize(token, alloc.namespace);
        return this.respond(res, record, { status: 200, index: region.index, body: Object.fromEntries(alloc.checks) });
      }
      if (p === '/v1/event/stream' && reading) return this.openStream(res, url, record, region, token);
      if (p.startsWith('/v1/')) throw new HttpError(reading ? 404 : 405, reading ? 'Not found' : 'Invalid method');
      throw new HttpError(404, 'Not found');
    } catch (err) {
      if (err instanceof HttpError) this.send(res, record, err.status, err.message, {});
      else this.send(res, record, 500, String((err as Error)?.message ?? err), {});
    }
  }

  /**
   * A read with Nomad's blocking semantics: `index` absent or 0 answers at once, so does
   * an index the table has already moved past; otherwise wait until this query's result
   * changes or `wait` (+ up to wait/16) passes.
   */
  private read(
    res: ServerResponse,
    url: URL,
    record: RequestRecord,
    region: Region,
    token: string | undefined,
    namespace: string,
    compute: () => ReadResult,
    changedAt: () => number,
  ): void {
    const indexParam = url.searchParams.get('index');
    const minIndex = indexParam === null || indexParam === '' ? 0 : Number(indexParam);
    if (!Number.isInteger(minIndex) || minIndex < 0) throw new HttpError(400, `failed to parse index: ${indexParam}`);
    const waitParam = url.searchParams.get('wait');
    let waitMs = DEFAULT_WAIT_MS;
    if (waitParam !== null) {
      const parsed = parseGoDuration(waitParam);
      if (parsed === undefined) throw new HttpError(400, `Invalid wait time: ${waitParam}`);
      waitMs = Math.min(parsed, MAX_WAIT_MS);
    }
    const first = compute();
    if (minIndex === 0 || first.index > minIndex) {
      this.respond(res, record, first);
      return;
    }
    const total = waitMs + (this.jitter ? Math.random() * (waitMs / 16) : 0);
    const waiter: Waiter = {
      region,
      minIndex,
      compute,
      changedAt,
      res,
      record,
      token,
      namespace,
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

  /** One raft write to the service registrations table: indexes, waiters, event streams. */
  private commit(region: Region, idx: number, events: StreamEvent[]): void {
    region.index = Math.max(region.index, idx);
    region.servicesIndex = idx;
    for (const e of events) {
      region.changes.set(`${e.Namespace}/${e.Payload.Service.ServiceName}`, idx);
      region.changes.set(`${e.Namespace}/`, idx);
    }
    region.changes.set('*', idx);
    for (const w of [...this.waiters]) if (w.region === region && w.changedAt() > w.minIndex) this.finishWaiter(w, w.compute());
    const frame: Frame = { Index: idx, Events: events };
    region.frames.push(frame);
    if (region.frames.length > this.bufferSize) region.frames.splice(0, region.frames.length - this.bufferSize);
    for (const s of this.streams) if (s.region === region) this.deliver(s, frame, true);
  }

  /** Response-time faults (index tricks, bad bodies, stale reads) and Nomad's headers. */
  private respond(res: ServerResponse, record: RequestRecord, result: ReadResult): void {
    const headers: Record<string, string> = {
      'X-Nomad-Index': String(result.index),
      'X-Nomad-KnownLeader': 'true',
      'X-Nomad-LastContact': '0',
    };
    const f = this.takeFault(record.path, ['zeroIndex', 'noIndex', 'indexBack', 'badJson', 'staleRead']);
    if (f?.kind === 'zeroIndex') headers['X-Nomad-Index'] = '0';
    if (f?.kind === 'noIndex') delete headers['X-Nomad-Index'];
    if (f?.kind === 'indexBack') headers['X-Nomad-Index'] = String(Math.max(1, result.index - (f.by ?? 1000)));
    if (f?.kind === 'staleRead') {
      headers['X-Nomad-KnownLeader'] = 'false';
      headers['X-Nomad-LastContact'] = '120000';
    }
    if (typeof result.body === 'string') {
      this.send(res, record, result.status, result.body, headers, result.status === 200);
      return;
    }
    let text = JSON.stringify(result.body);
    if (f?.kind === 'badJson') text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    this.send(res, record, result.status, text, headers, true);
  }

  private sendJson(res: ServerResponse, record: RequestRecord, status: number, body: unknown): void {
    this.send(res, record, status, JSON.stringify(body), {}, true);
  }

  private send(res: ServerResponse, record: RequestRecord, status: number, text: string, headers: Record<string, string>, json = false): void {
    record.status = status;
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, { 'Content-Type': json ? 'application/json' : 'text/plain; charset=utf-8', ...headers });
    res.end(text);
  }

  // ---- read endpoints ------------------------------------------------------------------

  /** `GET /v1/services`: per namespace, each service name with the union of its tags. */
  private listServices(region: Region, namespace: string, token: string | undefined): ReadResult {
    const byNs = new Map<string, Map<string, Set<string>>>();
    for (const r of region.registrations.values()) {
      if (namespace !== '*' && r.Namespace !== namespace) continue;
      if (namespace === '*' && !this.mayRead(token, r.Namespace)) continue;
      let services = byNs.get(r.Namespace);
      if (!services) byNs.set(r.Namespace, (services = new Map()));
      let tags = services.get(r.ServiceName);
      if (!tags) services.set(r.ServiceName, (tags = new Set()));
      for (const t of r.Tags) tags.add(t);
    }
    const body = [...byNs.keys()].sort().map((ns) => ({
      Namespace: ns,
      Services: [...byNs.get(ns)!.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, tags]) => ({ ServiceName: name, Tags: [...tags].sort() })),
    }));
    return { status: 200, index: region.servicesIndex, body };
  }

  /** `GET /v1/service/:name`: its registrations (`[]` for an unknown name). */
  private getService(region: Region, namespace: string, name: string): ReadResult {
    const body = [...region.registrations.values()]
      .filter((r) => r.Namespace === namespace && r.ServiceName === name)
      .sort((a, b) => (a.ID < b.ID ? -1 : 1))
      .map((r) => ({ ...r, Tags: [...r.Tags] }));
    return { status: 200, index: region.servicesIndex, body };
  }

  // ---- event stream --------------------------------------------------------------------

  private openStream(res: ServerResponse, url: URL, record: RequestRecord, region: Region, token: string | undefined): void {
    const indexParam = url.searchParams.get('index') || '0';
    if (!/^-?\d+$/.test(indexParam)) throw new HttpError(400, `Unable to parse index: strconv.Atoi: parsing "${indexParam}": invalid syntax`);
    const index = Number(indexParam);
    const topics = new Map<string, string[]>();
    const raw = url.searchParams.getAll('topic');
    for (const t of raw) {
      const parts = t.split(':');
      if (parts.length > 2) throw new HttpError(400, `Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: ${t}`);
      const [topic, key = '*'] = parts as [string, string?];
      topics.set(topic, [...(topics.get(topic) ?? []), key]);
    }
    if (raw.length === 0) topics.set('*', ['*']);
    const namespace = url.searchParams.get('namespace') || 'default';
    // All topics need a management token; the Service topic needs read-job on the namespace.
    if (this.acl) {
      const rule = token === undefined ? undefined : this.acl.get(token);
      if (topics.has('*') && rule !== 'management') throw new HttpError(403, 'Permission denied');
      if (namespace !== '*') this.authorize(token, namespace);
      else if (rule === undefined) throw new HttpError(403, 'Permission denied');
    }
    record.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    const stream: Stream = {
      region,
      res,
      record,
      token,
      namespace,
      topics,
      closed: false,
      heartbeat: setInterval(() => {
        if (!this.frozen(record.path)) write(stream, '{}\n');
      }, this.heartbeatMs),
    };
    this.streams.add(stream);
    res.once('close', () => {
      stream.closed = true;
      clearInterval(stream.heartbeat);
      this.streams.delete(stream);
    });
    // Replay what the buffer still holds from `index` on (0: everything it holds).
    for (const frame of region.frames) if (frame.Index >= index) this.deliver(stream, frame, false);
  }

  private deliver(s: Stream, frame: Frame, live: boolean): void {
    const path = s.record.path;
    if (s.closed || this.frozen(path)) return;
    if (live && this.streamFault(path, 'gap')) return;
    const events = frame.Events.filter((e) => this.wants(s, e));
    if (events.length === 0) return;
    const line = `${JSON.stringify({ Index: frame.Index, Events: events })}\n`;
    const lag = this.streamFault(path, 'lag');
    if (lag) setTimeout(() => write(s, line), lag.delayMs);
    else write(s, line);
  }

  private wants(s: Stream, e: StreamEvent): boolean {
    if (s.namespace !== '*' && e.Namespace !== s.namespace) return false;
    if (s.namespace === '*' && !this.mayRead(s.token, e.Namespace)) return false;
    const keys = s.topics.get(e.Topic) ?? s.topics.get('*');
    if (!keys) return false;
    return keys.some((k) => k === '*' || e.FilterKeys.includes(k) || e.Key === k);
  }

  private closeStream(s: Stream): void {
    if (s.closed) return;
    s.closed = true;
    clearInterval(s.heartbeat);
    this.streams.delete(s);
    s.res.end();
  }

  // ---- control API ---------------------------------------------------------------------

  private control(req: IncomingMessage, res: ServerResponse, url: URL, text: string, record: RequestRecord): void {
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    try {
      const body = text ? parseBody(text) : {};
      const stop = /^\/_sim\/allocations\/([^/]+)\/stop$/.exec(url.pathname);
      if (stop && method === 'POST') {
        this.stopAllocation(decodeURIComponent(stop[1]!), opt('region', q.get('region')));
        return this.sendJson(res, record, 200, true);
      }
      switch (`${method} ${url.pathname}`) {
        case 'GET /_sim/state':
          return this.sendJson(res, record, 200, this.dump());
        case 'POST /_sim/services':
          return this.sendJson(res, record, 200, { ID: this.registerService(body as ServiceInput) });
        case 'DELETE /_sim/services':
          this.deregisterService(q.get('id') ?? '', { ...opt('namespace', q.get('namespace')), ...opt('region', q.get('region')) });
          return this.sendJson(res, record, 200, true);
        case 'PUT /_sim/checks':
          this.setCheck(body as CheckInput);
          return this.sendJson(res, record, 200, true);
        case 'POST /_sim/faults':
          this.inject(body as Fault);
          return this.sendJson(res, record, 200, true);
        case 'DELETE /_sim/faults':
          this.clearFaults();
          return this.sendJson(res, record, 200, true);
        case 'POST /_sim/streams/drop':
          this.dropStreams();
          return this.sendJson(res, record, 200, true);
        case 'POST /_sim/restore-snapshot':
          this.restoreSnapshot(Number(body.index), opt('region', body.region));
          return this.sendJson(res, record, 200, true);
        case 'PUT /_sim/acl':
          this.setAclTokens(body.tokens as Record<string, AclRule> | undefined);
          return this.sendJson(res, record, 200, true);
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
      [...this.regions.values()].map((r) => [
        r.name,
        {
          index: r.index,
          servicesIndex: r.servicesIndex,
          registrations: [...r.registrations.values()],
          allocations: [...r.allocations.values()].map((a) => ({ ...a, checks: Object.fromEntries(a.checks) })),
          bufferedEvents: r.frames.length,
        },
      ]),
    );
  }

  // ---- helpers -------------------------------------------------------------------------

  private regionNamed(name?: string): Region {
    if (!name) return this.local;
    const region = this.regions.get(name);
    if (!region) throw new HttpError(500, 'No path to region');
    return region;
  }

  private regionOf(url: URL): Region {
    return this.regionNamed(url.searchParams.get('region') || undefined);
  }

  private mayRead(token: string | undefined, namespace: string): boolean {
    if (!this.acl) return true;
    const rule = token === undefined ? undefined : this.acl.get(token);
    if (rule === undefined) return false;
    if (rule === 'management' || rule === 'read') return true;
    return rule.namespaces.includes(namespace);
  }

  /** undefined when allowed; otherwise the 403 message Nomad gives. */
  private denial(token: string | undefined, namespace: string): string | undefined {
    if (!this.acl) return undefined;
    if (token !== undefined && !this.acl.has(token)) return 'ACL token not found';
    if (namespace === '*') return token === undefined ? 'Permission denied' : undefined;
    return this.mayRead(token, namespace) ? undefined : 'Permission denied';
  }

  private authorize(token: string | undefined, namespace: string): void {
    const denied = this.denial(token, namespace);
    if (denied) throw new HttpError(403, denied);
  }

  private authorizeWrite(token: string | undefined): void {
    if (this.acl && (token === undefined || this.acl.get(token) !== 'management')) throw new HttpError(403, 'Permission denied');
  }
}

function event(type: StreamEvent['Type'], reg: Registration, index: number): StreamEvent {
  return {
    Topic: 'Service',
    Type: type,
    Key: reg.ID,
    Namespace: reg.Namespace,
    FilterKeys: [reg.JobID, reg.ServiceName],
    Index: index,
    Payload: { Service: { ...reg, Tags: [...reg.Tags] } },
  };
}

function write(s: Stream, line: string): void {
  if (s.closed || s.res.destroyed) return;
  s.res.write(line);
}

function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers['x-nomad-token'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length);
  return undefined;
}

function matches(f: Fault, path: string): boolean {
  if (!path.startsWith(f.path ?? '/v1/')) return false;
  // Stream-only faults never touch plain reads.
  return !STREAM_FAULTS.includes(f.kind) || path === '/v1/event/stream';
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

function opt<K extends string>(key: K, v: unknown): Partial<Record<K, string>> {
  return typeof v === 'string' && v !== '' ? ({ [key]: v } as Record<K, string>) : {};
}

function same<T extends object>(a: T, b: T, ignore: readonly string[]): boolean {
  const strip = (o: T) => JSON.stringify(o, (k, v) => (ignore.includes(k) ? undefined : v));
  return strip(a) === strip(b);
}

/** A UUID-shaped ID derived from `seed` (Nomad's alloc and node IDs are UUIDs). */
export function uuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleControl } from './control.js';
import { errorFor } from './errors.js';
import { faultMatches, FaultSet, type Fault, type RequestInfo } from './faults.js';
import { namespace as namespaceFixture } from './fixtures.js';
import { HttpFrontend, type RequestRecord } from './http-server.js';
import { kubeconfigYaml, type KubeconfigOptions } from './kubeconfig.js';
import { Operations, render } from './operations.js';
import { DEFAULT_RESOURCES, ResourceRegistry, splitApiVersion, type ResourceSpec, type ResourceType } from './resources.js';
import { RestApi } from './rest.js';
import { Store } from './store.js';
import type { KubeObject } from './types.js';
import { WatchHub, type Watcher } from './watch.js';

/**
 * An in-process Kubernetes API server for tests and local development, speaking the
 * protocol client-go and @kubernetes/client-node speak (api-concepts: lists, chunking,
 * watches, bookmarks, 410 Expired; Status errors; discovery), with fault injection.
 * Plain HTTP on 127.0.0.1, or HTTPS with `tls`; `kubeconfig()` writes the client config for it.
 * No dependencies beyond Node.
 *
 * Tests drive it through methods (`apply`, `patchStatus`, `remove`, `inject`, `down` ...);
 * other processes through the Kubernetes API itself and a small control API under `/_sim/`.
 */

export interface SimulatorOptions {
  /** Default 0: any free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Writes the watch history holds (older resourceVersions get 410). Default 1000. */
  readonly historyLimit?: number;
  /** Bookmark period for watches that allow them. Default 1000; 0 disables. */
  readonly bookmarkIntervalMs?: number;
  /** How a too-old watch learns it: HTTP 410, or 200 + an ERROR event. Default 'http'. */
  readonly goneMode?: 'http' | 'event';
  /**
   * Serve HTTPS with this PEM certificate and key (`selfSignedCertificate()` makes one).
   * `ca` is the CA PEM clients should trust (`kubeconfig()` writes it as
   * certificate-authority-data); default the certificate itself, as for a self-signed one.
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca?: string };
  /** Require `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Delay before answering any API request. Default 0. */
  readonly latencyMs?: number;
  /** Create the namespaces every cluster has (default, kube-system, kube-public, kube-node-lease). Default true. */
  readonly seedNamespaces?: boolean;
}

export const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'] as const;

export class KubernetesSimulator {
  private readonly registry = new ResourceRegistry();
  private readonly store: Store;
  private readonly ops: Operations;
  private readonly hub: WatchHub;
  private readonly faults = new FaultSet();
  private readonly frontend: HttpFrontend;
  private readonly host: string;
  /** The CA PEM clients should trust (undefined over plain HTTP). */
  readonly ca: string | undefined;

  static async start(opts: SimulatorOptions = {}): Promise<KubernetesSimulator> {
    const sim = new KubernetesSimulator(opts);
    await sim.frontend.listen(opts.port ?? 0);
    return sim;
  }

  private constructor(opts: SimulatorOptions) {
    for (const { builtin, ...spec } of DEFAULT_RESOURCES) this.registry.register(spec, builtin);
    this.store = new Store(opts.historyLimit ?? 1000);
    this.ops = new Operations(this.store, this.registry);
    this.hub = new WatchHub(this.store, { bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 1000, goneMode: opts.goneMode ?? 'http' });
    this.host = opts.host ?? '127.0.0.1';
    this.frontend = new HttpFrontend(
      this.host,
      { token: opts.token, latencyMs: opts.latencyMs ?? 0 },
      this.faults,
      new RestApi(this.registry, this.store, this.ops, this.hub),
      this.store,
      this.hub.settings,
      (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => handleControl(this, req, res, url, body),
      opts.tls && { cert: opts.tls.cert, key: opts.tls.key },
    );
    this.ca = opts.tls && (opts.tls.ca ?? opts.tls.cert);
    if (opts.seedNamespaces ?? true) for (const ns of SYSTEM_NAMESPACES) this.apply(namespaceFixture(ns));
  }

  /** `http://127.0.0.1:<port>`, or `https://` with `tls`. */
  get url(): string {
    return `${this.frontend.tls ? 'https' : 'http'}://${this.host}:${this.frontend.port}`;
  }

  get port(): number {
    return this.frontend.port;
  }

  /** The latest resourceVersion, as a string (what a list would answer now). */
  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  // ---- client configuration ------------------------------------------------------------

  /**
   * Kubeconfig YAML for this server: over HTTPS its CA as certificate-authority-data (unless
   * `ca` names another), over HTTP `insecure-skip-tls-verify: true`; the simulator's token
   * unless another is given.
   */
  kubeconfig(opts: KubeconfigOptions = {}): string {
    return kubeconfigYaml(this.url, {
      ...opts,
      ...(opts.token === undefined && this.frontend.config.token ? { token: this.frontend.config.token } : {}),
      ...(opts.ca === undefined && this.ca ? { ca: this.ca } : {}),
    });
  }

  writeKubeconfig(path: string, opts: KubeconfigOptions = {}): void {
    writeFileSync(path, this.kubeconfig(opts), { mode: 0o600 });
  }

  // ---- state ---------------------------------------------------------------------------

  /**
   * Creates or replaces an object, status included, as the cluster's controllers would
   * have written it (no preconditions, no namespace check). An identical object is not
   * written again. Emits ADDED or MODIFIED; returns the stored object.
   */
  apply(obj: KubeObject): KubeObject {
    const type = this.registry.byKind(obj.apiVersion, obj.kind);
    return render(type, splitApiVersion(obj.apiVersion)[1], this.ops.apply(obj));
  }

  /** Replaces `.status` only (what a controller's status update does). Emits MODIFIED. */
  patchStatus(apiVersion: string, kind: string, namespace: string | undefined, name: string, status: unknown): KubeObject {
    const type = this.registry.byKind(apiVersion, kind);
    return render(type, splitApiVersion(apiVersion)[1], this.ops.setStatus(type, this.ns(type, namespace), name, status));
  }

  /** Deletes an object (a namespace takes its contents with it). Emits DELETED; false when there was nothing to delete. */
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean {
    const type = this.registry.byKind(apiVersion, kind);
    const ns = this.ns(type, namespace);
    if (!this.store.get(type, ns, name)) return false;
    this.ops.delete(type, ns, name);
    return true;
  }

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const type = this.registry.byKind(apiVersion, kind);
    const obj = this.store.get(type, this.ns(type, namespace), name);
    return obj && render(type, splitApiVersion(apiVersion)[1], obj);
  }

  /** Objects of a kind, in one namespace or all. */
  list(apiVersion: string, kind: string, namespace?: string): KubeObject[] {
    const type = this.registry.byKind(apiVersion, kind);
    const version = splitApiVersion(apiVersion)[1];
    return this.store.list(type, type.namespaced ? namespace : undefined).map((o) => render(type, version, o));
  }

  /** Serves another resource (installing a CRD). Registering a group/plural again replaces its definition. */
  registerResource(r: ResourceSpec): void {
    this.registry.register(r, false);
  }

  /** Forgets the write history: every resourceVersion older than the current one now gets 410 (watches, continue tokens). */
  compact(): void {
    this.store.compact();
  }

  get historyLimit(): number {
    return this.store.historyLimit;
  }

  set historyLimit(n: number) {
    this.store.historyLimit = n;
  }

  // ---- watch behaviour -----------------------------------------------------------------

  get goneMode(): 'http' | 'event' {
    return this.hub.settings.goneMode;
  }

  set goneMode(m: 'http' | 'event') {
    this.hub.settings.goneMode = m;
  }

  /** For watches opened from now on. */
  get bookmarkIntervalMs(): number {
    return this.hub.settings.bookmarkIntervalMs;
  }

  set bookmarkIntervalMs(ms: number) {
    this.hub.settings.bookmarkIntervalMs = ms;
  }

  /** Resets every open watch connection mid-stream. */
  dropWatches(): void {
    for (const w of this.hub.all()) w.drop();
  }

  /** Ends every open watch cleanly (what apiserver does after its 30–60 min watch timeout); clients re-watch from their last RV. */
  closeWatches(): void {
    for (const w of this.hub.all()) w.end();
  }

  /** Ends every open watch with the 410 Expired ERROR event (what a compaction does to a lagging watcher). */
  expireWatches(): void {
    for (const w of this.hub.all()) this.hub.expire(w);
  }

  openWatches(): number {
    return this.hub.size;
  }

  // ---- auth, latency, faults -----------------------------------------------------------

  /** The bearer token requests must carry; setting it rotates the token (undefined: no auth). */
  get token(): string | undefined {
    return this.frontend.config.token;
  }

  set token(t: string | undefined) {
    this.frontend.config.token = t;
  }

  get latencyMs(): number {
    return this.frontend.config.latencyMs;
  }

  set latencyMs(ms: number) {
    this.frontend.config.latencyMs = ms;
  }

  /**
   * Injects a fault; returns a function that removes it. Faults hit new requests, and
   * some also hit watches already open on a matching path (each counts as one of `times`):
   * `status` ends them with an ERROR event carrying that Status, `reset` cuts them,
   * `gone` ends them with the 410 ERROR event, and `hang` freezes them (no events, no
   * bookmarks). A `hang` holds what it caught until it is removed (by the returned function
   * or clearFaults; `times` only limits how many new requests it catches): then the stalled
   * server recovers, frozen watches deliver what they held and held requests are answered.
   */
  inject(fault: Fault): () => void {
    const active = this.faults.add(fault);
    if (!this.faults.isActive(active.id)) return () => {};
    for (const w of this.hub.all()) {
      const info: RequestInfo = { method: 'GET', path: w.path, watch: true, listOrWatch: true };
      if (!faultMatches(fault, info) || !this.faults.isActive(active.id)) continue;
      this.hitOpenWatch(fault, active.id, w, () => this.faults.use(active));
    }
    return () => {
      this.faults.remove(active.id);
      this.recover(active.id);
    };
  }

  /** Removes every fault (and lets whatever hangs held go on). */
  clearFaults(): void {
    this.faults.clear();
    for (const w of this.hub.all()) w.thawAll();
    this.frontend.releaseAll();
  }

  private recover(faultId: number): void {
    for (const w of this.hub.all()) w.thaw(faultId);
    this.frontend.release(faultId);
  }

  private hitOpenWatch(fault: Fault, id: number, w: Watcher, use: () => void): void {
    switch (fault.kind) {
      case 'hang':
        w.freeze(id);
        return;
      case 'reset':
        use();
        w.drop();
        return;
      case 'status':
        use();
        w.fail(errorFor(fault.code, fault.reason, fault.message, fault.retryAfterSeconds).status());
        return;
      case 'gone':
        use();
        this.hub.expire(w);
        return;
      default:
        return; // slow and dribble only shape new responses
    }
  }

  // ---- lifecycle -----------------------------------------------------------------------

  /** Stops listening (connections refused) and cuts every connection; state is kept. */
  async down(): Promise<void> {
    await this.frontend.down();
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    await this.frontend.listen(this.frontend.port);
  }

  /** API requests seen so far (not `/_sim/` ones), optionally only those whose path starts with `pathPrefix`. */
  requests(pathPrefix = ''): RequestRecord[] {
    return this.frontend.records().filter((r) => r.path.startsWith(pathPrefix));
  }

  async stop(): Promise<void> {
    this.faults.clear();
    await this.frontend.down();
    this.frontend.releaseAll();
  }

  /** Resolves the namespace a test names: none for cluster-scoped types, `default` when left out. */
  private ns(type: ResourceType, namespace: string | undefined): string | undefined {
    return type.namespaced ? (namespace ?? 'default') : undefined;
  }
}

import type { Registry } from 'prom-client';
import {
  CONFIG_KINDS,
  formatIssue,
  stableStringify,
  TokenBucket,
  type ConfigIssue,
  type ConfigObject,
  type ConfigSink,
  type ConfigSource,
  type Logger,
  type SourcedObject,
} from '@isthmus/core';
import { InformerGroup } from './informer-group.js';
import { KubeClient } from './kube-client.js';
import { loadKubeConfig, type LoadedKubeConfig } from './kube-config.js';
import type { KubeLabelled, KubeObject } from './kube-types.js';
import { KubernetesMetrics } from './metrics.js';
import { DEFAULT_CLUSTER_ID, DEFAULT_TUNING, kubernetesSourceKey, type KubernetesConfigSourceOptions, type KubernetesTuning } from './options.js';
import type { InformerProblem, ResilientInformer, ResourceRef } from './resilient-informer.js';
import { NamespaceFilter } from './selectors.js';
import { LAST_APPLIED, slimConfig, slimLabelled } from './slim.js';
import { StatusWriter } from './status-writer.js';

export interface KubernetesConfigSourceDeps {
  readonly logger?: Logger | undefined;
  readonly metrics?: Registry | undefined;
  readonly random?: () => number;
}

/** The Istio API groups read from a cluster (the `config.istio.io` legacy kinds are file-only). */
export const ISTIO_GROUPS: readonly string[] = ['networking.istio.io', 'security.istio.io'];

/** The CRDs the config source watches: every CONFIG_KINDS kind of the Istio groups, its versions preferred first. */
export function istioResources(): ResourceRef[] {
  return CONFIG_KINDS.filter((d) => ISTIO_GROUPS.includes(d.group)).map((d) => ({ group: d.group, versions: d.versions, plural: d.plural, kind: d.kind }));
}

/** What one object (one part of the sink) last was. */
interface Part {
  readonly resource: ResourceRef;
  /** The config object's content without its resourceVersion: what a change is. */
  content: string;
  /** The array last proposed (kept, so a re-check of a refused part is recognised as a retry). */
  proposed: readonly SourcedObject[];
  /** Errors of the last proposal; none when it was accepted. */
  errors: readonly ConfigIssue[];
  /** The latest object as read (its status included), for the status writer. */
  object: KubeObject;
  version: string;
}

/**
 * Istio config (VirtualService, DestinationRule, ServiceEntry, WorkloadEntry, Sidecar,
 * PeerAuthentication, AuthorizationPolicy, RequestAuthentication) read from a cluster's
 * CRDs, as config source `kubernetes/<clusterId>`.
 *
 * - One resilient informer per kind, at the first version the server serves (preferred
 *   first, next on 404, as Istio does); a CRD that is not installed is reported once and
 *   retried slowly, as is one the client may not read (403). Failures keep what was read.
 * - One sink part per object (`kubernetes/<clusterId>/<Kind>/<ns>/<name>`), so an invalid
 *   object only blocks itself; issues read `kubernetes/<clusterId>:<Kind>/<ns>/<name>: ...`.
 *   Server-only metadata (managedFields, uid, kubectl's last-applied copy, status) is
 *   dropped; name, namespace, labels, annotations, resourceVersion and creationTimestamp stay.
 * - A change is a change of that content: a status write (ours or anyone's) or a
 *   resourceVersion bump alone proposes nothing.
 * - `markSynced` once every kind has been listed (or found unreadable).
 * - With `writeStatus`, an object refused with errors gets them in its status
 *   (status-writer.ts), removed again once it is accepted.
 */
export class KubernetesConfigSource implements ConfigSource {
  readonly source: string;
  readonly clusterId: string;
  private readonly config: LoadedKubeConfig;
  private readonly tuning: KubernetesTuning;
  private readonly scope: NamespaceFilter;
  private readonly logger: Logger | undefined;
  private readonly group: InformerGroup;
  private readonly kinds: { readonly resource: ResourceRef; readonly informer: ResilientInformer<KubeObject> }[] = [];
  private readonly namespaces: ResilientInformer<KubeLabelled> | undefined;
  private readonly writer: StatusWriter | undefined;
  private readonly parts = new Map<string, Part>();
  /** Changed objects waiting for the next batch proposal (see `enqueue`). */
  private readonly queued = new Map<string, Part>();
  private flushScheduled = false;
  private readonly warned = new Set<string>();
  private sink: ConfigSink | undefined;
  private stopped = false;
  private synced = false;

  constructor(
    private readonly options: KubernetesConfigSourceOptions,
    deps: KubernetesConfigSourceDeps = {},
  ) {
    this.clusterId = options.clusterId || DEFAULT_CLUSTER_ID;
    this.source = kubernetesSourceKey(this.clusterId);
    this.config = loadKubeConfig(options);
    this.tuning = { ...DEFAULT_TUNING, ...(options.tuning ?? {}) };
    this.scope = new NamespaceFilter(options.namespaces, options.namespaceSelectors);
    this.logger = deps.logger;
    const metrics = KubernetesMetrics.for(deps.metrics);
    const client = new KubeClient(this.config.kc);
    this.group = new InformerGroup({
      source: this.source,
      client,
      tuning: this.tuning,
      metrics,
      logger: this.logger,
      random: deps.random,
      onError: (resource, err, consecutive, problem) => this.onInformerError(resource, err.message, consecutive, problem),
      onRecovered: (resource) => {
        this.warned.delete(resource);
        this.logger?.info({ source: this.source, resource }, `${this.source}: ${resource} reads succeed again`);
      },
    });
    for (const resource of istioResources()) {
      const informer = this.group.add<KubeObject>(resource, {
        transform: slimConfig,
        onChange: (_key, obj, prev) => this.onObject(resource, informer, obj, prev),
        onListed: () => this.checkSynced(),
      });
      this.kinds.push({ resource, informer });
    }
    this.namespaces = this.scope.needsLabels
      ? this.group.add<KubeLabelled>({ group: '', versions: ['v1'], plural: 'namespaces', kind: 'Namespace' }, {
          transform: slimLabelled,
          onChange: (name) => this.onNamespace(name),
          onListed: () => this.checkSynced(),
        })
      : undefined;
    this.writer = options.writeStatus
      ? new StatusWriter({ source: this.source, client, tuning: this.tuning, bucket: new TokenBucket(this.tuning.statusWriteRate), metrics, logger: this.logger, random: deps.random })
      : undefined;
  }

  async start(sink: ConfigSink): Promise<void> {
    if (this.sink) throw new Error(`${this.source}: already started`);
    this.sink = sink;
    this.group.start();
    this.writer?.start();
    this.logger?.info(
      { source: this.source, context: this.config.context, server: this.config.server, writeStatus: !!this.writer },
      `watching Istio config in Kubernetes at ${this.config.server} (context ${this.config.context}, ${this.scope.describe()})`,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.group.stop(), this.writer?.stop()]);
  }

  /** `kubernetes/<clusterId>/<Kind>/<ns>/<name>`: part names are global on the bus. */
  private partOf(kind: string, o: KubeObject): string {
    return `${this.source}/${kind}/${o.metadata.namespace ?? 'default'}/${o.metadata.name ?? ''}`;
  }

  private included(o: KubeObject): boolean {
    const ns = o.metadata.namespace ?? 'default';
    return this.scope.includes(ns, this.namespaces?.get(ns)?.metadata.labels);
  }

  private onObject(resource: ResourceRef, informer: ResilientInformer<KubeObject>, obj: KubeObject | undefined, prev: KubeObject | undefined): void {
    if (this.stopped || !this.sink) return;
    const subject = obj ?? prev;
    if (!subject) return;
    const part = this.partOf(resource.kind, subject);
    if (!obj || !this.included(obj)) {
      this.withdraw(part);
      return;
    }
    const config = toConfigObject(obj, resource.kind);
    const content = stableStringify({ ...config, metadata: { ...config.metadata, resourceVersion: undefined } });
    const known = this.parts.get(part);
    if (known && known.content === content) {
      // A status write or a resourceVersion bump: nothing to propose. The status may need a look.
      known.object = obj;
      known.version = informer.version;
      this.updateStatus(part, known);
      return;
    }
    const proposed: SourcedObject[] = [{ object: config, origin: this.source }];
    const entry: Part = { resource, content, proposed, errors: [], object: obj, version: informer.version };
    this.parts.set(part, entry);
    this.enqueue(part, entry);
  }

  /**
   * Objects are proposed in batches: an initial list or relist of thousands of objects is
   * one `proposeAll` (the store validates the config set once per batch, not once per object).
   */
  private enqueue(part: string, entry: Part): void {
    this.queued.set(part, entry);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.stopped || !this.sink || this.queued.size === 0) return;
    const batch = new Map(this.queued);
    this.queued.clear();
    const sink = this.sink;
    const results =
      batch.size > 1 && sink.proposeAll
        ? sink.proposeAll(new Map([...batch].map(([part, entry]) => [part, entry.proposed])))
        : new Map([...batch].map(([part, entry]) => [part, sink.propose(part, entry.proposed)]));
    let accepted = false;
    for (const [part, entry] of batch) {
      this.report(part, entry, results.get(part) ?? []);
      if (entry.errors.length === 0) accepted = true;
    }
    if (accepted) this.recheckRefused(new Set(batch.keys()));
  }

  private report(part: string, entry: Part, issues: readonly ConfigIssue[]): void {
    const errors = issues.filter((i) => i.severity === 'error');
    const lines = issues.map(formatIssue);
    if (errors.length > 0) {
      this.logger?.warn({ source: this.source, part, issues: lines }, `${this.source}: refused ${part}, its previous version (if any) stays in force:\n  ${lines.join('\n  ')}`);
    } else if (lines.length > 0) {
      this.logger?.info({ source: this.source, part, issues: lines }, `${this.source}: applied ${part} with warnings:\n  ${lines.join('\n  ')}`);
    } else {
      this.logger?.debug({ source: this.source, part }, `${this.source}: applied ${part}`);
    }
    entry.errors = errors;
    this.updateStatus(part, entry);
  }

  /**
   * A refused object may apply once another one changed (the subset it named now exists):
   * the sink re-tries refused parts itself but cannot tell us, so ask again — with the very
   * array refused before, which it recognises as a retry (no new rejection, no log).
   */
  private recheckRefused(except: ReadonlySet<string>): void {
    for (const [part, entry] of this.parts) {
      if (except.has(part) || entry.errors.length === 0 || this.queued.has(part)) continue;
      const errors = this.sink!.propose(part, entry.proposed).filter((i) => i.severity === 'error');
      if (errors.length === 0) this.logger?.info({ source: this.source, part }, `${this.source}: ${part} applies now`);
      entry.errors = errors;
      this.updateStatus(part, entry);
    }
  }

  private withdraw(part: string): void {
    const entry = this.parts.get(part);
    if (!entry) return;
    this.parts.delete(part);
    this.queued.delete(part);
    this.sink!.withdraw(part);
    this.logger?.info({ source: this.source, part }, `${this.source}: withdrew ${part}`);
    this.recheckRefused(new Set([part]));
  }

  /** A namespace's labels changed: its objects are selected or not any more. */
  private onNamespace(name: string): void {
    if (this.stopped || !this.sink) return;
    for (const { resource, informer } of this.kinds) {
      for (const o of informer.values()) {
        if (o.metadata.namespace !== name) continue;
        const part = this.partOf(resource.kind, o);
        if (!this.included(o)) this.withdraw(part);
        else if (!this.parts.has(part)) this.onObject(resource, informer, o, undefined);
      }
    }
  }

  private checkSynced(): void {
    if (this.synced || this.stopped || !this.sink) return;
    if (this.namespaces && !this.namespaces.synced) return;
    if (!this.kinds.every(({ informer }) => informer.synced || informer.problem !== undefined)) return;
    this.flush(); // synced means proposed
    this.synced = true;
    this.sink.markSynced();
    const missing = this.kinds.filter(({ informer }) => !informer.synced).map(({ informer }) => informer.name);
    this.logger?.info(
      { source: this.source, objects: this.parts.size, unavailable: missing },
      `${this.source}: Istio config synced (${this.parts.size} objects${missing.length ? `; not readable: ${missing.join(', ')}` : ''})`,
    );
    // Statuses wait for the sync: before it, an object may be refused only for lack of one listed later.
    for (const [part, entry] of this.parts) this.updateStatus(part, entry);
  }

  private updateStatus(part: string, entry: Part): void {
    if (!this.writer || !this.synced) return;
    this.writer.update(part, { resource: entry.resource, version: entry.version, object: entry.object }, entry.errors);
  }

  private onInformerError(resource: string, message: string, consecutive: number, problem: InformerProblem | undefined): void {
    if (this.stopped) return;
    // Not installed or forbidden: said once (until it reads again); it does not hold back the sync.
    if (problem) {
      if (!this.warned.has(resource)) {
        this.warned.add(resource);
        this.logger?.warn({ source: this.source, resource, error: message }, `${this.source}: ${message}; its config is not read; retrying every ${Math.round(this.tuning.slowRetryMs / 1000)} s`);
      }
      this.checkSynced();
      return;
    }
    const level = consecutive === 1 ? 'warn' : 'debug';
    this.logger?.[level](
      { source: this.source, resource, attempt: consecutive, error: message },
      `${this.source}: reading Istio config failed: ${message}; ${this.synced ? 'the config in force stays' : 'not synced until it has been read once'}; retrying with backoff`,
    );
  }
}

/** The config object of a CRD object: apiVersion, kind, meaningful metadata, spec. */
export function toConfigObject(o: KubeObject, kind: string): ConfigObject {
  const m = o.metadata;
  const annotations = m.annotations ? Object.fromEntries(Object.entries(m.annotations).filter(([k]) => k !== LAST_APPLIED)) : undefined;
  return {
    apiVersion: o.apiVersion ?? '',
    kind: o.kind ?? kind,
    metadata: {
      name: m.name ?? '',
      ...(m.namespace ? { namespace: m.namespace } : {}),
      ...(m.labels && Object.keys(m.labels).length ? { labels: { ...m.labels } } : {}),
      ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.creationTimestamp ? { creationTimestamp: m.creationTimestamp } : {}),
    },
    spec: (o.spec && typeof o.spec === 'object' ? o.spec : {}) as Record<string, unknown>,
  };
}

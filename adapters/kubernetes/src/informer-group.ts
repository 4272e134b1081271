import { TokenBucket, type Logger } from '@isthmus/core';
import type { KubeApiError, KubeClient } from './kube-client.js';
import type { KubeObject } from './kube-types.js';
import type { KubernetesMetrics } from './metrics.js';
import type { KubernetesTuning } from './options.js';
import { ResilientInformer, resourceName, type InformerProblem, type ResourceRef } from './resilient-informer.js';

export interface InformerGroupOptions {
  /** `kubernetes/<clusterId>`, for metrics and logs. */
  readonly source: string;
  readonly client: KubeClient;
  readonly tuning: KubernetesTuning;
  readonly metrics: KubernetesMetrics;
  readonly logger?: Logger | undefined;
  readonly random?: (() => number) | undefined;
  /** A resource failed; `problem` is set when it cannot be read at all (403, not served). */
  onError(resource: string, error: KubeApiError, consecutive: number, problem: InformerProblem | undefined): void;
  /** A resource reads again after failures. */
  onRecovered(resource: string): void;
}

export interface InformerHandlers<T> {
  readonly transform?: (o: KubeObject) => T;
  onChange(key: string, obj: T | undefined, prev: T | undefined): void;
  onListed?(): void;
}

/**
 * The informers of one source: one shared rate limit, metrics per resource, failures and
 * recoveries reported by resource name. Started and stopped together.
 */
export class InformerGroup {
  private readonly all: ResilientInformer<KubeObject>[] = [];
  private readonly shared: TokenBucket;
  private stopped = false;

  constructor(private readonly o: InformerGroupOptions) {
    this.shared = new TokenBucket(o.tuning.globalRate);
  }

  add<T extends KubeObject>(resource: ResourceRef, h: InformerHandlers<T>): ResilientInformer<T> {
    const { source, metrics } = this.o;
    const name = resourceName(resource);
    const labels = { source, resource: name };
    let informer: ResilientInformer<T> | undefined;
    const gauge = () => informer && metrics.objects.set(labels, informer.size);
    informer = new ResilientInformer<T>({
      client: this.o.client,
      resource,
      tuning: this.o.tuning,
      bucket: new TokenBucket(this.o.tuning.informerRate),
      shared: this.shared,
      ...(h.transform ? { transform: h.transform } : {}),
      ...(this.o.random ? { random: this.o.random } : {}),
      events: {
        onChange: (key, obj, prev) => {
          if (this.stopped) return;
          if (!obj || !prev) gauge();
          this.guard(name, () => h.onChange(key, obj, prev));
        },
        onListed: () => {
          if (this.stopped) return;
          gauge();
          this.guard(name, () => h.onListed?.());
        },
        onError: (err, consecutive) => {
          if (this.stopped) return;
          metrics.errors.inc({ ...labels, reason: err.status ? String(err.status) : err.kind });
          metrics.degraded.set(labels, informer!.problem ? 1 : 0);
          this.guard(name, () => this.o.onError(name, err, consecutive, informer!.problem));
        },
        onRecovered: () => {
          if (this.stopped) return;
          metrics.degraded.set(labels, 0);
          this.guard(name, () => this.o.onRecovered(name));
        },
        onRestart: (reason) => {
          if (this.stopped) return;
          gauge();
          metrics.restarts.inc({ ...labels, reason });
          if (reason === 'idle') this.o.logger?.debug({ source, resource: name }, `watch of ${name} silent for ${this.o.tuning.watchIdleTimeoutMs} ms: re-watching`);
          if (reason === 'gone') this.o.logger?.debug({ source, resource: name }, `watch of ${name} expired (410): relisting`);
        },
        onRequest: (verb, outcome) => {
          if (this.stopped) return;
          metrics.requests.inc({ ...labels, verb, outcome });
        },
      },
    });
    this.all.push(informer as unknown as ResilientInformer<KubeObject>);
    return informer;
  }

  /** A handler's bug must not stop an informer (or fail its watch and lose the event). */
  private guard(resource: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.o.logger?.error({ source: this.o.source, resource, err: String((err as Error)?.stack ?? err) }, `${this.o.source}: handling a ${resource} event failed: ${(err as Error)?.message ?? err}`);
    }
  }

  get informers(): readonly ResilientInformer<KubeObject>[] {
    return this.all;
  }

  start(): void {
    for (const i of this.all) i.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.all.map((i) => i.stop()));
  }
}

import { backoffDelay, jsonEqual, type ConfigIssue, type Logger, type TokenBucket } from '@isthmus/core';
import { KubeApiError, type KubeClient } from './kube-client.js';
import type { KubeObject } from './kube-types.js';
import type { KubernetesMetrics } from './metrics.js';
import type { KubernetesTuning } from './options.js';
import { resourceName, type ResourceRef } from './resilient-informer.js';

/*
 * Validation results written to Istio config objects' status, the way Istio's in-cluster
 * analysis reports them (`istio.meta.v1alpha1.IstioStatus`):
 *
 *   status:
 *     validationMessages:
 *     - type: { code: IST0106, name: SchemaValidationError }
 *       level: ERROR
 *       documentationUrl: https://istio.io/latest/docs/reference/config/analysis/ist0106/
 *       message: 'spec.http[0].route[0].weight: ...'      # Isthmus's addition, see below
 *     conditions:
 *     - type: Reconciled
 *       status: "False"
 *       reason: ValidationFailed
 *       message: <the errors, one per line>
 *       observedGeneration: <metadata.generation>
 *       lastTransitionTime: ...
 *
 * IST0106 (SchemaValidationError) is the code Istio gives config that fails validation;
 * Isthmus's validation is schema plus semantics, as Istio's. Istio's AnalysisMessageBase
 * has no `message` (istioctl renders it from the code's template); Isthmus adds one, which
 * Istio's CRDs keep (`status` preserves unknown fields), because the code alone does not
 * say what is wrong.
 *
 * Only what Isthmus wrote is ever changed: other conditions and other codes' messages stay.
 * When the object becomes valid, both are removed again. The desired status is compared
 * with the object's current one first, so writing is idempotent: the MODIFIED event a
 * write causes finds nothing to do (no loop), and a restart clears what a previous run
 * left on objects that are valid now.
 */

export const VALIDATION_CODE = { code: 'IST0106', name: 'SchemaValidationError' } as const;
export const VALIDATION_DOC_URL = 'https://istio.io/latest/docs/reference/config/analysis/ist0106/';
export const CONDITION_TYPE = 'Reconciled';
export const CONDITION_REASON = 'ValidationFailed';

interface ValidationMessage {
  readonly type?: { readonly code?: string; readonly name?: string };
  readonly level?: string;
  readonly documentationUrl?: string;
  readonly message?: string;
}

interface Condition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly observedGeneration?: number | string;
  readonly lastTransitionTime?: string;
}

interface IstioStatus {
  readonly validationMessages?: readonly ValidationMessage[];
  readonly conditions?: readonly Condition[];
}

const ours = {
  message: (m: ValidationMessage) => m.type?.code === VALIDATION_CODE.code,
  condition: (c: Condition) => c.type === CONDITION_TYPE && c.reason === CONDITION_REASON,
};

/** `<path>: <message>` of an error issue. */
function issueText(i: ConfigIssue): string {
  return `${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/**
 * The status fields Isthmus wants on an object (undefined: the field should be absent),
 * given its current status and its errors (none: valid). `now` stamps a new condition.
 */
export function desiredStatus(current: IstioStatus | undefined, errors: readonly ConfigIssue[], generation: number | undefined, now: string): IstioStatus {
  const otherMessages = (current?.validationMessages ?? []).filter((m) => !ours.message(m));
  const otherConditions = (current?.conditions ?? []).filter((c) => !ours.condition(c));
  if (errors.length === 0) {
    return {
      ...(otherMessages.length ? { validationMessages: otherMessages } : {}),
      ...(otherConditions.length ? { conditions: otherConditions } : {}),
    };
  }
  const messages: ValidationMessage[] = errors.map((e) => ({ type: { ...VALIDATION_CODE }, level: 'ERROR', documentationUrl: VALIDATION_DOC_URL, message: issueText(e) }));
  const text = errors.map(issueText).join('\n');
  const previous = (current?.conditions ?? []).find(ours.condition);
  const condition: Condition = {
    type: CONDITION_TYPE,
    status: 'False',
    reason: CONDITION_REASON,
    message: text,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    // Unchanged failure, unchanged transition time.
    lastTransitionTime: previous?.lastTransitionTime ?? now,
  };
  return { validationMessages: [...otherMessages, ...messages], conditions: [...otherConditions, condition] };
}

/** True when the object's status already is what Isthmus wants. */
export function statusUpToDate(current: IstioStatus | undefined, desired: IstioStatus): boolean {
  return jsonEqual(current?.validationMessages ?? [], desired.validationMessages ?? []) && jsonEqual(current?.conditions ?? [], desired.conditions ?? []);
}

/** One object whose status may need writing: where it is served, and its latest state. */
export interface StatusTarget {
  readonly resource: ResourceRef;
  /** The version it is read at (the status is written at the same one). */
  readonly version: string;
  readonly object: KubeObject;
}

export interface StatusWriterOptions {
  readonly source: string;
  readonly client: KubeClient;
  readonly tuning: KubernetesTuning;
  readonly bucket: TokenBucket;
  readonly metrics: KubernetesMetrics;
  readonly logger?: Logger | undefined;
  readonly random?: (() => number) | undefined;
}

interface Pending {
  target: StatusTarget;
  errors: readonly ConfigIssue[];
  attempts: number;
  notBefore: number;
}

/**
 * Writes validation status with JSON merge patches on the status subresource, one at a
 * time, rate-limited. Each object's latest wish replaces any earlier one still queued. A
 * write is conditional on the object's resourceVersion: on a conflict (409) the object has
 * changed, and its MODIFIED event brings a fresh wish. 403 (no `patch` on `<kind>/status`)
 * and 404 (gone) are logged and dropped; other failures are retried with backoff.
 */
export class StatusWriter {
  private readonly queue = new Map<string, Pending>();
  private readonly ac = new AbortController();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly warned = new Set<string>();

  constructor(private readonly o: StatusWriterOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.ac.abort();
    this.wake?.();
    await this.loop;
  }

  /** The object's latest state and errors (none: valid); a write is queued only if its status differs. */
  update(key: string, target: StatusTarget, errors: readonly ConfigIssue[]): void {
    if (this.ac.signal.aborted) return;
    const status = (target.object as { status?: IstioStatus }).status;
    const desired = desiredStatus(status, errors, target.object.metadata.generation, new Date().toISOString());
    if (statusUpToDate(status, desired)) {
      this.queue.delete(key);
      return;
    }
    const prev = this.queue.get(key);
    this.queue.set(key, { target, errors, attempts: prev?.attempts ?? 0, notBefore: prev?.notBefore ?? 0 });
    this.wake?.();
  }

  /** Objects with a status write queued (tests, debugging). */
  get pending(): number {
    return this.queue.size;
  }

  private async run(): Promise<void> {
    const signal = this.ac.signal;
    while (!signal.aborted) {
      const next = this.nextDue();
      if (!next) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          // Queued retries wait for their backoff; new wishes wake the loop at once.
          const soonest = Math.min(...[...this.queue.values()].map((p) => p.notBefore));
          if (Number.isFinite(soonest)) timer = setTimeout(resolve, Math.max(0, soonest - performance.now()));
        });
        clearTimeout(timer);
        this.wake = undefined;
        continue;
      }
      if (!(await this.o.bucket.take(signal))) return;
      const [key, p] = next;
      // The wish may have changed while waiting for the token.
      if (this.queue.get(key) !== p) continue;
      this.queue.delete(key);
      await this.write(key, p);
    }
  }

  private nextDue(): [string, Pending] | undefined {
    const now = performance.now();
    for (const entry of this.queue) if (entry[1].notBefore <= now) return entry;
    return undefined;
  }

  private async write(key: string, p: Pending): Promise<void> {
    const { resource, version, object } = p.target;
    const { namespace, name, resourceVersion, generation } = object.metadata;
    const status = (object as { status?: IstioStatus }).status;
    const desired = desiredStatus(status, p.errors, generation, new Date().toISOString());
    const path = `/apis/${resource.group}/${version}/namespaces/${encodeURIComponent(namespace ?? 'default')}/${resource.plural}/${encodeURIComponent(name ?? '')}/status`;
    try {
      await this.o.client.request('PATCH', path, {
        contentType: 'application/merge-patch+json',
        // The resourceVersion makes the write conditional: never overwrite a status we have not seen.
        body: { metadata: { resourceVersion }, status: { validationMessages: desired.validationMessages ?? null, conditions: desired.conditions ?? null } },
        timeoutMs: this.o.tuning.requestTimeoutMs,
        signal: this.ac.signal,
      });
      this.o.metrics.statusWrites.inc({ source: this.o.source, outcome: p.errors.length ? 'failed' : 'cleared' });
      this.o.logger?.debug({ source: this.o.source, object: key, errors: p.errors.length }, `wrote validation status of ${key}`);
    } catch (err) {
      if (this.ac.signal.aborted) return;
      const e = err instanceof KubeApiError ? err : new KubeApiError('invalid', String(err));
      this.o.metrics.statusWrites.inc({ source: this.o.source, outcome: e.status ? String(e.status) : e.kind });
      if (e.status === 409 || e.status === 404) return; // changed or gone: its next event decides
      if (e.status === 403) {
        this.warnOnce(`403:${resource.plural}`, key, `cannot write the status of ${resourceName(resource)} (${e.message}); grant "patch" on ${resource.plural}/status, or turn status writing off`);
        return;
      }
      p.attempts++;
      this.warnOnce(`err:${key}`, key, `cannot write the validation status of ${key} (${e.message}); retrying`);
      if (this.queue.has(key)) return; // a newer wish is queued already
      p.notBefore = performance.now() + backoffDelay(p.attempts, this.o.tuning.backoffBaseMs, this.o.tuning.backoffMaxMs, this.o.random);
      this.queue.set(key, p);
    }
  }

  private warnOnce(id: string, object: string, msg: string): void {
    if (this.warned.has(id)) return;
    if (this.warned.size > 10_000) this.warned.clear();
    this.warned.add(id);
    this.o.logger?.warn({ source: this.o.source, object }, `${this.o.source}: ${msg}`);
  }
}

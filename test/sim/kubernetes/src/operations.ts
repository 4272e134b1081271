import { randomUUID } from 'node:crypto';
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound } from './errors.js';
import { clone, deepEqual, jsonPatch, mergePatch } from './patch.js';
import { apiVersionOf, splitApiVersion, type ResourceRegistry, type ResourceType } from './resources.js';
import type { Selector } from './selectors.js';
import type { Store } from './store.js';
import type { KubeObject } from './types.js';

/**
 * What apiserver's registry strategies do to an object on each write, shared by the
 * HTTP verbs and the test methods (`apply`, `patchStatus`, `remove`):
 * system metadata (uid, creationTimestamp, generation), name/namespace checks,
 * resourceVersion and uid preconditions, status-subresource rules, and no-op detection
 * (an update that changes nothing writes nothing, so it gets no new RV and no event).
 */

/** `client`: a request from an API client (status rules and preconditions apply); otherwise a test writing the whole object. */
export type Origin = 'client' | 'test';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** apiserver's timestamps: RFC 3339, whole seconds. */
export const timestamp = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The object as served at `version` (one stored object per group, every version of the group serves it: CRD conversion `None`). */
export function render(type: ResourceType, version: string, obj: KubeObject): KubeObject {
  const out = clone(obj);
  out.apiVersion = apiVersionOf(type.group, version);
  out.kind = type.kind;
  return out;
}

/** Whatever a kind carries besides metadata and status (what `generation` counts changes of). */
const specOf = (o: KubeObject) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind'));

export class Operations {
  constructor(
    private readonly store: Store,
    private readonly registry: ResourceRegistry,
  ) {}

  create(type: ResourceType, namespace: string | undefined, body: unknown, origin: Origin): KubeObject {
    const obj = this.checkBody(type, body);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    if (!meta.name) throw invalid(type.kind, '', 'metadata.name: Required value: name or generateName is required');
    const ns = this.scope(type, namespace ?? meta.namespace, meta.namespace);
    if (this.store.get(type, ns, meta.name)) throw alreadyExists(type.plural, type.group, meta.name);
    if (origin === 'client' && ns !== undefined) this.requireNamespace(ns);
    if (ns === undefined) delete meta.namespace;
    else meta.namespace = ns;
    // A test may pin the uid (fixtures join Pods and EndpointSlices through it); apiserver always generates one.
    meta.uid = origin === 'test' && typeof meta.uid === 'string' && meta.uid ? meta.uid : randomUUID();
    meta.creationTimestamp = timestamp();
    meta.generation = 1;
    delete meta.resourceVersion;
    delete meta.managedFields;
    // Only a test may stage a terminating object; graceful deletion is not simulated.
    if (origin === 'client') delete meta.deletionTimestamp;
    // Create cannot set status through a status-subresource type (PrepareForCreate drops it).
    if (origin === 'client' && type.statusSubresource) delete obj.status;
    return this.store.commit(type, ns, meta.name, obj);
  }

  /** PUT: replaces an existing object (404 when absent). */
  replace(type: ResourceType, namespace: string | undefined, name: string, body: unknown, origin: Origin): KubeObject {
    const obj = this.checkBody(type, body);
    const stored = this.mustGet(type, namespace, name);
    return this.write(type, stored, obj, origin, 'main');
  }

  /** The test's write: create, or replace whatever is stored (no preconditions), status included. */
  apply(body: KubeObject): KubeObject {
    const type = this.registry.byKind(body.apiVersion, body.kind);
    const name = body.metadata?.name;
    if (!name) throw invalid(type.kind, '', 'metadata.name: Required value');
    const ns = type.namespaced ? (body.metadata.namespace ?? 'default') : undefined;
    const stored = this.store.get(type, ns, name);
    const obj = clone(body);
    if (ns !== undefined) obj.metadata.namespace = ns;
    return stored ? this.write(type, stored, obj, 'test', 'main') : this.create(type, ns, obj, 'test');
  }

  /** PUT .../status: only `.status` changes. */
  replaceStatus(type: ResourceType, namespace: string | undefined, name: string, body: unknown): KubeObject {
    const obj = this.checkBody(type, body);
    return this.write(type, this.mustGet(type, namespace, name), obj, 'client', 'status');
  }

  /** Sets `.status` from a test (no precondition). */
  setStatus(type: ResourceType, namespace: string | undefined, name: string, status: unknown): KubeObject {
    const stored = this.mustGet(type, namespace, name);
    return this.write(type, stored, { ...clone(stored), status: clone(status) }, 'test', 'status');
  }

  /**
   * PATCH of the object or of its status, in the format the Content-Type names. The patch
   * applies to the object as served at `version`; a `metadata.resourceVersion` the patch
   * sets is a precondition, as in apiserver.
   */
  patch(type: ResourceType, version: string, namespace: string | undefined, name: string, contentType: string, patch: unknown, opts: { subresource?: 'status'; fieldManager?: string | null } = {}): KubeObject {
    const media = contentType.split(';')[0]!.trim().toLowerCase();
    const stored = this.store.get(type, namespace, name);
    if (media === PATCH_TYPES.apply) {
      if (!opts.fieldManager) throw badRequest('PATCH /apply requires fieldManager');
      if (!stored) {
        if (opts.subresource) throw notFound(type.plural, type.group, name);
        const body = this.checkBody(type, patch);
        if (body.metadata.name !== name) throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
        return this.create(type, namespace, body, 'client');
      }
    }
    if (!stored) throw notFound(type.plural, type.group, name);
    const current = render(type, version, stored);
    let next: unknown;
    switch (media) {
      case PATCH_TYPES.json:
        next = jsonPatch(current, patch);
        break;
      case PATCH_TYPES.merge:
      case PATCH_TYPES.apply:
        if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
        next = mergePatch(current, patch);
        break;
      case PATCH_TYPES.strategic:
        // Strategic merge needs Go struct tags: apiserver refuses it for custom resources.
        if (!type.builtin) throw unsupportedPatch(media);
        if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
        next = mergePatch(current, patch);
        break;
      default:
        throw unsupportedPatch(media);
    }
    const obj = this.checkBody(type, next);
    return this.write(type, stored, obj, 'client', opts.subresource ?? 'main');
  }

  delete(type: ResourceType, namespace: string | undefined, name: string, preconditions?: { uid?: string; resourceVersion?: string }): KubeObject {
    const stored = this.mustGet(type, namespace, name);
    if (preconditions?.uid && preconditions.uid !== stored.metadata.uid) {
      throw conflict(type.plural, type.group, name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${stored.metadata.uid}`);
    }
    if (preconditions?.resourceVersion && preconditions.resourceVersion !== stored.metadata.resourceVersion) {
      throw conflict(type.plural, type.group, name, `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${stored.metadata.resourceVersion}`);
    }
    // The namespace controller's end result: everything in a deleted namespace goes with it.
    if (type.group === '' && type.plural === 'namespaces') {
      for (const t of this.registry.all()) {
        if (!t.namespaced) continue;
        for (const o of this.store.list(t, name)) this.store.commit(t, name, o.metadata.name!, undefined);
      }
    }
    return this.store.commit(type, namespace, name, undefined);
  }

  deleteCollection(type: ResourceType, namespace: string | undefined, selector: Selector): KubeObject[] {
    return this.store
      .list(type, namespace)
      .filter((o) => selector.matches(o))
      .map((o) => this.delete(type, o.metadata.namespace, o.metadata.name!));
  }

  private mustGet(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const stored = this.store.get(type, namespace, name);
    if (!stored) throw notFound(type.plural, type.group, name);
    return stored;
  }

  /** The update half of every write: system fields from storage, preconditions, status rules, generation, no-op. */
  private write(type: ResourceType, stored: KubeObject, incoming: KubeObject, origin: Origin, part: 'main' | 'status'): KubeObject {
    const name = stored.metadata.name!;
    const ns = stored.metadata.namespace;
    const meta = incoming.metadata;
    if (meta.name !== undefined && meta.name !== name) throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    if (type.namespaced && meta.namespace !== undefined && meta.namespace !== ns) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    if (origin === 'client') {
      if (meta.uid && meta.uid !== stored.metadata.uid) {
        throw conflict(type.plural, type.group, name, `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${stored.metadata.uid}`);
      }
      if (meta.resourceVersion !== undefined && meta.resourceVersion !== '' && meta.resourceVersion !== stored.metadata.resourceVersion) {
        throw conflict(type.plural, type.group, name);
      }
    }
    let next: KubeObject;
    if (part === 'status') {
      // The status strategy copies the stored object and takes only `.status` from the request.
      next = clone(stored);
      if (incoming.status === undefined) delete next.status;
      else next.status = clone(incoming.status);
    } else {
      next = clone(incoming);
      next.metadata = {
        ...clone(meta),
        name,
        uid: stored.metadata.uid,
        creationTimestamp: stored.metadata.creationTimestamp,
        generation: stored.metadata.generation,
      };
      const deletion = origin === 'test' ? meta.deletionTimestamp : stored.metadata.deletionTimestamp;
      if (deletion) next.metadata.deletionTimestamp = deletion;
      else delete next.metadata.deletionTimestamp;
      if (ns !== undefined) next.metadata.namespace = ns;
      else delete next.metadata.namespace;
      delete next.metadata.managedFields;
      if (origin === 'client' && type.statusSubresource) {
        if (stored.status === undefined) delete next.status;
        else next.status = clone(stored.status);
      }
      if (!deepEqual(specOf(next), specOf(stored))) next.metadata.generation = (stored.metadata.generation ?? 0) + 1;
    }
    next.apiVersion = stored.apiVersion;
    next.kind = stored.kind;
    next.metadata.resourceVersion = stored.metadata.resourceVersion;
    if (deepEqual(next, stored)) return stored;
    return this.store.commit(type, ns, name, next);
  }

  /**
   * A request body must be an object of this type's kind and group (any served version).
   * Built-in types may leave kind/apiVersion out (apiserver defaults them from the URL, and
   * typed clients such as client-go and client-node do leave them out); custom resources,
   * decoded as unstructured objects, may not.
   */
  private checkBody(type: ResourceType, body: unknown): KubeObject {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Object \'Kind\' is missing in request body');
    const obj = clone(body) as KubeObject;
    if (type.builtin) {
      if (obj.kind === undefined || obj.kind === '') obj.kind = type.kind;
      if (obj.apiVersion === undefined || obj.apiVersion === '') obj.apiVersion = apiVersionOf(type.group, type.versions[0]!);
    }
    if (typeof obj.kind !== 'string' || obj.kind === '') throw badRequest("Object 'Kind' is missing in request body");
    if (obj.kind !== type.kind) throw badRequest(`${type.kind} in version "${type.versions[0]}" cannot be handled as a ${type.kind}: the object's kind is ${obj.kind}`);
    const [group, version] = splitApiVersion(typeof obj.apiVersion === 'string' ? obj.apiVersion : '');
    if (group !== type.group || !type.versions.includes(version)) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(type.group, type.versions[0]!)})`);
    }
    if (typeof obj.metadata !== 'object' || obj.metadata === null) obj.metadata = {};
    obj.apiVersion = apiVersionOf(type.group, type.versions[0]!);
    return obj;
  }

  /** The namespace an object lives in: the request's for namespaced types, none for cluster-scoped ones. */
  private scope(type: ResourceType, requested: string | undefined, inBody: string | undefined): string | undefined {
    if (!type.namespaced) return undefined;
    if (inBody !== undefined && inBody !== '' && requested !== undefined && inBody !== requested) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    return requested || inBody || 'default';
  }

  /** The NamespaceLifecycle admission plugin: no objects in a namespace that does not exist. */
  private requireNamespace(ns: string): void {
    const nsType = this.registry.byPath('', 'v1', 'namespaces');
    if (nsType && !this.store.get(nsType, undefined, ns)) throw notFound('namespaces', '', ns);
  }
}

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

function unsupportedPatch(media: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.json}, ${PATCH_TYPES.merge}, ${PATCH_TYPES.apply}${media ? ` (got ${media})` : ''}`,
  );
}

import type { ServerResponse } from 'node:http';
import { apiGroup, coreVersions, groupList, resourceList, versionInfo } from './discovery.js';
import { ApiError, badRequest, notFound, pathNotFound, tooOld } from './errors.js';
import { render, type Operations } from './operations.js';
import { apiVersionOf, type ResourceRegistry, type ResourceType } from './resources.js';
import { sendJson } from './response.js';
import { bothSelectors, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { objectKey, type Store } from './store.js';
import type { KubeObject } from './types.js';
import type { WatchHub } from './watch.js';

/**
 * The REST layer: maps apiserver's URL layout and verbs onto the store.
 *   /api/v1/{plural}[/{name}[/status]]                         cluster-scoped, or all namespaces
 *   /api/v1/namespaces/{ns}/{plural}[/{name}[/status]]          namespaced
 *   /apis/{group}/{version}/... likewise; discovery at /version, /api, /apis, /apis/{g}[/{v}]
 */

export type Route =
  | { readonly kind: 'version' }
  | { readonly kind: 'api' }
  | { readonly kind: 'apis' }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'resources'; readonly group: string; readonly version: string }
  | {
      readonly kind: 'resource';
      readonly group: string;
      readonly version: string;
      readonly plural: string;
      readonly namespace?: string;
      readonly name?: string;
      readonly subresource?: string;
    };

export function parseRoute(pathname: string): Route | undefined {
  let segs: string[];
  try {
    segs = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (segs.length === 1 && segs[0] === 'version') return { kind: 'version' };
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length === 1) return { kind: 'api' };
    [group, version, rest] = ['', segs[1]!, segs.slice(2)];
  } else if (segs[0] === 'apis') {
    if (segs.length === 1) return { kind: 'apis' };
    if (segs.length === 2) return { kind: 'group', group: segs[1]! };
    [group, version, rest] = [segs[1]!, segs[2]!, segs.slice(3)];
  } else return undefined;
  const r = { kind: 'resource' as const, group, version };
  const [a, b, c, d, e] = rest;
  switch (rest.length) {
    case 0:
      return { kind: 'resources', group, version };
    case 1:
      return { ...r, plural: a! };
    case 2:
      return { ...r, plural: a!, name: b! };
    case 3:
      // namespaces/{ns}/status is the Namespace's own subresource; namespaces/{ns}/{plural} a collection.
      if (a === 'namespaces' && c !== 'status' && c !== 'finalize') return { ...r, namespace: b!, plural: c! };
      return { ...r, plural: a!, name: b!, subresource: c! };
    case 4:
      return a === 'namespaces' ? { ...r, namespace: b!, plural: c!, name: d! } : undefined;
    case 5:
      return a === 'namespaces' ? { ...r, namespace: b!, plural: c!, name: d!, subresource: e! } : undefined;
    default:
      return undefined;
  }
}

export const isWatch = (q: URLSearchParams) => q.get('watch') === 'true' || q.get('watch') === '1';

/** The continue token apiserver hands out (base64 of this JSON); rv -1 means "continue at the latest state". */
interface ContinueToken {
  v: 'meta.k8s.io/v1';
  rv: number;
  start: string;
}

const encodeContinue = (t: ContinueToken) => Buffer.from(JSON.stringify(t)).toString('base64url');

function decodeContinue(raw: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as ContinueToken;
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string' || t.rv === 0) throw new Error('bad token');
    return t;
  } catch {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}

const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

export interface Request {
  readonly method: string;
  readonly route: Route;
  readonly query: URLSearchParams;
  readonly path: string;
  /** Parsed JSON body (undefined when none). */
  readonly body: unknown;
  readonly contentType: string;
  readonly serverAddress: string;
}

export class RestApi {
  constructor(
    private readonly registry: ResourceRegistry,
    private readonly store: Store,
    private readonly ops: Operations,
    private readonly hub: WatchHub,
  ) {}

  /** Answers one request; throws ApiError for the caller to send as a Status. */
  handle(req: Request, res: ServerResponse, chunkDelayMs: number): void {
    const send = (code: number, body: unknown) => sendJson(res, code, body, { chunkDelayMs });
    const { route, method } = req;
    if (route.kind !== 'resource') {
      if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      const doc = this.discovery(route, req.serverAddress);
      if (doc === undefined) throw pathNotFound();
      return send(200, doc);
    }
    const type = this.registry.byPath(route.group, route.version, route.plural);
    if (!type) throw pathNotFound();
    // A namespaced path to a cluster-scoped type, or a namespaced object without its namespace, is no URL apiserver serves.
    if (!type.namespaced && route.namespace !== undefined) throw pathNotFound();
    if (type.namespaced && route.name !== undefined && route.namespace === undefined) throw pathNotFound();
    if (route.subresource !== undefined && (route.subresource !== 'status' || !type.statusSubresource)) throw pathNotFound();
    const ns = route.namespace;
    const q = req.query;

    if (route.name === undefined) {
      switch (method) {
        case 'GET':
          if (isWatch(q)) return this.watch(type, route.version, ns, q, req.path, res, chunkDelayMs);
          return send(200, this.list(type, route.version, ns, q));
        case 'POST':
          return send(201, render(type, route.version, this.ops.create(type, ns, req.body, 'client')));
        case 'DELETE': {
          const gone = this.ops.deleteCollection(type, ns, this.selector(type, q));
          return send(200, this.listBody(type, route.version, gone, this.store.resourceVersion));
        }
        default:
          throw methodNotAllowed();
      }
    }
    const name = route.name;
    const status = route.subresource === 'status';
    switch (method) {
      case 'GET': {
        // Watching one object is a collection watch narrowed to its name (as apiserver does it).
        if (isWatch(q) && !status) return this.watch(type, route.version, ns, q, req.path, res, chunkDelayMs, name);
        const obj = this.store.get(type, ns, name);
        if (!obj) throw notFound(type.plural, type.group, name);
        return send(200, render(type, route.version, obj));
      }
      case 'PUT':
        return send(200, render(type, route.version, status ? this.ops.replaceStatus(type, ns, name, req.body) : this.ops.replace(type, ns, name, req.body, 'client')));
      case 'PATCH': {
        // Server-side apply may create the object (201).
        const existed = this.store.get(type, ns, name) !== undefined;
        const obj = this.ops.patch(type, route.version, ns, name, req.contentType, req.body, { ...(status ? { subresource: 'status' as const } : {}), fieldManager: q.get('fieldManager') });
        return send(existed ? 200 : 201, render(type, route.version, obj));
      }
      case 'DELETE': {
        if (status) throw methodNotAllowed();
        const opts = (req.body ?? {}) as { preconditions?: { uid?: string; resourceVersion?: string } };
        return send(200, render(type, route.version, this.ops.delete(type, ns, name, opts.preconditions)));
      }
      default:
        throw methodNotAllowed();
    }
  }

  private discovery(route: Exclude<Route, { kind: 'resource' }>, serverAddress: string): unknown | undefined {
    switch (route.kind) {
      case 'version':
        return versionInfo();
      case 'api':
        return coreVersions(serverAddress);
      case 'apis':
        return groupList(this.registry);
      case 'group':
        return apiGroup(this.registry, route.group);
      case 'resources':
        return resourceList(this.registry, route.group, route.version);
    }
  }

  private selector(type: ResourceType, q: URLSearchParams) {
    return bothSelectors(parseLabelSelector(q.get('labelSelector')), parseFieldSelector(q.get('fieldSelector'), type.selectableFields));
  }

  /** A resourceVersion newer than the store's is an RV this server never had (a restored backup, another cluster). */
  private checkNotFuture(raw: string | null): void {
    if (raw === null || raw === '' || !/^\d+$/.test(raw)) return;
    if (Number(raw) > this.store.resourceVersion) {
      throw new ApiError(504, 'Timeout', `Too large resource version: ${raw}, current: ${this.store.resourceVersion}`, {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      });
    }
  }

  private watch(type: ResourceType, version: string, ns: string | undefined, q: URLSearchParams, path: string, res: ServerResponse, chunkDelayMs: number, name?: string): void {
    const base = this.selector(type, q);
    const selector = name === undefined ? base : bothSelectors(base, { matches: (o) => o.metadata.name === name, empty: false });
    this.checkNotFuture(q.get('resourceVersion'));
    const timeout = q.get('timeoutSeconds');
    if (timeout !== null && !/^\d+$/.test(timeout)) throw badRequest(`timeoutSeconds: Invalid value: "${timeout}"`);
    this.hub.open(
      {
        type,
        version,
        namespace: ns,
        selector,
        resourceVersion: q.get('resourceVersion'),
        allowBookmarks: q.get('allowWatchBookmarks') === 'true',
        timeoutSeconds: timeout === null ? undefined : Number(timeout),
        sendInitialEvents: q.get('sendInitialEvents') === 'true',
      },
      path,
      res,
      chunkDelayMs,
    );
  }

  /** A list, chunked with limit/continue; every page of one list comes from the same snapshot. */
  private list(type: ResourceType, version: string, ns: string | undefined, q: URLSearchParams): unknown {
    const selector = this.selector(type, q);
    const limitRaw = q.get('limit');
    const limit = limitRaw !== null && /^\d+$/.test(limitRaw) && Number(limitRaw) > 0 ? Number(limitRaw) : undefined;
    const cont = q.get('continue');
    let snapshotRv = this.store.resourceVersion;
    let start = '';
    let objects: KubeObject[];
    if (cont) {
      const token = decodeContinue(cont);
      start = token.start;
      if (token.rv > 0) snapshotRv = token.rv;
      try {
        objects = this.store.listAt(type, snapshotRv, ns);
      } catch (err) {
        if (err instanceof ApiError && err.code === 410) {
          throw new ApiError(410, 'Expired', CONTINUE_EXPIRED, undefined, {}, { continue: encodeContinue({ v: 'meta.k8s.io/v1', rv: -1, start }) });
        }
        throw err;
      }
    } else {
      const rvRaw = q.get('resourceVersion');
      this.checkNotFuture(rvRaw);
      if (q.get('resourceVersionMatch') === 'Exact') {
        if (rvRaw === null || !/^\d+$/.test(rvRaw) || rvRaw === '0') throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch "Exact" is forbidden for resourceVersion "0"');
        snapshotRv = Number(rvRaw);
        if (snapshotRv < this.store.horizon) throw tooOld(snapshotRv, this.store.horizon + 1);
        objects = this.store.listAt(type, snapshotRv, ns);
      } else objects = this.store.list(type, ns);
    }
    const matching = objects.filter((o) => selector.matches(o) && (start === '' || objectKey(o.metadata.namespace, o.metadata.name!) >= start));
    const page = limit !== undefined ? matching.slice(0, limit) : matching;
    const body = this.listBody(type, version, page, snapshotRv);
    if (limit !== undefined && matching.length > limit) {
      const last = page[page.length - 1]!;
      body.metadata.continue = encodeContinue({ v: 'meta.k8s.io/v1', rv: snapshotRv, start: objectKey(last.metadata.namespace, last.metadata.name!) + '\u0000' });
      if (selector.empty) body.metadata.remainingItemCount = matching.length - limit;
    }
    return body;
  }

  private listBody(type: ResourceType, version: string, items: KubeObject[], rv: number) {
    return {
      kind: `${type.kind}List`,
      apiVersion: apiVersionOf(type.group, version),
      metadata: { resourceVersion: String(rv) } as { resourceVersion: string; continue?: string; remainingItemCount?: number },
      items: items.map((o) => render(type, version, o)),
    };
  }
}

const methodNotAllowed = () => new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');

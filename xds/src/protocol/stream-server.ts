import { performance } from 'node:perf_hooks';
import type * as grpc from '@grpc/grpc-js';
import type { CallbackChain, ResponseEvent } from '../callbacks/callbacks.js';
import { debugEnabled, type XdsLogger } from '../logger.js';
import { proxyFromNode, type NodeObject, type XdsProxy } from '../proxy.js';
import type { EncodedResource } from '../resources/encoded.js';
import { RESOURCE_TYPES } from '../resources/index.js';
import type { TypeState } from './ack.js';
import type { ResourceSource } from './source.js';
import { SubscriptionIndex } from './subscription-index.js';
import { orderTypes, proxyStatus, typeStatus, XdsStream, type ProxyStatus, type TypeStatus } from './stream.js';

/** What both protocols keep per stream and type. */
export interface StreamTypeEntry {
  state: TypeState;
  /** Source epoch when this type was last generated for the stream (0: never). */
  evaluatedEpoch: number;
}

/** A stream of either protocol: the grpc call and the per-type entries. */
export interface ServerStream<Req, E extends StreamTypeEntry> extends XdsStream {
  readonly call: grpc.ServerDuplexStream<Req, Buffer>;
  readonly types: Map<string, E>;
}

/**
 * What the state-of-the-world and the delta servers share: the stream table, the grpc
 * call lifecycle, the push loop over changed types (CDS, EDS, LDS, RDS order), shutdown and
 * per-proxy status. Each protocol supplies how a request is handled and a response built.
 */
export abstract class StreamServer<Req, E extends StreamTypeEntry, S extends ServerStream<Req, E>> {
  protected readonly streams = new Map<string, S>();
  /** Who subscribes to what: a push visits the subscribers of what changed. */
  private readonly subscriptions = new SubscriptionIndex<S>();
  /** Streams with a type never generated yet (asked before the first snapshot): the next push answers them. */
  private readonly unanswered = new Set<S>();

  constructor(
    protected readonly source: ResourceSource,
    protected readonly callbacks: CallbackChain,
    protected readonly logger: XdsLogger,
    protected readonly controlPlaneId?: string,
    protected readonly nextStreamId: () => string = counter(),
  ) {}

  /** `''` for SotW, `'delta '` for delta: prefixes this server's log messages. */
  protected abstract readonly logLabel: string;
  protected abstract newStream(streamId: string, call: grpc.ServerDuplexStream<Req, Buffer>, fixedType: string | undefined): S;
  protected abstract onRequest(stream: S, req: Req): void;
  protected abstract respond(stream: S, typeUrl: string, entry: E, trigger: 'request' | 'push'): boolean;

  /** Whether a new snapshot may change what this type sends the stream. */
  protected shouldPush(proxy: XdsProxy, typeUrl: string, entry: E): boolean {
    return this.source.changedSince(proxy, typeUrl, entry.evaluatedEpoch, subscribedNames(entry.state));
  }

  /**
   * Whether a push goes on to respond for this type; a protocol whose respond checks the
   * subscribed names itself answers yes for those, so they are not gone over twice.
   */
  protected pushVisits(proxy: XdsProxy, typeUrl: string, entry: E): boolean {
    return this.shouldPush(proxy, typeUrl, entry);
  }

  /** The grpc-js handler of the aggregated service. */
  readonly handle = (call: grpc.ServerDuplexStream<Req, Buffer>): void => this.open(call, undefined);

  /** The handler of a single-type service (StreamClusters, DeltaClusters, ...): the stream serves `typeUrl` only. */
  handlerFor(typeUrl: string | undefined): (call: grpc.ServerDuplexStream<Req, Buffer>) => void {
    return (call) => this.open(call, typeUrl);
  }

  get streamCount(): number {
    return this.streams.size;
  }

  private open(call: grpc.ServerDuplexStream<Req, Buffer>, fixedType: string | undefined): void {
    const stream = this.newStream(this.nextStreamId(), call, fixedType);
    this.streams.set(stream.streamId, stream);
    this.callbacks.emit('onStreamOpen', stream);
    call.on('data', (req: Req) => {
      try {
        this.onRequest(stream, req);
      } catch (err) {
        this.logger.error({ proxy: stream.proxy?.id, err: String(err) }, `${this.logLabel}xDS request handling failed`);
      }
    });
    call.on('end', () => {
      this.close(stream);
      call.end();
    });
    call.on('cancelled', () => this.close(stream));
    call.on('error', (err: Error) => {
      this.logger.debug({ proxy: stream.proxy?.id, err: err.message }, `${this.logLabel}xDS stream error`);
      this.close(stream);
    });
    call.on('close', () => this.close(stream));
  }

  /**
   * Keeps the subscription index in step with a stream's type entry; the protocol servers
   * call it after every request has updated the entry.
   */
  /**
   * What every request goes through first, in both protocols: the proxy from the node
   * (clients send it in a stream's first request only), then the type the request is for.
   * Returns undefined for a request to ignore (no type, or another type on a single-type
   * stream), after saying why.
   */
  protected begin(stream: S, node: NodeObject | null | undefined, requestType: string | undefined): { proxy: XdsProxy; typeUrl: string } | undefined {
    if (!stream.proxy) {
      stream.proxy = proxyFromNode(node);
      this.logger.info(
        { proxy: stream.proxy.id, generator: stream.proxy.generator, peer: stream.peer, userAgent: stream.proxy.userAgent, protocol: stream.protocol },
        'xDS stream opened',
      );
    }
    const proxy = stream.proxy;
    const typeUrl = requestType || stream.fixedType || '';
    if (!typeUrl) {
      this.logger.warn({ proxy: proxy.id }, `${this.logLabel}xDS request without type_url ignored`);
      return undefined;
    }
    if (stream.fixedType && typeUrl !== stream.fixedType) {
      this.logger.warn({ proxy: proxy.id, type: typeUrl, serves: stream.fixedType }, `${this.logLabel}xDS request for another type on a single-type stream ignored`);
      return undefined;
    }
    return { proxy, typeUrl };
  }

  protected track(stream: S, typeUrl: string, entry: E): void {
    if (stream.closed || !stream.proxy) return;
    this.subscriptions.set(stream, stream.proxy.generator, typeUrl, subscribedNames(entry.state));
    if (entry.evaluatedEpoch === 0) this.unanswered.add(stream);
  }

  /**
   * Pushes what a new snapshot changed, per stream in the order CDS, EDS, LDS, RDS. Only
   * the subscribers of names the change may reach are visited (the source tells which, per
   * kind of proxy and type), plus wildcard subscribers and types never answered; a stream
   * the change cannot reach is not touched at all, so the cost follows the change, not the
   * number of proxies. Each visited type is still checked (shouldPush) before generating.
   */
  pushAll(startedAt = performance.now()): void {
    for (const [stream, types] of this.dueStreams()) this.pushStream(stream, types, startedAt);
  }

  /** The streams a new snapshot may change, with the types to look at (pushAll's first half). */
  dueStreams(): Map<S, string[]> {
    // (Arrays: a stream is due for one or two types, and a round lists thousands of streams.)
    const due = new Map<S, string[]>();
    const add = (stream: S, typeUrl: string) => {
      const types = due.get(stream);
      if (!types) due.set(stream, [typeUrl]);
      else if (!types.includes(typeUrl)) types.push(typeUrl);
    };
    for (const group of this.subscriptions.all()) {
      for (const stream of group.wildcard) add(stream, group.typeUrl);
      if (group.byName.size === 0) continue;
      const reached = this.source.changedNames(group.generator, group.typeUrl, group);
      const names = reached ?? group.byName.keys();
      for (const name of names) for (const stream of group.byName.get(name) ?? []) add(stream, group.typeUrl);
    }
    for (const stream of this.unanswered) {
      for (const [typeUrl, entry] of stream.types) if (entry.evaluatedEpoch === 0) add(stream, typeUrl);
    }
    this.unanswered.clear();
    return due;
  }

  /** Pushes one due stream (pushAll's second half); a stream closed meanwhile is skipped. */
  pushStream(stream: S, types: readonly string[], startedAt: number): void {
    const proxy = stream.proxy;
    if (!proxy || stream.closed) return;
    let pushed = false;
    for (const typeUrl of orderTypes(types)) {
      const entry = stream.types.get(typeUrl);
      if (!entry) continue;
      if (!this.pushVisits(proxy, typeUrl, entry)) {
        entry.evaluatedEpoch = this.source.epoch;
        continue;
      }
      if (this.respond(stream, typeUrl, entry, 'push')) pushed = true;
    }
    if (pushed) this.callbacks.emit('onPushComplete', stream, (performance.now() - startedAt) / 1000);
  }

  /**
   * The resources of `typeUrl` for the stream's subscription (`names`; undefined: all),
   * and the entry marked evaluated at this epoch. A type no generator serves for this
   * proxy gets none, with a warning once per stream and type.
   */
  protected generate(stream: S, typeUrl: string, entry: E, names: ReadonlySet<string> | undefined): readonly EncodedResource[] {
    const proxy = stream.proxy!;
    const resources = this.source.resources(proxy, typeUrl, names);
    entry.evaluatedEpoch = this.source.epoch;
    if (!resources && !stream.warned?.has(typeUrl)) {
      (stream.warned ??= new Set()).add(typeUrl);
      this.logger.warn(
        { proxy: proxy.id, type: typeUrl, generator: proxy.generator, known: RESOURCE_TYPES.has(typeUrl) },
        'no generator for this type and proxy: answering with no resources',
      );
    }
    return resources ?? [];
  }

  /** Writes one response; false, with the stream closed, when the client went away between its last request and now. */
  protected write(stream: S, body: Buffer): boolean {
    try {
      stream.call.write(body);
      return true;
    } catch (err) {
      this.logger.debug({ proxy: stream.proxy?.id, err: String(err) }, `${this.logLabel}xDS write failed`);
      this.close(stream);
      return false;
    }
  }

  /** Reports a response written (after the stream's state took it in): onResponse, and a debug line with `detail`. */
  protected reportSent(event: ResponseEvent, detail: Record<string, unknown>): void {
    this.callbacks.emit('onResponse', event);
    if (debugEnabled(this.logger)) {
      const { stream, typeUrl, version, nonce, resources, trigger } = event;
      this.logger.debug({ proxy: stream.proxy?.id, type: typeUrl, version, nonce, resources, trigger, ...detail }, `${this.logLabel}xDS response sent`);
    }
  }

  /** Ends every stream (server shutdown). */
  closeAll(): void {
    for (const stream of [...this.streams.values()]) {
      this.close(stream);
      try {
        stream.call.end();
      } catch {
        // Already gone.
      }
    }
  }

  status(): ProxyStatus[] {
    return [...this.streams.values()]
      .filter((s) => s.proxy)
      .map((s) => {
        const types: Record<string, TypeStatus> = {};
        for (const [typeUrl, { state }] of s.types) types[typeUrl] = typeStatus(typeUrl, state);
        return proxyStatus(s, s.proxy!, types);
      });
  }

  protected close(stream: S): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.streamId);
    this.subscriptions.remove(stream);
    this.unanswered.delete(stream);
    this.callbacks.emit('onStreamClosed', stream);
    this.logger.info({ proxy: stream.proxy?.id, peer: stream.peer, protocol: stream.protocol }, 'xDS stream closed');
  }
}

/** The names a stream subscribed to a type by, or undefined for a wildcard subscription. */
export function subscribedNames(state: TypeState): ReadonlySet<string> | undefined {
  return state.wildcard ? undefined : state.names;
}

/** Stream ids `1`, `2`, ...: pass one counter to several servers so ids stay unique across them. */
export function counter(): () => string {
  let n = 0;
  return () => `${++n}`;
}

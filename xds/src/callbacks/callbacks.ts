import type { XdsLogger } from '../logger.js';
import type { RequestKind } from '../protocol/ack.js';
import type { XdsProxy } from '../proxy.js';

export interface StreamInfo {
  readonly streamId: string;
  /** Known from the stream's first request on. */
  readonly proxy: XdsProxy | undefined;
  readonly peer: string;
  readonly connectedAt: Date;
}

export interface NackEvent {
  readonly stream: StreamInfo;
  readonly proxyId: string;
  readonly typeUrl: string;
  readonly nonce: string;
  /** The version the client refused. */
  readonly rejectedVersion?: string;
  /** The last version the client accepted for the type (empty: none). */
  readonly acceptedVersion?: string;
  readonly errorDetail: { readonly code: number; readonly message: string };
}

export interface ResponseEvent {
  readonly stream: StreamInfo;
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  readonly resources: number;
  readonly bytes: number;
  /** `request`: answers a request; `push`: follows a new snapshot. */
  readonly trigger: 'request' | 'push';
}

/**
 * Hooks around the protocol server (go-control-plane's callbacks): metrics, status
 * reporting, auth or NACK backoff plug in here without touching the protocol code.
 */
export interface XdsCallbacks {
  onStreamOpen?(stream: StreamInfo): void;
  onStreamClosed?(stream: StreamInfo): void;
  onRequest?(stream: StreamInfo, typeUrl: string, kind: RequestKind): void;
  onResponse?(event: ResponseEvent): void;
  onNack?(event: NackEvent): void;
  /** A snapshot's push to one stream is written; `seconds` since the snapshot arrived. */
  onPushComplete?(stream: StreamInfo, seconds: number): void;
}

type Hook = keyof XdsCallbacks;

/** Calls every registered callback in order; one that throws is logged and cannot break a stream. */
export class CallbackChain {
  private readonly list: XdsCallbacks[] = [];

  constructor(private readonly logger: XdsLogger) {}

  add(callbacks: XdsCallbacks): () => void {
    this.list.push(callbacks);
    return () => {
      const at = this.list.indexOf(callbacks);
      if (at >= 0) this.list.splice(at, 1);
    };
  }

  emit<H extends Hook>(hook: H, ...args: Parameters<NonNullable<XdsCallbacks[H]>>): void {
    // A callback may remove itself while called: iterate a snapshot when there is more than one.
    const list = this.list.length === 1 ? this.list : [...this.list];
    for (const cb of list) {
      const fn = cb[hook] as ((...a: unknown[]) => void) | undefined;
      if (!fn) continue;
      try {
        fn.apply(cb, args);
      } catch (err) {
        this.logger.error({ hook, err: String(err) }, 'xDS callback failed');
      }
    }
  }
}

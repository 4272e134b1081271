import { BlockingQuery, type BlockingQueryEvents } from '@isthmus/core';
import { ConsulRequestError, type ConsulClient, type ConsulResponse } from './consul-client.js';
import type { ConsulTuning } from './options.js';
import type { TokenBucket } from './rate-limit.js';

/** What a watch reports besides values (see BlockingQueryEvents in core). */
export type WatchEvents<T> = BlockingQueryEvents<T, ConsulResponse, ConsulRequestError>;

export interface BlockingWatchOptions<T> {
  readonly client: ConsulClient;
  readonly path: string;
  readonly query?: Readonly<Record<string, string | true>>;
  /** Turns a response into a value; throws a ConsulRequestError (`http` or `invalid`) when it is not one. */
  readonly decode: (response: ConsulResponse) => T;
  readonly tuning: ConsulTuning;
  /** This watch's own bucket. */
  readonly bucket: TokenBucket;
  /** The bucket shared by every watch of an adapter. */
  readonly shared?: TokenBucket;
  readonly events: WatchEvents<T>;
  readonly random?: () => number;
}

/**
 * One Consul blocking query, kept running: core's BlockingQuery (the documented client
 * rules: reset on a backwards index, index ≥ 1, token buckets, backoff, timeout past
 * wait + wait/16) reading `path` through the ConsulClient, with `?index=&wait=`, and
 * re-reading the token file after a 403.
 */
export class BlockingWatch<T> extends BlockingQuery<T, ConsulResponse, ConsulRequestError> {
  constructor(o: BlockingWatchOptions<T>) {
    // The first read after a failure does not block: a blocking read on the last index
    // only answers at the next change or after `wait` (60 s), and until then nobody
    // could tell that Consul is back.
    const state = { failing: false };
    super({
      read: ({ index, waitMs, timeoutMs, signal }) => {
        const blocking = index > 0 && !state.failing;
        return o.client.get(
          o.path,
          blocking ? { ...o.query, index: String(index), wait: `${Math.max(1, Math.round(waitMs))}ms` } : { ...o.query },
          { signal, timeoutMs: blocking ? timeoutMs : Math.min(timeoutMs, o.tuning.requestTimeoutMs) },
        );
      },
      decode: o.decode,
      toError: (err) =>
        err instanceof ConsulRequestError ? err : new ConsulRequestError('invalid', `GET ${o.path}: ${String((err as Error)?.message ?? err)}`),
      // A rotated token shows as 403, or as answers filtered to nothing: re-read the token file.
      afterError: (error) => (error.status === 403 || error.kind === 'acl' ? o.client.refreshToken() : undefined),
      tuning: o.tuning,
      bucket: o.bucket,
      ...(o.shared ? { shared: o.shared } : {}),
      events: {
        onValue: (value, res) => o.events.onValue(value, res),
        onError: (error, consecutive) => {
          state.failing = true;
          o.events.onError(error, consecutive);
        },
        onRecovered: () => {
          state.failing = false;
          o.events.onRecovered?.();
        },
        onIndexReset: (from, to) => o.events.onIndexReset?.(from, to),
        onBadIndex: (raw) => o.events.onBadIndex?.(raw),
      },
      ...(o.random ? { random: o.random } : {}),
    });
  }
}

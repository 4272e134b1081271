import type { ConsulTuning } from '../src/options.js';

/** Short waits, timeouts and backoff so tests run fast; the logic is that of the defaults. */
export const FAST: ConsulTuning = {
  waitMs: 1000,
  timeoutMarginMs: 300,
  requestTimeoutMs: 1000,
  perWatchRate: { burst: 2, perSecond: 20 },
  globalRate: { burst: 100, perSecond: 100 },
  backoffBaseMs: 20,
  backoffMaxMs: 200,
  staleReportIntervalMs: 100,
};

export { captureLogger, eventually, type LogLine } from '../../../test/support/adapter-helpers.js';

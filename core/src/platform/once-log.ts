import type { Logger } from '../logging.js';

/** Logs a message at most once per key: `logOnce(key, level, fields, message)`. */
export type OnceLog = (key: string, level: 'warn' | 'info' | 'debug', fields: object, message: string) => void;

/**
 * A platform adapter's log for things that repeat on every read (a note on a service, a
 * server without a leader): each key once, tagged with the source. Past 10,000 keys it
 * starts over, so a long-running adapter neither grows without bound nor goes silent.
 */
export function onceLog(logger: Logger | undefined, source: string): OnceLog {
  const seen = new Set<string>();
  return (key, level, fields, message) => {
    if (seen.has(key)) return;
    if (seen.size > 10_000) seen.clear();
    seen.add(key);
    logger?.[level]({ source, ...fields }, message);
  };
}

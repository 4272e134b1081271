import { pino } from 'pino';

/** The structured logger every component takes (pino's shape, so tests can pass pino too). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const LoggerToken = Symbol.for('isthmus.Logger');

/** JSON logs to stderr (stdout stays free for command output). `ISTHMUS_LOG_LEVEL` sets the level. */
export function createLogger(level = process.env.ISTHMUS_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const noop = () => {};

/** The logging calls the xDS server makes (pino's shape; core's Logger fits). */
export interface XdsLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** pino's: lets hot paths skip building a message nobody logs. */
  isLevelEnabled?(level: string): boolean;
}

/** Whether debug messages are logged (true for loggers that cannot tell). */
export function debugEnabled(logger: XdsLogger): boolean {
  return logger.isLevelEnabled ? logger.isLevelEnabled('debug') : logger.debug !== noop;
}

export const silentXdsLogger: XdsLogger = { debug: noop, info: noop, warn: noop, error: noop };

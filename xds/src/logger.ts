/** The logging calls the xDS server makes (pino's shape; core's Logger fits). */
export interface XdsLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = () => {};
export const silentXdsLogger: XdsLogger = { debug: noop, info: noop, warn: noop, error: noop };

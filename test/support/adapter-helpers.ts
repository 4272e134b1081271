import type { Logger } from '@isthmus/core';

// Helpers the platform adapters' own tests share (adapters/*/test).

/** Polls `cond` until it holds (returns its value) or fails after `timeoutMs`. */
export async function eventually<T>(what: string, cond: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

/** A Logger that keeps every line, to check what operators are told. */
export function captureLogger(lines: LogLine[] = []): Logger & { lines: LogLine[] } {
  const make = (bindings: Record<string, unknown>): Logger & { lines: LogLine[] } => {
    const at = (level: string) => (obj: object, msg = '') => {
      lines.push({ level, obj: { ...bindings, ...(obj as Record<string, unknown>) }, msg });
    };
    return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => make({ ...bindings, ...b }) };
  };
  return make({});
}

/**
 * Durations as Istio writes them (Go `time.ParseDuration` syntax, which Istio's CRDs and
 * istioctl accept): `1.5s`, `300ms`, `1m`, `1h`, `1h30m`, `250us`. Only `0` may omit the unit.
 */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

export const DURATION_HINT = 'use e.g. "1.5s", "300ms", "1m", "1h"';

/** Parses a duration into milliseconds (fractional for sub-millisecond units), or undefined. */
export function tryParseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  if (s === '') return undefined;
  let rest = s;
  let total = 0;
  while (rest !== '') {
    const m = PART.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/**
 * Parses a duration (`1.5s`, `300ms`, `1m`, `1h`, `1h30m`) into milliseconds.
 * Throws with a message naming the value and the accepted form.
 */
export function parseDuration(s: string): number {
  const ms = tryParseDuration(s);
  if (ms === undefined) throw new Error(`invalid duration ${JSON.stringify(s)} (${DURATION_HINT})`);
  return ms;
}

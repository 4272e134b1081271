import type { JsonObject } from '../resources/resource-type.js';

/** protobufjs object form of google.protobuf.Duration. */
export function durationFromMs(ms: number): { seconds: number; nanos: number } {
  const whole = Math.floor(ms / 1000);
  return { seconds: whole, nanos: Math.round((ms - whole * 1000) * 1e6) };
}

/** ConfigSource pointing back to the ADS stream: the only kind gRPC clients accept. */
export function adsConfigSource(): JsonObject {
  return { ads: {}, resource_api_version: 'V3' };
}

/** A 0–100 percentage (fractions allowed) as FractionalPercent per million. */
export function fractionalPercent(percent: number): { numerator: number; denominator: string } {
  const clamped = Math.min(100, Math.max(0, percent));
  return { numerator: Math.round(clamped * 10_000), denominator: 'MILLION' };
}

import { type Command, InvalidArgumentError } from 'commander';
import { parseDurationMs } from './nats-flags.js';

/** When the engine builds (core's BuildPolicy), as `serve`, `serve --nats` and `xds` take it. */
export interface BuildPolicyFlags {
  readonly debounceMs: number;
  readonly maxDelayMs: number;
  readonly debounceLeadingEdge: boolean;
  readonly endpointIntervalMs: number;
  readonly endpointBuildShare: number;
}

/** A share of time, 0.01 to 1 (`--endpoint-build-share`). */
export function parseShare(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.01 || n > 1) throw new InvalidArgumentError(`"${value}" is not a share of time between 0.01 and 1`);
  return n;
}

/** The build-policy options, the same on every command that runs the engine. Durations take ms, s, m or h (plain numbers are ms). */
export function withBuildPolicyOptions(cmd: Command): Command {
  return cmd
    .option('--debounce-ms <ms>', 'quiet period before a burst of changes is pushed', parseDurationMs, 100)
    .option('--max-delay-ms <ms>', 'longest a change waits during a continuous burst', parseDurationMs, 1000)
    .option('--no-debounce-leading-edge', 'debounce every config change, also one on a quiet mesh (Istio\'s behaviour; default: such a change is built at once)')
    .option('--endpoint-interval-ms <ms>', 'least time between two builds for endpoint-only changes', parseDurationMs, 0)
    .option('--endpoint-build-share <share>', 'largest share of time (0.01-1) builds for endpoint-only changes may take; they are paced to it', parseShare, 0.25);
}

/** The build policy out of a command's parsed options (for MeshRuntime). */
export function buildPolicyFromFlags(f: BuildPolicyFlags): BuildPolicyFlags {
  return {
    debounceMs: f.debounceMs,
    maxDelayMs: f.maxDelayMs,
    debounceLeadingEdge: f.debounceLeadingEdge,
    endpointIntervalMs: f.endpointIntervalMs,
    endpointBuildShare: f.endpointBuildShare,
  };
}

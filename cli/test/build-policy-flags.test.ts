import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildPolicyFromFlags, type BuildPolicyFlags } from '../src/commands/build-policy-flags.js';
import { serveCommand } from '../src/commands/serve.js';
import { xdsCommand } from '../src/commands/xds.js';

/** Parses `args` with the command's options only (its action is never run). */
function parsed(cmd: Command, args: string[]): BuildPolicyFlags {
  cmd.exitOverride();
  cmd.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  cmd.action(() => undefined);
  cmd.parse(args, { from: 'user' });
  return buildPolicyFromFlags(cmd.opts<BuildPolicyFlags>());
}

const NATS = ['--nats', 'nats://127.0.0.1:4222'];

describe('build-policy flags (serve, serve --nats, xds)', () => {
  it('have the same defaults on every command that runs the engine', () => {
    const expected = { debounceMs: 100, maxDelayMs: 1000, debounceLeadingEdge: true, endpointIntervalMs: 0, endpointBuildShare: 0.25 };
    expect(parsed(serveCommand(), [])).toEqual(expected);
    expect(parsed(xdsCommand(), NATS)).toEqual(expected);
  });

  it('take durations with units on both commands, plain numbers as milliseconds', () => {
    const args = ['--debounce-ms', '50ms', '--max-delay-ms', '2s', '--endpoint-interval-ms', '5', '--endpoint-build-share', '0.5', '--no-debounce-leading-edge'];
    const expected = { debounceMs: 50, maxDelayMs: 2000, debounceLeadingEdge: false, endpointIntervalMs: 5, endpointBuildShare: 0.5 };
    expect(parsed(serveCommand(), args)).toEqual(expected);
    expect(parsed(xdsCommand(), [...NATS, ...args])).toEqual(expected);
  });

  it('refuse a share outside 0.01-1 and a duration that is not one, naming the value', () => {
    expect(() => parsed(serveCommand(), ['--endpoint-build-share', '2'])).toThrow(/"2" is not a share of time between 0.01 and 1/);
    expect(() => parsed(xdsCommand(), [...NATS, '--debounce-ms', 'soon'])).toThrow(/"soon" is not a duration/);
    expect(() => parsed(serveCommand(), ['--max-delay-ms', '-1'])).toThrow(/"-1" is not a duration/);
  });
});

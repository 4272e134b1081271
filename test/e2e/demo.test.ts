import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freePort, ROOT } from '../support/process.js';

// Keeps the README's first command honest: the demo runs its three steps and exits 0.
describe('npm run demo', () => {
  it('shows the canary split, the header route and a live edit converging', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const [xds, http, v1, v2] = ports.map(String) as [string, string, string, string];
    const proc = spawn(
      process.execPath,
      ['examples/canary/demo.mjs', '--once', '--xds-port', xds, '--http-port', http, '--v1-port', v1, '--v2-port', v2],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
    expect(code, out).toBe(0);
    expect(out).toContain('1. canary release');
    expect(out).toMatch(/x-device: iphone +v1 +0\.0% +v2 100\.0%/);
    expect(out).toMatch(/converged in \d+ ms: v1 +0\.0% +v2 100\.0%/);
  }, 120_000);
});

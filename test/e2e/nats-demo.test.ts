import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/process.js';

// Keeps `npm run demo:federated` honest: NATS, two runtimes, two xDS replicas and their
// clients come up, traffic lands in both runtimes, and an applied 95/5 split holds on both.
describe('npm run demo:federated', () => {
  it('shows traffic in both runtimes, then the applied 95/5 split on both replicas', async () => {
    const proc = spawn(process.execPath, ['examples/federated/demo.mjs', '--once'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
    expect(code, out).toBe(0);
    // npm test builds the simulators (build:sims), so the demo runs on Consul and Nomad.
    expect(out).toMatch(/runtime A: Consul datacenter dc1/);
    expect(out).toMatch(/runtime B: Nomad region global/);
    expect(out).toMatch(/\[xds-1\] call \d → runtime-[ab] at 127\.0\.0\.1:\d+/);
    const splits = [...out.matchAll(/\[(xds-[12])\] (\d+) calls: runtime-a +([\d.]+)% +runtime-b +([\d.]+)%/g)];
    expect(splits).toHaveLength(4);
    // Round robin first: both runtimes get traffic from both replicas.
    for (const m of splits.slice(0, 2)) expect(Number(m[4])).toBeGreaterThan(10);
    // After `isthmus apply`: 95/5 on both (1000 calls: 5% ± 3 points is over 4 sd).
    for (const m of splits.slice(2)) expect(Math.abs(Number(m[4]) - 5)).toBeLessThanOrEqual(3);
    expect(out).toContain('identical: a proxy may switch replicas without a push');
  }, 180_000);
});

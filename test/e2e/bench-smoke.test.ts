import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/process.js';

// Keeps `npm run bench` runnable: the smallest run (a few proxies and services, seconds)
// writes its JSON with the fields issue 8 asks for. Asserts shape only, never timings.
describe('bench --quick --smoke', () => {
  const out = mkdtempSync(join(tmpdir(), 'isthmus-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs W1, W2, W3 (Isthmus and the floor, SotW and delta) and W6, and writes the results JSON', async () => {
    const proc = spawn(process.execPath, ['bench/run.mjs', '--quick', '--smoke', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
    expect(code, log).toBe(0);

    const files = readdirSync(out);
    for (const s of ['W1', 'W2', 'W3', 'W6']) expect(files.some((f) => f.endsWith(`-${s}.json`)), files.join(', ')).toBe(true);
    const latest = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(latest.quick).toBe(true);
    expect(latest.machine).toMatchObject({ cores: expect.any(Number), memoryBytes: expect.any(Number), node: process.version });
    const fields = ['scenario', 'mode', 'proxies', 'services', 'endpointsPerService', 'p50Ms', 'p99Ms', 'maxMs',
      'rssPerProxyBytes', 'bytesPerChangePerProxy', 'cpuSecondsPerChange', 'floorRatio'];
    for (const row of latest.rows) for (const f of fields) expect(row, `${row.scenario} ${f}`).toHaveProperty(f);
    const scenarios = new Set(latest.rows.map((r: { scenario: string }) => r.scenario));
    expect([...scenarios].sort()).toEqual(['W1', 'W2', 'W3', 'W6']);
    type Row = { scenario: string; server: string; mode: string; missedUpdates?: number; floorCpuRatio?: number; generatorCpuSeconds?: number };
    for (const mode of ['sotw', 'delta']) {
      const w2 = latest.rows.find((r: Row) => r.scenario === 'W2' && r.server === 'isthmus' && r.mode === mode);
      expect(w2, mode).toBeDefined();
      expect(w2.missedUpdates, mode).toBe(0);
      // The floor speaks both protocols: every Isthmus W2 row has a same-run floor row and CPU ratio.
      const floor = latest.rows.find((r: Row) => r.scenario === 'W2' && r.server === 'floor' && r.mode === mode);
      expect(floor?.missedUpdates, `${mode} floor`).toBe(0);
      expect(w2.floorCpuRatio, mode).toEqual(expect.any(Number));
      const w1 = latest.rows.find((r: Row) => r.scenario === 'W1' && r.server === 'isthmus' && r.mode === mode);
      expect(w1?.generatorCpuSeconds, `${mode} W1 generator CPU`).toEqual(expect.any(Number));
    }
  }, 120_000);
});

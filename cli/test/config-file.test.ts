import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyConfigFile } from '../src/config-file.js';

describe('--config files and negatable flags', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isthmus-config-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const command = () =>
    new Command('serve').option('--no-debounce-leading-edge', 'debounce every config change').option('--debounce-ms <ms>', 'quiet', Number, 100);

  it.each([
    ['debounce-leading-edge: false', false],
    ['debounceLeadingEdge: false', false],
    ['no-debounce-leading-edge: true', false],
    ['no-debounce-leading-edge: false', true],
    ['debounce-leading-edge: true', true],
    ['debounce-ms: 20', true],
  ])('%s → leading edge %s', async (yaml, expected) => {
    const file = join(dir, 'isthmus.yaml');
    await writeFile(file, `${yaml}\n`);
    const cmd = command();
    applyConfigFile(cmd, file);
    expect(cmd.getOptionValue('debounceLeadingEdge')).toBe(expected);
  });

  it('the command line wins over the file', async () => {
    const file = join(dir, 'on.yaml');
    await writeFile(file, 'debounce-leading-edge: true\n');
    const cmd = command();
    cmd.parse(['--no-debounce-leading-edge'], { from: 'user' });
    applyConfigFile(cmd, file);
    expect(cmd.getOptionValue('debounceLeadingEdge')).toBe(false);
  });
});

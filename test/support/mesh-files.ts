import { cp, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './process.js';

/**
 * Copies an example directory to a temp dir, pointing the greeter endpoints (50061/50062
 * in the examples) at the ports the test's backends really listen on.
 */
export async function copyExample(example: string, ports: { v1: number; v2: number }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `isthmus-${example.replace(/\W/g, '-')}-`));
  await cp(join(ROOT, 'examples', example), dir, { recursive: true, filter: (src) => !src.endsWith('.mjs') });
  const services = join(dir, 'services.yaml');
  const text = await readFile(services, 'utf8');
  await writeFile(services, text.replace('grpc: 50061', `grpc: ${ports.v1}`).replace('grpc: 50062', `grpc: ${ports.v2}`));
  return dir;
}

/** Replaces a file the way editors and config tools do: write a temp file, rename over. */
export async function replaceAtomically(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfigText, type ConfigIssue, type SourcedObject } from '@isthmus/core';
import { isConfigFileName, isEditorTempName } from '@isthmus/adapter-static';

/** Expands files and directories (their *.yaml, *.yml, *.json) in a stable order. `-` is stdin. */
export async function expandPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push(p);
      continue;
    }
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new Error(`${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      // The same files `serve --static` would read from this directory.
      const names = (await readdir(p)).filter((n) => isConfigFileName(n) && !isEditorTempName(n)).sort();
      out.push(...names.map((n) => join(p, n)));
    } else {
      out.push(p);
    }
  }
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads and parses every file; parse problems come back as issues, never thrown. */
export async function readConfigFiles(paths: readonly string[]): Promise<{ objects: SourcedObject[]; issues: ConfigIssue[]; files: number }> {
  const files = await expandPaths(paths);
  const objects: SourcedObject[] = [];
  const issues: ConfigIssue[] = [];
  for (const file of files) {
    const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
    const parsed = parseConfigText(text, file === '-' ? '<stdin>' : file);
    objects.push(...parsed.objects);
    issues.push(...parsed.issues);
  }
  return { objects, issues, files: files.length };
}

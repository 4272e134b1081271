import { mkdir, readFile, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIssue, type ConfigIssue } from '@isthmus/core';
import { StaticConfigSource, type StaticConfigSourceOptions } from '../src/index.js';
import {
  atomicWrite,
  destinationRule,
  RecordingLogger,
  RecordingSink,
  tempDir,
  virtualService,
  waitFor,
} from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
const running: StaticConfigSource[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});

afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  await cleanup();
});

async function startSource(
  options: Partial<StaticConfigSourceOptions> & { paths: string[] },
  sink = new RecordingSink(),
): Promise<{ source: StaticConfigSource; sink: RecordingSink; logger: RecordingLogger }> {
  const logger = new RecordingLogger();
  const source = new StaticConfigSource({ logger, dirCheckIntervalMs: 50, ...options });
  running.push(source);
  await source.start(sink);
  return { source, sink, logger };
}

const p = (...parts: string[]) => path.join(dir, ...parts);

let settleCount = 0;
/**
 * Returns once every file event caused so far has been handled, so a test can assert that
 * something did NOT happen. Events are handled in order, and a directory event may
 * schedule a file read one debounce later: after two successive edits of a watched marker
 * file, each seen applied, everything before them has been handled.
 */
async function settle(sink: RecordingSink, marker: string): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const name = `settle-${++settleCount}`;
    await writeFile(marker, virtualService(name));
    await waitFor(() => expect(sink.names(marker)).toEqual([`VirtualService/${name}`]));
  }
}

describe('StaticConfigSource at start', () => {
  it('reads multi-document YAML, JSON and a directory, one part per file, then marks synced', async () => {
    await mkdir(p('conf'));
    await writeFile(p('conf', 'routes.yaml'), `${virtualService('a')}---\n${virtualService('b')}`);
    await writeFile(
      p('conf', 'rules.json'),
      JSON.stringify([JSON.parse(JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'dr' }, spec: { host: 'reviews' } }))]),
    );
    await writeFile(
      p('list.json'),
      JSON.stringify({ kind: 'List', items: [{ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'se' }, spec: { hosts: ['x.example.com'] } }] }),
    );
    const { sink, source } = await startSource({ paths: [p('conf'), p('list.json')] });

    expect(source.source).toBe('static');
    expect(sink.synced).toBe(true);
    expect(sink.events.at(-1)).toEqual({ type: 'synced' });
    expect(sink.names(p('conf', 'routes.yaml'))).toEqual(['VirtualService/a', 'VirtualService/b']);
    expect(sink.names(p('conf', 'rules.json'))).toEqual(['DestinationRule/dr']);
    expect(sink.names(p('list.json'))).toEqual(['ServiceEntry/se']);
    // Each object says which file and line it came from.
    expect(sink.parts.get(p('conf', 'routes.yaml'))!.map((o) => o.origin)).toEqual([
      `${p('conf', 'routes.yaml')}:1`,
      `${p('conf', 'routes.yaml')}:10`,
    ]);
  });

  it('names parts by the path as given, relative to cwd', async () => {
    await mkdir(p('conf'));
    await writeFile(p('conf', 'a.yaml'), virtualService('a'));
    await writeFile(p('conf', 'b.yaml'), virtualService('b'));
    await mkdir(p('other'));
    await writeFile(p('other', 'c.yaml'), virtualService('c'));

    // Relative as given; absolute under cwd shown relative; absolute elsewhere stays absolute.
    const { sink } = await startSource({ cwd: p('conf'), paths: ['./a.yaml', p('conf', 'b.yaml'), p('other')] });
    expect([...sink.parts.keys()].sort()).toEqual(['a.yaml', 'b.yaml', p('other', 'c.yaml')].sort());

    // Default cwd is the process's.
    const rel = path.relative(process.cwd(), p('other', 'c.yaml'));
    const second = await startSource({ paths: [rel] });
    expect([...second.sink.parts.keys()]).toEqual([rel]);
  });

  it('reads config files only: no dotfiles, editor scratch files or other extensions; a named file whatever its extension', async () => {
    await writeFile(p('mesh.yaml'), virtualService('a'));
    await writeFile(p('more.yml'), virtualService('b'));
    for (const name of ['.hidden.yaml', '.#mesh.yaml', 'mesh.yaml~', '.mesh.yaml.swp', 'notes.txt', '#mesh.yaml#']) {
      await writeFile(p(name), virtualService('ignored'));
    }
    await mkdir(p('extra'));
    await writeFile(p('extra', 'mesh.conf'), virtualService('named'));
    const { sink } = await startSource({ paths: [dir, p('extra', 'mesh.conf')] });
    expect([...sink.parts.keys()].sort()).toEqual([p('extra', 'mesh.conf'), p('mesh.yaml'), p('more.yml')].sort());
  });

  it('fails to start on a missing path, naming it, without calling the sink', async () => {
    await writeFile(p('mesh.yaml'), virtualService('a'));
    const sink = new RecordingSink();
    const source = new StaticConfigSource({ paths: [p('mesh.yaml'), p('nope.yaml')] });
    running.push(source);
    await expect(source.start(sink)).rejects.toThrow(`path ${p('nope.yaml')} does not exist`);
    expect(sink.events).toEqual([]);
  });

  it('reports a YAML syntax error with file and line, proposes nothing for that file, and still syncs', async () => {
    await writeFile(p('good.yaml'), virtualService('a'));
    await writeFile(p('bad.yaml'), 'apiVersion: v1\nkind: VirtualService\nmetadata: {name: x\n');
    const { sink, logger } = await startSource({ paths: [dir] });
    expect(sink.synced).toBe(true);
    expect(sink.proposals(p('bad.yaml'))).toEqual([]);
    const [reported] = sink.issues(p('bad.yaml'));
    expect(reported!.issues[0]!.source).toMatch(new RegExp(`^${escape(p('bad.yaml'))}:\\d+$`));
    expect(logger.lines.some((l) => l.level === 'error' && l.msg.includes(formatIssue(reported!.issues[0]!)))).toBe(true);
    expect(sink.names(p('good.yaml'))).toEqual(['VirtualService/a']);
  });
});

describe('StaticConfigSource watching', () => {
  it('applies an in-place edit', async () => {
    await writeFile(p('mesh.yaml'), virtualService('a'));
    const { sink, logger } = await startSource({ paths: [p('mesh.yaml')] });
    await writeFile(p('mesh.yaml'), virtualService('b'));
    await waitFor(() => expect(sink.names(p('mesh.yaml'))).toEqual(['VirtualService/b']));
    expect(logger.lines.some((l) => l.level === 'info' && l.msg.includes(`applied ${p('mesh.yaml')}`))).toBe(true);
  });

  it('applies the first, second and third atomic replace (write + rename) of a named file', async () => {
    await writeFile(p('mesh.yaml'), virtualService('v0'));
    const { sink } = await startSource({ paths: [p('mesh.yaml')] });
    for (const v of ['v1', 'v2', 'v3']) {
      await atomicWrite(p('mesh.yaml'), virtualService(v));
      await waitFor(() => expect(sink.names(p('mesh.yaml'))).toEqual([`VirtualService/${v}`]));
    }
    // And a plain edit after the replaces still applies.
    await writeFile(p('mesh.yaml'), virtualService('v4'));
    await waitFor(() => expect(sink.names(p('mesh.yaml'))).toEqual(['VirtualService/v4']));
  });

  it('applies repeated atomic replaces in a watched directory, whatever the temporary name', async () => {
    await writeFile(p('mesh.yaml'), virtualService('v0'));
    const { sink } = await startSource({ paths: [dir] });
    for (const [i, tmp] of ['mesh.yaml.tmp', '.mesh.yaml.new', 'tmp-123.yaml'].entries()) {
      await writeFile(p(tmp), virtualService(`v${i + 1}`));
      await rename(p(tmp), p('mesh.yaml'));
      await waitFor(() => expect(sink.names(p('mesh.yaml'))).toEqual([`VirtualService/v${i + 1}`]));
    }
    // The temporary file that was briefly a config file is gone again.
    await waitFor(() => expect(sink.parts.has(p('tmp-123.yaml'))).toBe(false));
  });

  it('picks up a new file in a watched directory', async () => {
    await writeFile(p('a.yaml'), virtualService('a'));
    const { sink } = await startSource({ paths: [dir] });
    await writeFile(p('b.yaml'), destinationRule('b'));
    await waitFor(() => expect(sink.names(p('b.yaml'))).toEqual(['DestinationRule/b']));
    await atomicWrite(p('c.json'), JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'c' }, spec: {} }));
    await waitFor(() => expect(sink.names(p('c.json'))).toEqual(['Sidecar/c']));
  });

  it('does not read other files that appear next to a named file', async () => {
    await writeFile(p('mesh.yaml'), virtualService('a'));
    const { sink } = await startSource({ paths: [p('mesh.yaml')] });
    await writeFile(p('other.yaml'), virtualService('other'));
    await settle(sink, p('mesh.yaml'));
    expect([...sink.parts.keys()]).toEqual([p('mesh.yaml')]);
  });

  it('withdraws a deleted file, and reads it again when it comes back', async () => {
    await writeFile(p('a.yaml'), virtualService('a'));
    await mkdir(p('named'));
    await writeFile(p('named', 'b.yaml'), virtualService('b'));
    const { sink, logger } = await startSource({ paths: [dir, p('named', 'b.yaml')] });

    await unlink(p('a.yaml'));
    await waitFor(() => expect(sink.withdrawals()).toEqual([p('a.yaml')]));
    expect(sink.parts.has(p('a.yaml'))).toBe(false);
    expect(logger.lines.some((l) => l.msg.includes(`withdrew ${p('a.yaml')}`))).toBe(true);

    await unlink(p('named', 'b.yaml'));
    await waitFor(() => expect(sink.withdrawals()).toEqual([p('a.yaml'), p('named', 'b.yaml')]));

    // Same content as before the deletion: it was withdrawn, so it is proposed again.
    await writeFile(p('named', 'b.yaml'), virtualService('b'));
    await waitFor(() => expect(sink.names(p('named', 'b.yaml'))).toEqual(['VirtualService/b']));
  });

  it('keeps the previous content when a file gets a YAML syntax error, and applies the fix', async () => {
    await writeFile(p('mesh.yaml'), virtualService('good'));
    const { sink, logger } = await startSource({ paths: [dir] });
    const broken = `${virtualService('a')}---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: b\n spec: {}\n`;
    await atomicWrite(p('mesh.yaml'), broken);

    const [reported] = await waitFor(() => {
      const r = sink.issues(p('mesh.yaml'));
      expect(r).toHaveLength(1);
      return r;
    });
    const first = reported!.issues[0]!;
    expect(first.severity).toBe('error');
    // File and line: the bad indentation on line 14, not the start of its document.
    const [, file, line] = /^(.*):(\d+)$/.exec(first.source)!;
    expect(file).toBe(p('mesh.yaml'));
    expect(Number(line)).toBe(14);
    expect(first.message).toMatch(/^invalid YAML/);
    const logged = logger.lines.find((l) => l.level === 'error');
    expect(logged!.msg).toContain(formatIssue(first));
    expect(logged!.msg).toContain('previous config stays in force');
    // Nothing proposed: the object set in force is the one from before.
    expect(sink.proposals(p('mesh.yaml'))).toHaveLength(1);
    expect(sink.names(p('mesh.yaml'))).toEqual(['VirtualService/good']);

    await atomicWrite(p('mesh.yaml'), virtualService('fixed'));
    await waitFor(() => expect(sink.names(p('mesh.yaml'))).toEqual(['VirtualService/fixed']));
  });

  it('proposes nothing when the content is unchanged', async () => {
    await writeFile(p('a.yaml'), virtualService('a'));
    await writeFile(p('marker.yaml'), virtualService('m0'));
    const { sink } = await startSource({ paths: [dir] });
    const content = await readFile(p('a.yaml'), 'utf8');

    await writeFile(p('a.yaml'), content);
    await atomicWrite(p('a.yaml'), content);
    await settle(sink, p('marker.yaml'));
    expect(sink.proposals(p('a.yaml'))).toHaveLength(1);
  });

  it('does not propose bad content twice, and logs a rejection by the sink with the formatted issues', async () => {
    // A sink that validates like the store: weights must be 100.
    const sink = new RecordingSink((objects) =>
      objects.flatMap((o): ConfigIssue[] => {
        const weight = (o.object.spec as { http: { route: { weight: number }[] }[] }).http[0]!.route[0]!.weight;
        return weight === 100
          ? []
          : [{ severity: 'error', source: o.origin, kind: o.object.kind, namespace: 'default', name: o.object.metadata.name, path: 'spec.http[0].route[0].weight', message: 'weights must sum to 100' }];
      }),
    );
    await writeFile(p('mesh.yaml'), virtualService('a'));
    await writeFile(p('marker.yaml'), virtualService('m0'));
    const { logger } = await startSource({ paths: [dir] }, sink);

    await atomicWrite(p('mesh.yaml'), virtualService('a', 'reviews', 90));
    await waitFor(() => expect(sink.proposals(p('mesh.yaml'))).toHaveLength(2));
    expect(sink.names(p('mesh.yaml'))).toEqual(['VirtualService/a']);
    const rejection = logger.lines.find((l) => l.level === 'error');
    expect(rejection!.msg).toContain(`${p('mesh.yaml')}:1:VirtualService/default/a: spec.http[0].route[0].weight: weights must sum to 100`);

    await writeFile(p('mesh.yaml'), virtualService('a', 'reviews', 90)); // same bad content again
    await settle(sink, p('marker.yaml'));
    expect(sink.proposals(p('mesh.yaml'))).toHaveLength(2);
  });

  it('reads a burst of writes once it settles', async () => {
    await writeFile(p('mesh.yaml'), virtualService('v0'));
    const { sink } = await startSource({ paths: [dir], debounceMs: 300 });
    for (let i = 1; i <= 20; i++) await writeFile(p('mesh.yaml'), virtualService(`v${i}`));
    await waitFor(() => expect(sink.names(p('mesh.yaml'))).toEqual(['VirtualService/v20']));
    expect(sink.proposals(p('mesh.yaml')).length).toBeLessThan(20);
  });

  it('keeps watching when the sink throws', async () => {
    await writeFile(p('mesh.yaml'), virtualService('a'));
    const sink = new RecordingSink((objects) => {
      if (objects.some((o) => o.object.metadata.name === 'boom')) throw new Error('sink exploded');
      return [];
    });
    const { logger } = await startSource({ paths: [dir] }, sink);
    await writeFile(p('mesh.yaml'), virtualService('boom'));
    await waitFor(() => expect(logger.lines.some((l) => l.level === 'error' && l.msg.includes('sink exploded'))).toBe(true));
    await writeFile(p('mesh.yaml'), virtualService('b'));
    await waitFor(() => expect(sink.names(p('mesh.yaml'))).toEqual(['VirtualService/b']));
  });

  it('makes no sink call after stop', async () => {
    await writeFile(p('mesh.yaml'), virtualService('a'));
    const { source, sink } = await startSource({ paths: [dir] });
    await writeFile(p('mesh.yaml'), virtualService('b')); // its debounce is pending now
    await source.stop();
    const seen = sink.events.length;
    // A second source on the same directory shows the change has been made and seen since.
    const second = await startSource({ paths: [dir] });
    expect(second.sink.names(p('mesh.yaml'))).toEqual(['VirtualService/b']);
    await writeFile(p('mesh.yaml'), virtualService('c'));
    await waitFor(() => expect(second.sink.names(p('mesh.yaml'))).toEqual(['VirtualService/c']));
    expect(sink.events.length).toBe(seen);
  });
});

describe('StaticConfigSource directories', () => {
  it('reads subdirectories only when recursive, skipping dot-directories, and follows new and removed ones', async () => {
    await writeFile(p('top.yaml'), virtualService('top'));
    await mkdir(p('sub', 'deeper'), { recursive: true });
    await writeFile(p('sub', 'a.yaml'), virtualService('a'));
    await writeFile(p('sub', 'deeper', 'b.yaml'), virtualService('b'));
    await mkdir(p('.git'));
    await writeFile(p('.git', 'c.yaml'), virtualService('c'));

    const flat = await startSource({ paths: [dir] });
    expect([...flat.sink.parts.keys()]).toEqual([p('top.yaml')]);

    const { sink } = await startSource({ paths: [dir], recursive: true });
    expect([...sink.parts.keys()].sort()).toEqual([p('sub', 'a.yaml'), p('sub', 'deeper', 'b.yaml'), p('top.yaml')].sort());

    await mkdir(p('sub', 'new'));
    await writeFile(p('sub', 'new', 'd.yaml'), virtualService('d'));
    await waitFor(() => expect(sink.names(p('sub', 'new', 'd.yaml'))).toEqual(['VirtualService/d']));
    // A file in a directory found at runtime is watched like the others.
    await atomicWrite(p('sub', 'new', 'd.yaml'), virtualService('d2'));
    await waitFor(() => expect(sink.names(p('sub', 'new', 'd.yaml'))).toEqual(['VirtualService/d2']));

    await rm(p('sub'), { recursive: true });
    await waitFor(() =>
      expect(sink.withdrawals().sort()).toEqual([p('sub', 'a.yaml'), p('sub', 'deeper', 'b.yaml'), p('sub', 'new', 'd.yaml')].sort()),
    );
    expect([...sink.parts.keys()]).toEqual([p('top.yaml')]);
  });

  it('reads a whole subdirectory of a recursive directory even when a file in it is also named', async () => {
    await mkdir(p('sub'));
    await writeFile(p('sub', 'a.yaml'), virtualService('a'));
    await writeFile(p('sub', 'b.yaml'), virtualService('b'));
    const { sink } = await startSource({ paths: [p('sub', 'a.yaml'), dir], recursive: true });
    expect([...sink.parts.keys()].sort()).toEqual([p('sub', 'a.yaml'), p('sub', 'b.yaml')]);
    await writeFile(p('sub', 'c.yaml'), virtualService('c'));
    await waitFor(() => expect(sink.names(p('sub', 'c.yaml'))).toEqual(['VirtualService/c']));
  });

  it('follows a Kubernetes ConfigMap mount update (..data symlink swap)', async () => {
    // The kubelet's layout: files are symlinks through `..data`, which is swapped atomically.
    await mkdir(p('cm', '..2024_01'), { recursive: true });
    await writeFile(p('cm', '..2024_01', 'mesh.yaml'), virtualService('v1'));
    await symlink('..2024_01', p('cm', '..data'));
    await symlink(path.join('..data', 'mesh.yaml'), p('cm', 'mesh.yaml'));
    const { sink } = await startSource({ paths: [p('cm')], recursive: true });
    expect([...sink.parts.keys()]).toEqual([p('cm', 'mesh.yaml')]);
    expect(sink.names(p('cm', 'mesh.yaml'))).toEqual(['VirtualService/v1']);

    await mkdir(p('cm', '..2024_02'));
    await writeFile(p('cm', '..2024_02', 'mesh.yaml'), virtualService('v2'));
    await symlink('..2024_02', p('cm', '..data_tmp'));
    await rename(p('cm', '..data_tmp'), p('cm', '..data'));
    await rm(p('cm', '..2024_01'), { recursive: true });
    await waitFor(() => expect(sink.names(p('cm', 'mesh.yaml'))).toEqual(['VirtualService/v2']));
    expect([...sink.parts.keys()]).toEqual([p('cm', 'mesh.yaml')]);
  });

  it('follows a directory replaced by a rename, and one deleted and created again', async () => {
    await mkdir(p('conf'));
    await writeFile(p('conf', 'a.yaml'), virtualService('a1'));
    await writeFile(p('conf', 'b.yaml'), virtualService('b1'));
    const { sink } = await startSource({ paths: [p('conf')] });

    await mkdir(p('conf.new'));
    await writeFile(p('conf.new', 'a.yaml'), virtualService('a2'));
    await rename(p('conf'), p('conf.old'));
    await rename(p('conf.new'), p('conf'));
    await waitFor(() => expect(sink.names(p('conf', 'a.yaml'))).toEqual(['VirtualService/a2']));
    await waitFor(() => expect(sink.withdrawals()).toEqual([p('conf', 'b.yaml')]));
    // The new directory is the one watched now.
    await writeFile(p('conf', 'c.yaml'), virtualService('c'));
    await waitFor(() => expect(sink.names(p('conf', 'c.yaml'))).toEqual(['VirtualService/c']));
    await writeFile(p('conf.old', 'x.yaml'), virtualService('x'));

    await rm(p('conf'), { recursive: true });
    await waitFor(() => expect(sink.parts.size).toBe(0));
    await mkdir(p('conf'));
    await writeFile(p('conf', 'a.yaml'), virtualService('a3'));
    await waitFor(() => expect(sink.names(p('conf', 'a.yaml'))).toEqual(['VirtualService/a3']));
    expect([...sink.parts.keys()]).toEqual([p('conf', 'a.yaml')]);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('StaticConfigSource first read', () => {
  it('goes to the store as one batch: a VirtualService and the DestinationRule defining its subsets, in any file order', async () => {
    const { ConfigStore, InMemoryBus } = await import('@isthmus/core');
    // Names chosen so that both orders occur across directories, whatever readdir returns.
    for (const [vsFile, drFile] of [
      ['a-routes.yaml', 'z-destinations.yaml'],
      ['z-routes.yaml', 'a-destinations.yaml'],
    ]) {
      const sub = p(vsFile.slice(0, 1));
      await mkdir(sub);
      const subsetRoute = [
        'apiVersion: networking.istio.io/v1',
        'kind: VirtualService',
        'metadata: {name: canary}',
        'spec:',
        '  hosts: [reviews]',
        '  http:',
        '  - route: [{destination: {host: reviews, subset: v1}, weight: 100}]',
        '',
      ].join('\n');
      await writeFile(path.join(sub, vsFile), subsetRoute);
      await writeFile(path.join(sub, drFile), destinationRule('reviews'));
      const bus = new InMemoryBus();
      const store = new ConfigStore(bus, { source: 'static' });
      const { logger } = await startSource({ paths: [sub] }, store as unknown as RecordingSink);
      expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([]);
      expect([...store.issues().values()].flat().filter((i) => i.severity === 'error')).toEqual([]);
      expect([...bus.config.entries()].map(([part]) => path.basename(part)).sort()).toEqual([drFile, vsFile].sort());
    }
  });
});

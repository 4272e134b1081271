import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli, startServe, waitFor } from '../support/process.js';

describe('isthmus CLI', () => {
  it.each(['serve', 'validate', 'convert', 'bootstrap'])('has --help for %s', async (cmd) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: isthmus ${cmd}`);
  });

  it.each(['examples/canary', 'examples/canary-routerule'])('validates %s without errors', async (dir) => {
    const r = await runCli(['validate', '-f', dir]);
    expect(r.stderr).not.toContain('error:');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\d+ object\(s\) in 2 file\(s\): 0 error\(s\)/);
  });

  it('lists every error with file, object and field, and exits 1', async () => {
    const r = await runCli(['validate', '-f', 'test/fixtures/bad-rules.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: test\/fixtures\/bad-rules\.yaml:\d+:VirtualService\/default\/bad-weights: spec\.http\[0\]\.route: .*100/);
    expect(r.stderr).toMatch(/error: test\/fixtures\/bad-rules\.yaml:\d+:Frobnicator\/default\/what: kind: /);
    expect(r.stderr).toContain('2 error(s)');
  });

  it('reads stdin with -f -', async () => {
    const r = await runCli(['validate', '-f', '-'], 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: [a], http: [{route: [{destination: {host: a}, weight: "ninety"}]}]}\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('<stdin>:1:VirtualService/default/x: spec.http[0].route[0].weight');
  });

  it('converts the article RouteRules into a VirtualService and a DestinationRule', async () => {
    const r = await runCli(['convert', '-f', 'examples/canary-routerule/route-rule.yaml']);
    expect(r.code, r.stderr).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    const vs = docs.find((d) => d.kind === 'VirtualService');
    const dr = docs.find((d) => d.kind === 'DestinationRule');
    expect(vs.apiVersion).toBe('networking.istio.io/v1');
    expect(dr.spec.subsets).toHaveLength(2);
    const split = vs.spec.http.at(-1).route.map((r: any) => r.weight);
    expect(split).toEqual([95, 5]);
  });

  it('prints a bootstrap that grpc-js accepts: node.id, node.locality, server features', async () => {
    const r = await runCli(['bootstrap', '--node-id', 'n1', '--generator', 'grpc', '--namespace', 'shop', '--labels', 'app=web,version=v2', '--xds-address', '10.1.2.3:15010']);
    expect(r.code, r.stderr).toBe(0);
    const b = parseYaml(r.stdout);
    expect(b.node.id).toBe('n1');
    expect(b.node.locality).toEqual({});
    expect(b.node.metadata).toMatchObject({ GENERATOR: 'grpc', NAMESPACE: 'shop', LABELS: { app: 'web', version: 'v2' } });
    expect(b.xds_servers[0].server_uri).toBe('10.1.2.3:15010');
    expect(b.xds_servers[0].channel_creds).toEqual([{ type: 'insecure' }]);
    expect(b.xds_servers[0].server_features).toEqual(expect.arrayContaining(['xds_v3', 'ignore_resource_deletion']));
  });

  it('refuses a bad --generator and a bad port clearly', async () => {
    const g = await runCli(['bootstrap', '--node-id', 'n1', '--generator', 'envoy']);
    expect(g.code).toBe(1);
    expect(g.stderr).toContain('--generator must be "grpc"');
    const p = await runCli(['serve', '--xds-port', 'seventy']);
    expect(p.code).toBe(1);
    expect(p.stderr).toContain('"seventy" is not a port');
  });

  it('loads a plugin by package name: its adapter registers a service and its admin page answers', async () => {
    // Installed the way users install plugins: into node_modules next to their config.
    const cwd = await mkdtemp(join(tmpdir(), 'isthmus-plugin-'));
    await mkdir(join(cwd, 'node_modules'));
    await symlink(join(ROOT, 'test/fixtures/plugin-hello'), join(cwd, 'node_modules/isthmus-plugin-hello'));
    const serve = await startServe(['--plugin', 'isthmus-plugin-hello'], { cwd });
    try {
      const registry = await waitFor(async () => {
        const r = await serve.getJson('/debug/registryz');
        return r.services.length > 0 ? r : undefined;
      }, 'the plugin service');
      expect(registry.services[0].hostname).toBe('hello.plugin.local');
      expect(registry.sources[0]).toMatchObject({ source: 'hello/1', synced: true });
      expect(await serve.getText('/debug/hello')).toBe('hello from a plugin\n');
      expect(serve.logs()).toContain('plugin loaded');
    } finally {
      await serve.stop();
      await rm(cwd, { recursive: true, force: true });
    }
  });

  it('also loads a plugin by path', async () => {
    const serve = await startServe(['--plugin', './test/fixtures/plugin-hello']);
    try {
      expect(await serve.getText('/debug/hello')).toBe('hello from a plugin\n');
    } finally {
      await serve.stop();
    }
  });

  it('reads serve options from --config and names an unknown key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'isthmus-config-'));
    try {
      await writeFile(join(dir, 'isthmus.yaml'), `static:\n  - ${join(ROOT, 'examples/canary')}\ndebounce-ms: 20\nlogLevel: warn\n`);
      const serve = await startServe(['--config', join(dir, 'isthmus.yaml')]);
      try {
        const registry = await serve.getJson('/debug/registryz');
        expect(registry.services.map((s: any) => s.hostname)).toEqual(['greeter.default.svc.cluster.local']);
      } finally {
        await serve.stop();
      }
      await writeFile(join(dir, 'bad.yaml'), 'consul-tokn: x\n');
      const r = await runCli(['serve', '--config', join(dir, 'bad.yaml')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${join(dir, 'bad.yaml')}: consul-tokn: unknown option for \`isthmus serve\``);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails fast on an unknown plugin', async () => {
    const r = await runCli(['serve', '--plugin', 'isthmus-plugin-does-not-exist', '--xds-port', '0', '--http-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('plugin "isthmus-plugin-does-not-exist": package not found');
  });
});

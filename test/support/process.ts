import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ISTHMUS_BIN = `${ROOT}cli/bin/isthmus.js`;

/** A free TCP port on loopback (bound and released; good enough for tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Polls `fn` until it returns a truthy value (returned) or throws after `timeoutMs`. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `isthmus <args>` to completion. */
export function runCli(args: readonly string[], input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [ISTHMUS_BIN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}

/** A running `isthmus serve` child process. */
export interface ServeProcess {
  readonly proc: ChildProcess;
  readonly xdsPort: number;
  readonly httpPort: number;
  /** Everything the process logged so far (JSON lines on stderr). */
  logs(): string;
  getJson<T = any>(path: string): Promise<T>;
  getText(path: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts `isthmus serve` with free ports and waits until /healthz/ready answers 200. */
export async function startServe(args: readonly string[], opts: { cwd?: string; waitReady?: boolean } = {}): Promise<ServeProcess> {
  const xdsPort = await freePort();
  const httpPort = await freePort();
  const proc = spawn(
    process.execPath,
    [ISTHMUS_BIN, 'serve', '--address', '127.0.0.1', '--xds-port', String(xdsPort), '--http-port', String(httpPort), ...args],
    { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ISTHMUS_LOG_LEVEL: process.env.ISTHMUS_LOG_LEVEL ?? 'info' } },
  );
  let logs = '';
  proc.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const base = `http://127.0.0.1:${httpPort}`;
  const serve: ServeProcess = {
    proc,
    xdsPort,
    httpPort,
    logs: () => logs,
    getJson: async (path) => {
      const r = await fetch(base + path);
      return r.json();
    },
    getText: async (path) => (await fetch(base + path)).text(),
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      // serve exits by itself within its 10 s stop deadline; SIGKILL only if it is wedged.
      const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await new Promise((r) => proc.once('exit', r));
      clearTimeout(killer);
    },
  };
  if (opts.waitReady ?? true) {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`isthmus serve exited (${proc.exitCode}):\n${logs}`);
      return (await fetch(`${base}/healthz/ready`)).ok;
    }, 'isthmus serve to become ready', 30_000);
  }
  return serve;
}

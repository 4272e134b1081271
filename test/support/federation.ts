import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ISTHMUS_BIN, ROOT, freePort, waitFor } from './process.js';

/** A running `isthmus adapter|xds|serve` child process. */
export interface RoleProcess {
  readonly proc: ChildProcess;
  readonly role: string;
  readonly xdsPort: number;
  readonly httpPort: number;
  logs(): string;
  getJson<T = any>(path: string): Promise<T>;
  getText(path: string): Promise<string>;
  ready(): Promise<boolean>;
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

/**
 * Starts `isthmus <role> ...args` on free loopback ports (`--xds-port` only for roles that
 * serve xDS). Waits for /healthz/ready unless `waitReady: false`.
 */
export async function startRole(
  role: 'adapter' | 'xds' | 'serve',
  args: readonly string[],
  opts: { waitReady?: boolean; xdsPort?: number; httpPort?: number } = {},
): Promise<RoleProcess> {
  const xdsPort = role === 'adapter' ? 0 : (opts.xdsPort ?? (await freePort()));
  const httpPort = opts.httpPort ?? (await freePort());
  const ports = role === 'adapter' ? ['--http-port', String(httpPort)] : ['--xds-port', String(xdsPort), '--http-port', String(httpPort)];
  const proc = spawn(process.execPath, [ISTHMUS_BIN, role, '--address', '127.0.0.1', ...ports, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ISTHMUS_LOG_LEVEL: process.env.ISTHMUS_LOG_LEVEL ?? 'info' },
  });
  let logs = '';
  proc.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const base = `http://127.0.0.1:${httpPort}`;
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  const p: RoleProcess = {
    proc,
    role,
    xdsPort,
    httpPort,
    logs: () => logs,
    getJson: async (path) => (await fetch(base + path)).json(),
    getText: async (path) => (await fetch(base + path)).text(),
    ready: async () => {
      try {
        return (await fetch(`${base}/healthz/ready`)).ok;
      } catch {
        return false;
      }
    },
    waitReady: async (timeoutMs = 30_000) => {
      await waitFor(async () => {
        if (exited()) throw new Error(`isthmus ${role} exited (${proc.exitCode ?? proc.signalCode}):\n${logs}`);
        return p.ready();
      }, `isthmus ${role} to become ready`, timeoutMs);
    },
    stop: async () => {
      if (exited()) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
    },
    kill: async () => {
      if (exited()) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await done;
    },
  };
  if (opts.waitReady ?? true) await p.waitReady();
  return p;
}

export interface TallyResult {
  [version: string]: number;
  errors: number;
}

const TALLY_CLIENT = fileURLToPath(new URL('./xds-tally-client.mjs', import.meta.url));

/**
 * Runs `calls` RPCs through a fresh grpc-js-xds client process bootstrapped on
 * `127.0.0.1:xdsPort` (one process per xDS server: grpc-js-xds reads its bootstrap once),
 * and counts the answers by greeter version.
 */
export function tallyVia(xdsPort: number, target: string, calls: number, nodeId = `tally-${xdsPort}`): Promise<TallyResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [TALLY_CLIENT, String(xdsPort), target, String(calls), nodeId], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`tally client exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as TallyResult);
    });
  });
}

/**
 * A TCP proxy on one loopback port in front of several xDS replicas: each new connection
 * goes to the first replica that accepts it. It stands for the one `server_uri` (a DNS
 * name or a load balancer) that grpc-js-xds needs to fail over between replicas.
 */
export async function startFailoverProxy(targets: () => readonly number[]): Promise<{ port: number; connections: () => number[]; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const log: number[] = [];
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.pause();
    const tryNext = (list: readonly number[]) => {
      const [port, ...rest] = list;
      if (port === undefined) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: '127.0.0.1', port });
      upstream.once('connect', () => {
        log.push(port);
        sockets.add(upstream);
        upstream.on('close', () => {
          sockets.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.once('error', () => tryNext(rest));
    };
    tryNext(targets());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    connections: () => [...log],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Reads one metric's value from Prometheus text (sum over the label sets that match `labels`). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const set = m[2] ?? '';
    if (!Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) continue;
    sum += Number(m[3]);
    found = true;
  }
  return found ? sum : Number.NaN;
}

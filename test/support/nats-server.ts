import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './process.js';

/** The nats-server binary (Debian's package installs it in /usr/sbin). */
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

/**
 * A real nats-server with JetStream, on free loopback ports, that a test may kill and
 * restart (same ports, same store directory: JetStream state survives a restart).
 * Never the shared server on 4222.
 */
export interface NatsServer {
  readonly port: number;
  readonly url: string;
  readonly storeDir: string;
  /** Everything it logged so far. */
  logs(): string;
  running(): boolean;
  /** SIGKILL: the abrupt loss a crash or a network cut looks like. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and store, and waits until JetStream is up. */
  restart(): Promise<void>;
  /** Stops it and removes its store. */
  stop(): Promise<void>;
}

export interface NatsServerOptions {
  readonly port?: number;
  readonly name?: string;
  /** Cluster membership: this server's route port and the routes to the others. */
  readonly cluster?: { readonly name: string; readonly port: number; readonly routes: readonly number[] };
  /** Wait for JetStream to be healthy (a cluster needs its peers first: pass false, then waitHealthy). */
  readonly waitReady?: boolean;
  readonly extraArgs?: readonly string[];
}

const PORT_TAKEN = /address already in use/;

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer & { waitHealthy(): Promise<void> }> {
  // freePort() releases the port before nats-server binds it: another test may take it in
  // between. A first start that loses that race is retried on new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchNatsServer(opts);
    } catch (err) {
      if (opts.port !== undefined || opts.cluster || attempt >= 5 || !PORT_TAKEN.test(String(err))) throw err;
    }
  }
}

async function launchNatsServer(opts: NatsServerOptions): Promise<NatsServer & { waitHealthy(): Promise<void> }> {
  const port = opts.port ?? (await freePort());
  const storeDir = await mkdtemp(join(tmpdir(), 'isthmus-nats-'));
  let proc: ChildProcess | undefined;
  let logs = '';
  let runLogs = '';
  // The monitor port (for /healthz) is picked by nats-server itself and read from its log.
  const args = [
    '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, '-m', '-1',
    ...(opts.name ? ['-n', opts.name] : []),
    ...(opts.cluster
      ? [
          '--cluster_name', opts.cluster.name,
          '--cluster', `nats://127.0.0.1:${opts.cluster.port}`,
          '--routes', opts.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(','),
        ]
      : []),
    ...(opts.extraArgs ?? []),
  ];
  const launch = () => {
    runLogs = '';
    const p = spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (d: Buffer) => {
      logs += d.toString();
      runLogs += d.toString();
    };
    p.stdout!.on('data', collect);
    p.stderr!.on('data', collect);
    proc = p;
  };
  const waitHealthy = async () => {
    let exited: Error | undefined;
    await waitFor(async () => {
      if (!proc || proc.exitCode !== null) {
        exited = new Error(`nats-server exited:\n${runLogs.slice(-2000)}`);
        return true;
      }
      const monitor = /Starting http monitor on [^\s]*?:(\d+)/.exec(runLogs)?.[1];
      if (!monitor) return false;
      const r = await fetch(`http://127.0.0.1:${monitor}/healthz`);
      return r.ok;
    }, `nats-server on ${port} to be healthy`, 30_000);
    if (exited) throw exited;
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  launch();
  if (opts.waitReady ?? true) {
    try {
      await waitHealthy();
    } catch (err) {
      await kill();
      await rm(storeDir, { recursive: true, force: true });
      throw err;
    }
  }
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    storeDir,
    logs: () => logs,
    running: () => !!proc && proc.exitCode === null && proc.signalCode === null,
    kill,
    restart: async () => {
      await kill();
      launch();
      if (opts.waitReady ?? true) await waitHealthy();
    },
    waitHealthy,
    stop: async () => {
      await kill();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

type Cluster = { servers: (NatsServer & { waitHealthy(): Promise<void> })[]; urls: string; stop(): Promise<void> };

/** Three clustered JetStream servers on loopback. `urls` lists all three (clients fail over). */
export async function startNatsCluster(): Promise<Cluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchNatsCluster();
    } catch (err) {
      if (attempt >= 3 || !PORT_TAKEN.test(String(err))) throw err;
    }
  }
}

async function launchNatsCluster(): Promise<Cluster> {
  const clientPorts = [await freePort(), await freePort(), await freePort()];
  const routePorts = [await freePort(), await freePort(), await freePort()];
  const servers = [];
  for (let i = 0; i < 3; i++) {
    servers.push(
      await startNatsServer({
        port: clientPorts[i]!,
        name: `n${i + 1}`,
        cluster: { name: 'isthmus-test', port: routePorts[i]!, routes: routePorts.filter((_, j) => j !== i) },
        waitReady: false,
      }),
    );
  }
  try {
    for (const s of servers) await s.waitHealthy();
  } catch (err) {
    for (const s of servers) await s.stop();
    throw err;
  }
  return {
    servers,
    urls: servers.map((s) => s.url).join(','),
    stop: async () => {
      for (const s of servers) await s.stop();
    },
  };
}

import { readFileSync } from 'node:fs';
import {
  connect,
  credsAuthenticator,
  DebugEvents,
  Events,
  nkeyAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
} from 'nats';

/** How to reach NATS: servers, credentials, TLS. Every field maps to one CLI flag. */
export interface NatsConnectionOptions {
  /** `nats://host:4222`, `tls://host:4222` or `host:port`; several for a cluster. */
  readonly servers: readonly string[];
  /** Connection name shown by `nats server report connections`. */
  readonly name?: string;
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  /** File holding an nkey seed (`SU...`): nkey authentication. */
  readonly nkeySeedFile?: string;
  /** A `.creds` file (user JWT + nkey seed), decentralized auth. */
  readonly credsFile?: string;
  readonly tls?: {
    /** CA bundle that signs the server's certificate. */
    readonly caFile?: string;
    /** Client certificate and key (mutual TLS). */
    readonly certFile?: string;
    readonly keyFile?: string;
    /** TLS before the NATS INFO (servers configured with `handshake_first`). */
    readonly handshakeFirst?: boolean;
  };
  /** Wait between reconnect attempts to one server. Default 250 ms (plus jitter). */
  readonly reconnectWaitMs?: number;
  /** Client → server pings; two missed mark the connection stale. Default 5000 ms. */
  readonly pingIntervalMs?: number;
  /** Connect timeout per attempt. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
}

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** What readiness, metrics and `/debug/busz` show about the link to NATS. */
export interface ConnectionStatus {
  readonly state: ConnectionState;
  /** ISO time the state began: for anything but `connected`, "down since". */
  readonly since: string;
  /** Server in use (when connected). */
  readonly server?: string;
  readonly reconnects: number;
  readonly lastError?: string;
}

export interface ConnectionListener {
  /** A connection is up: `first` for a new NatsConnection, false after a reconnect of the same one. */
  onConnected?(nc: NatsConnection, first: boolean): void;
  onDisconnected?(): void;
}

export interface ConnectionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** The nats.js options for `o` (credentials and TLS read from their files here). */
export function natsConnectOptions(o: NatsConnectionOptions): ConnectionOptions {
  if (o.servers.length === 0) throw new Error('no NATS server given');
  const authenticator = [];
  if (o.credsFile) authenticator.push(credsAuthenticator(readFileSync(o.credsFile)));
  if (o.nkeySeedFile) authenticator.push(nkeyAuthenticator(new TextEncoder().encode(readFileSync(o.nkeySeedFile, 'utf8').trim())));
  const tls = o.tls && (o.tls.caFile || o.tls.certFile || o.tls.keyFile || o.tls.handshakeFirst)
    ? {
        ...(o.tls.caFile ? { caFile: o.tls.caFile } : {}),
        ...(o.tls.certFile ? { certFile: o.tls.certFile } : {}),
        ...(o.tls.keyFile ? { keyFile: o.tls.keyFile } : {}),
        ...(o.tls.handshakeFirst ? { handshakeFirst: true } : {}),
      }
    : undefined;
  return {
    servers: [...o.servers],
    ...(o.name ? { name: o.name } : {}),
    ...(o.user ? { user: o.user } : {}),
    ...(o.password ? { pass: o.password } : {}),
    ...(o.token ? { token: o.token } : {}),
    ...(authenticator.length > 0 ? { authenticator: authenticator.length === 1 ? authenticator[0]! : authenticator } : {}),
    ...(tls ? { tls } : {}),
    // Reconnect forever: a control plane never gives up on its bus.
    maxReconnectAttempts: -1,
    reconnectTimeWait: o.reconnectWaitMs ?? 250,
    reconnectJitter: 100,
    reconnectJitterTLS: 200,
    pingInterval: o.pingIntervalMs ?? 5000,
    maxPingOut: 2,
    timeout: o.connectTimeoutMs ?? 5000,
    // A bad credential is retried too (the operator may be rotating it); the error shows in status.
    ignoreAuthErrorAbort: true,
  };
}

/** Redacts credentials from server URLs for logs (`nats://user:pw@h` → `nats://***@h`). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * One NATS connection kept alive forever: retries the first connect (NATS may start after
 * us), follows nats.js reconnects, and recreates the connection if it ever closes. Tracks
 * the state for readiness, metrics and status pages.
 */
export class NatsConnector {
  private nc: NatsConnection | undefined;
  private state: ConnectionState = 'connecting';
  private since = new Date();
  private server: string | undefined;
  private lastError: string | undefined;
  private reconnects = 0;
  private closing = false;
  private loop: Promise<void> | undefined;
  private readonly listeners = new Set<ConnectionListener>();
  private readonly waiters = new Set<() => void>();
  private readonly stateListeners = new Set<(s: ConnectionStatus) => void>();

  constructor(
    private readonly options: NatsConnectionOptions,
    private readonly logger: ConnectionLogger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  get connection(): NatsConnection | undefined {
    return this.nc;
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  status(): ConnectionStatus {
    return {
      state: this.state,
      since: this.since.toISOString(),
      ...(this.server ? { server: this.server } : {}),
      reconnects: this.reconnects,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  addListener(l: ConnectionListener): () => void {
    this.listeners.add(l);
    if (this.nc && this.state === 'connected') l.onConnected?.(this.nc, true);
    return () => this.listeners.delete(l);
  }

  onStateChange(l: (s: ConnectionStatus) => void): () => void {
    this.stateListeners.add(l);
    return () => this.stateListeners.delete(l);
  }

  /** Resolves once connected (now, if it is). */
  whenConnected(): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new Error('NATS connection closed'));
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  async close(): Promise<void> {
    this.closing = true;
    this.setState('closed');
    for (const w of this.waiters) w();
    this.waiters.clear();
    const nc = this.nc;
    if (nc && !nc.isClosed()) {
      await Promise.race([nc.drain().catch(() => nc.close()), new Promise((r) => setTimeout(r, 1000))]);
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    }
    this.wake?.();
    await this.loop?.catch(() => undefined);
  }

  private wake: (() => void) | undefined;

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private setState(state: ConnectionState, server?: string): void {
    if (this.state !== state) {
      this.state = state;
      this.since = new Date();
    }
    this.server = server;
    if (state === 'connected') {
      for (const w of this.waiters) w();
      this.waiters.clear();
    }
    const s = this.status();
    for (const l of [...this.stateListeners]) l(s);
  }

  private async run(): Promise<void> {
    let attempt = 0;
    const where = this.options.servers.map(redactUrl).join(',');
    while (!this.closing) {
      let nc: NatsConnection;
      try {
        nc = await connect(natsConnectOptions(this.options));
      } catch (err) {
        this.lastError = (err as Error).message || String(err);
        if (attempt === 0 || attempt % 20 === 0) {
          this.logger.warn({ servers: where, err: this.lastError, attempt }, 'cannot reach NATS yet; retrying');
        }
        attempt++;
        this.setState(this.state === 'closed' ? 'closed' : this.nc ? 'reconnecting' : 'connecting');
        await this.sleep(Math.min(2000, 250 * 2 ** Math.min(attempt, 3)));
        continue;
      }
      if (this.closing) {
        await nc.close().catch(() => undefined);
        return;
      }
      const replacing = this.nc !== undefined;
      if (replacing) this.reconnects++;
      this.nc = nc;
      attempt = 0;
      this.lastError = undefined;
      this.setState('connected', nc.getServer());
      this.logger.info({ server: nc.getServer() }, replacing ? 'NATS connection re-established' : 'connected to NATS');
      for (const l of [...this.listeners]) l.onConnected?.(nc, true);
      // The status iterator does not end when the connection closes: not awaited.
      void this.follow(nc).catch(() => undefined);
      const closed = await nc.closed();
      if (this.closing) return;
      this.lastError = closed ? closed.message : 'connection closed';
      this.logger.warn({ err: this.lastError }, 'NATS connection closed; connecting again');
      this.setState('reconnecting');
      for (const l of [...this.listeners]) l.onDisconnected?.();
    }
  }

  private async follow(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (this.closing || nc !== this.nc) return;
      switch (s.type) {
        case Events.Disconnect:
          if (this.state === 'connected') {
            this.logger.warn({ server: String(s.data) }, 'disconnected from NATS; serving the last state while reconnecting');
            this.setState('reconnecting');
            for (const l of [...this.listeners]) l.onDisconnected?.();
          }
          break;
        case Events.Reconnect:
          this.reconnects++;
          this.lastError = undefined;
          this.setState('connected', nc.getServer());
          this.logger.info({ server: nc.getServer() }, 'reconnected to NATS');
          for (const l of [...this.listeners]) l.onConnected?.(nc, false);
          break;
        case Events.Error:
          this.lastError = String(s.data);
          this.logger.warn({ err: this.lastError }, 'NATS error');
          break;
        case DebugEvents.StaleConnection:
          this.lastError = 'stale connection (missed pings)';
          break;
        case Events.LDM:
          this.logger.info({ server: String(s.data) }, 'NATS server entering lame duck mode');
          break;
        default:
          break;
      }
    }
  }
}

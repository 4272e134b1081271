import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminEndpoint, Logger } from '@isthmus/core';

/** Writes a JSON body (pretty, since people read these with curl). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(text + '\n');
}

/**
 * The admin HTTP port: health, Prometheus metrics and `/debug/*` JSON. Every handler is an
 * AdminEndpoint contribution, so plugins add their own pages the same way.
 */
export class AdminServer {
  private server: Server | undefined;
  private readonly endpoints = new Map<string, AdminEndpoint>();

  constructor(
    endpoints: readonly AdminEndpoint[],
    private readonly logger: Logger,
  ) {
    for (const e of endpoints) {
      if (this.endpoints.has(e.path)) throw new Error(`two admin endpoints claim ${e.path}`);
      this.endpoints.set(e.path, e);
    }
  }

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => void this.dispatch(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const endpoint = this.endpoints.get(url.pathname);
    if (!endpoint) {
      if (url.pathname === '/' || url.pathname === '/debug') {
        sendJson(res, 200, {
          endpoints: [...this.endpoints.values()]
            .map((e) => ({ path: e.path, description: e.description }))
            .sort((a, b) => (a.path < b.path ? -1 : 1)),
        });
      } else {
        sendJson(res, 404, { error: `no admin endpoint ${url.pathname}; see / for the list` });
      }
      return;
    }
    try {
      await endpoint.handle(req, res, url);
    } catch (err) {
      this.logger.error({ err, path: url.pathname }, 'admin endpoint failed');
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.end();
    }
  }
}

import type { IncomingMessage, ServerResponse } from 'node:http';

export const AdminEndpoint = Symbol.for('isthmus.AdminEndpoint');
/** An HTTP handler on the admin port (e.g. `/debug/registryz`). */
export interface AdminEndpoint {
  /** Exact path, e.g. `/debug/syncz`. */
  readonly path: string;
  readonly description: string;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void | Promise<void>;
}

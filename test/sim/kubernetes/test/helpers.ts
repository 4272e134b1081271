import type { KubernetesSimulator } from '../src/index.js';

/** Polls until `cond` holds (tests wait for conditions, never for fixed times). */
export async function until(cond: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

/** One request to the simulator; JSON bodies parsed. */
export async function call(sim: KubernetesSimulator, method: string, path: string, body?: unknown, contentType = 'application/json', headers: Record<string, string> = {}): Promise<Reply> {
  const r = await fetch(sim.url + path, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': contentType } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text stays text
  }
  return { status: r.status, headers: r.headers, body: parsed };
}

export const get = (sim: KubernetesSimulator, path: string, headers: Record<string, string> = {}) => call(sim, 'GET', path, undefined, undefined, headers);

export interface WatchEvent {
  type: string;
  object: any;
}

/** An open watch: events as they arrive, whether the server ended the stream, and how. */
export interface OpenWatch {
  status: number;
  events: WatchEvent[];
  /** The raw bytes' line count (to check one JSON event per line). */
  lines: string[];
  ended(): boolean;
  /** The stream failed (socket reset) rather than ending cleanly. */
  failed(): boolean;
  body?: any;
  close(): Promise<void>;
}

export async function openWatch(sim: KubernetesSimulator, path: string, headers: Record<string, string> = {}): Promise<OpenWatch> {
  const ac = new AbortController();
  const res = await fetch(sim.url + path, { headers, signal: ac.signal });
  const w: OpenWatch = { status: res.status, events: [], lines: [], ended: () => ended, failed: () => failed, close: async () => {} };
  let ended = false;
  let failed = false;
  if (res.status !== 200) {
    w.body = await res.json();
    ended = true;
    return w;
  }
  const done = (async () => {
    const decoder = new TextDecoder();
    let pending = '';
    try {
      for await (const chunk of res.body!) {
        pending += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          w.lines.push(line);
          w.events.push(JSON.parse(line) as WatchEvent);
        }
      }
    } catch {
      failed = !ac.signal.aborted;
    }
    ended = true;
  })();
  w.close = async () => {
    ac.abort();
    await done;
  };
  return w;
}

/** `type name` of each event, e.g. `ADDED web`. */
export const summary = (events: WatchEvent[]) => events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata?.name}`);

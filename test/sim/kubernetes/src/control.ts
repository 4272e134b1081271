import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Fault } from './faults.js';
import { sendJson } from './response.js';
import type { KubernetesSimulator } from './simulator.js';
import type { KubeObject } from './types.js';

/**
 * A small control API under `/_sim/`, so another process (a demo, a shell) can change
 * state and break the server the way tests do through methods. Not part of Kubernetes;
 * no auth, no faults.
 *
 *   POST   /_sim/apply                  body: an object        → apply()
 *   DELETE /_sim/objects?apiVersion=&kind=&namespace=&name=    → remove()
 *   POST   /_sim/status?apiVersion=&kind=&namespace=&name=  body: status → patchStatus()
 *   POST   /_sim/faults                 body: a Fault (`pathRegex` for a RegExp path) → {id}
 *   DELETE /_sim/faults                                         → clearFaults()
 *   POST   /_sim/watches/drop | /_sim/watches/expire | /_sim/compact
 *   PUT    /_sim/gone-mode?mode=http|event
 *   GET    /_sim/requests?prefix=
 */
export function handleControl(sim: KubernetesSimulator, req: IncomingMessage, res: ServerResponse, url: URL, body: string): void {
  const q = url.searchParams;
  const param = (k: string) => q.get(k) ?? undefined;
  const json = () => JSON.parse(body || '{}') as unknown;
  try {
    switch (`${req.method} ${url.pathname}`) {
      case 'POST /_sim/apply':
        return sendJson(res, 200, sim.apply(json() as KubeObject));
      case 'DELETE /_sim/objects':
        return sendJson(res, 200, { deleted: sim.remove(param('apiVersion') ?? 'v1', param('kind') ?? '', param('namespace'), param('name') ?? '') });
      case 'POST /_sim/status':
        return sendJson(res, 200, sim.patchStatus(param('apiVersion') ?? 'v1', param('kind') ?? '', param('namespace'), param('name') ?? '', json()));
      case 'POST /_sim/faults': {
        const f = json() as Fault & { pathRegex?: string };
        const fault = (f.pathRegex ? { ...f, path: new RegExp(f.pathRegex) } : f) as Fault;
        sim.inject(fault);
        return sendJson(res, 200, { injected: fault.kind });
      }
      case 'DELETE /_sim/faults':
        sim.clearFaults();
        return sendJson(res, 200, {});
      case 'POST /_sim/watches/drop':
        sim.dropWatches();
        return sendJson(res, 200, {});
      case 'POST /_sim/watches/expire':
        sim.expireWatches();
        return sendJson(res, 200, {});
      case 'POST /_sim/compact':
        sim.compact();
        return sendJson(res, 200, { resourceVersion: sim.resourceVersion });
      case 'PUT /_sim/gone-mode': {
        const mode = param('mode');
        if (mode !== 'http' && mode !== 'event') throw new Error('mode must be http or event');
        sim.goneMode = mode;
        return sendJson(res, 200, { goneMode: mode });
      }
      case 'GET /_sim/requests':
        return sendJson(res, 200, sim.requests(param('prefix')));
      default:
        return sendJson(res, 404, { error: `no control endpoint ${req.method} ${url.pathname}` });
    }
  } catch (err) {
    sendJson(res, 400, { error: (err as Error).message });
  }
}

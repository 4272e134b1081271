import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { formatIssue, type AdminEndpoint, type ConfigIssue, type MeshEngine } from '@isthmus/core';
import { sendJson } from './admin-server.js';

/** What the built-in admin pages read. */
export interface AdminDeps {
  readonly engine: MeshEngine;
  readonly metrics: Registry;
  /** Per config source: latest issues per part (rejected proposals, warnings). */
  readonly configIssues: () => ReadonlyMap<string, readonly ConfigIssue[]>;
  /** The xDS server's per-proxy status. */
  readonly xdsStatus: () => unknown;
  /** True once the xDS port is listening. */
  readonly serving: () => boolean;
  /**
   * Rule parts the connected kinds of proxies cannot enforce (XdsServer.capabilityWarnings)
   * and generated resources refused by validation (XdsServer.refusedResources).
   */
  readonly xdsCapabilities?: () => { readonly unenforced: readonly XdsRuleGap[]; readonly clients: readonly unknown[]; readonly refused: readonly unknown[] };
}

/** One rule part a kind of client cannot enforce (see @isthmus/xds UnenforcedRule). */
export interface XdsRuleGap {
  readonly origin: string;
  readonly path: string;
  readonly client: string;
  readonly clientName: string;
  readonly level: 'left-out' | 'approximated';
  readonly message: string;
}

function endpoint(path: string, description: string, handle: (res: ServerResponse, url: URL, req: IncomingMessage) => unknown): AdminEndpoint {
  return { path, description, handle: (req, res, url) => handle(res, url, req) as void | Promise<void> };
}

export function builtinAdminEndpoints(deps: AdminDeps): AdminEndpoint[] {
  return [
    endpoint('/healthz/ready', 'Ready once every source has synced and xDS is serving', (res) => {
      const waiting = deps.engine.notReady();
      if (deps.engine.isReady() && deps.serving()) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ready\n');
      } else {
        sendJson(res, 503, {
          ready: false,
          waitingFor: waiting.length > 0 ? waiting : deps.serving() ? ['first snapshot'] : ['xDS listener'],
        });
      }
    }),
    endpoint('/metrics', 'Prometheus metrics', async (res) => {
      const text = await deps.metrics.metrics();
      res.writeHead(200, { 'content-type': deps.metrics.contentType });
      res.end(text);
    }),
    endpoint('/debug/registryz', 'Merged registry: sources, services and their workloads', (res, url) => {
      const snapshot = deps.engine.current();
      const host = url.searchParams.get('host');
      const services = snapshot
        ? [...snapshot.services.values()]
            .filter((s) => !host || s.service.hostname === host)
            .sort((a, b) => (a.service.hostname < b.service.hostname ? -1 : 1))
            .map(({ service, version }) => ({
              ...service,
              version,
              workloads: snapshot.endpoints.get(service.hostname)?.workloads ?? [],
            }))
        : [];
      sendJson(res, 200, {
        snapshotVersion: snapshot?.version ?? null,
        sources: deps.engine.sourceStatuses(),
        services,
      });
    }),
    endpoint('/debug/configz', 'Rules in force, their compiled routes, and config errors/warnings', (res) => {
      const snapshot = deps.engine.current();
      // `rejected`: parts whose latest content was refused (the previous content serves);
      // `warnings`: accepted config that works but deserves a look.
      const rejected: Record<string, string[]> = {};
      const warnings: string[] = [];
      for (const [part, list] of deps.configIssues()) {
        const errors = list.filter((i) => i.severity === 'error').map(formatIssue);
        if (errors.length > 0) rejected[part] = errors;
        warnings.push(...list.filter((i) => i.severity === 'warning').map(formatIssue));
      }
      warnings.push(...(snapshot?.issues ?? []).map(formatIssue));
      // Per rule and connected client kind: `<rule> <field>: not enforced on <client>: <why>`.
      const caps = deps.xdsCapabilities?.();
      const gaps = caps?.unenforced ?? [];
      warnings.push(...gaps.map((u) => `${u.origin} ${u.path}: ${u.level === 'left-out' ? 'not enforced on' : 'approximated on'} ${u.clientName}: ${u.message}`));
      sendJson(res, 200, {
        snapshotVersion: snapshot?.version ?? null,
        rejected,
        warnings: [...new Set(warnings)],
        ...(caps ? { clients: caps.clients, unenforced: gaps, refusedResources: caps.refused } : {}),
        routes: snapshot ? Object.fromEntries(snapshot.routes) : {},
        destinations: snapshot ? Object.fromEntries(snapshot.destinations) : {},
      });
    }),
    endpoint('/debug/syncz', 'Per proxy: subscribed resources, sent/ACKed/NACKed versions', (res) => {
      sendJson(res, 200, deps.xdsStatus());
    }),
  ];
}

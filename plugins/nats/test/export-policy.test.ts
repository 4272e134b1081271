import { describe, expect, it } from 'vitest';
import type { RegistryShard, Service, Workload } from '@isthmus/core';
import { ExportFilter, parseLabelSelector } from '@isthmus/plugin-nats';

const svc = (hostname: string, namespace: string, labels: Record<string, string> = {}): Service => ({
  hostname, namespace, ports: [], labels, sources: ['static/a'], exportTo: ['*'],
});
const wl = (hostname: string, namespace: string, labels: Record<string, string> = {}): Workload => ({
  id: `${hostname}/0`, hostname, namespace, address: '10.0.0.1', ports: {}, labels, health: 'HEALTHY', locality: {}, weight: 1, source: 'static/a',
});
const shard: RegistryShard = {
  source: 'static/a',
  services: [svc('greeter.default.svc.cluster.local', 'default', { tier: 'public' }), svc('ledger.payments.global', 'payments'), svc('payroll.payments.global', 'payments', { tier: 'public' })],
  workloads: [wl('greeter.default.svc.cluster.local', 'default'), wl('ledger.payments.global', 'payments'), wl('payroll.payments.global', 'payments'), wl('orphan.global', 'payments', { tier: 'public' })],
};
const hosts = (s: RegistryShard) => ({ services: s.services.map((x) => x.hostname.split('.')[0]), workloads: s.workloads.map((x) => x.hostname.split('.')[0]) });

describe('ExportFilter', () => {
  it('exports everything by default (the same shard, untouched)', () => {
    expect(new ExportFilter({}).shard(shard)).toBe(shard);
  });

  it.each([
    [{ namespaces: ['payments'] }, ['ledger', 'payroll'], ['ledger', 'payroll', 'orphan']],
    [{ labels: { tier: 'public' } }, ['greeter', 'payroll'], ['greeter', 'payroll', 'orphan']],
    [{ names: ['pay*'] }, ['payroll'], ['payroll']],
    [{ names: ['*.payments.global'] }, ['ledger', 'payroll'], ['ledger', 'payroll']],
    [{ namespaces: ['payments'], labels: { tier: 'public' } }, ['payroll'], ['payroll', 'orphan']],
  ])('%j keeps services %j and workloads %j', (policy, services, workloads) => {
    expect(hosts(new ExportFilter(policy).shard(shard))).toEqual({ services, workloads });
  });

  it('filters rules by namespace and labels', () => {
    const f = new ExportFilter({ namespaces: ['payments'] });
    const vs = (namespace?: string) => ({ object: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'x', ...(namespace ? { namespace } : {}) }, spec: {} }, origin: 'f' });
    expect([f.object(vs('payments')), f.object(vs()), f.object(vs('default'))]).toEqual([true, false, false]);
  });

  it('parses --export-label', () => {
    expect(parseLabelSelector(['tier=public,team=a', 'env='])).toEqual({ tier: 'public', team: 'a', env: '' });
    expect(() => parseLabelSelector(['oops'])).toThrow(/key=value/);
  });
});

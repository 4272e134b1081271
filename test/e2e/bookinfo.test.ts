import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServe, waitFor, type ServeProcess } from '../support/process.js';
import { greeterClient, sayHello, useXdsServer } from '../support/xds-client.js';

// examples/bookinfo-like through the CLI: `isthmus validate` passes it and lists what
// proxyless gRPC cannot enforce; `isthmus serve` reports the same, per connected client
// kind, in /debug/configz and in isthmus_xds_unenforced_rules.
describe('examples/bookinfo-like', () => {
  it('isthmus validate: no error; the proxyless-gRPC gaps as warnings', async () => {
    const r = await runCli(['validate', '-f', 'examples/bookinfo-like']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('error:');
    expect(r.stdout).toMatch(/12 object\(s\) in 3 file\(s\): 0 error\(s\), \d+ warning\(s\)/);
    expect(r.stderr).toContain(
      'warning: examples/bookinfo-like/virtual-services.yaml:4:VirtualService/bookinfo/productpage: spec.http[1].redirect: not enforced on proxyless gRPC: gRPC clients cannot follow a redirect',
    );
    expect(r.stderr).toContain('DestinationRule/bookinfo/reviews: spec.trafficPolicy.loadBalancer.consistentHash: not enforced on proxyless gRPC (C-core ≤ 1.51)');
    // Quiet mode prints errors only.
    expect((await runCli(['validate', '-q', '-f', 'examples/bookinfo-like'])).stderr).toBe('');
  });

  describe('isthmus serve with a proxyless grpc-js client connected', () => {
    let serve: ServeProcess;
    let client: { close(): void } | undefined;
    beforeAll(async () => {
      serve = await startServe(['--static', 'examples/bookinfo-like']);
      await useXdsServer(serve.xdsPort, 'bookinfo-e2e');
      client = greeterClient('xds:///reviews.bookinfo.svc.cluster.local:9080');
      // The endpoints are documentation addresses: the call fails, the xDS stream stays.
      await sayHello(client, { deadlineMs: 500 }).catch(() => undefined);
    });
    afterAll(async () => {
      client?.close();
      await serve?.stop();
    });

    it('shows the rules grpc-js does not enforce in /debug/configz, and counts them in /metrics', async () => {
      const configz = await waitFor(async () => {
        const c = await serve.getJson('/debug/configz');
        return (c.clients ?? []).length > 0 ? c : undefined;
      }, 'the grpc-js client in /debug/configz');
      expect(configz.clients).toEqual([{ client: 'grpc-js', name: 'proxyless gRPC (grpc-js)', proxies: 1 }]);
      expect(configz.warnings).toContain(
        'VirtualService/bookinfo/reviews spec.http[1].mirror: not enforced on proxyless gRPC (grpc-js): gRPC clients cannot mirror calls; nothing is mirrored from them',
      );
      expect(configz.refusedResources).toEqual([]);
      const metrics = await serve.getText('/metrics');
      expect(metrics).toContain('isthmus_xds_unenforced_rules{kind="redirect",client="grpc-js"} 1');
      expect(metrics).toMatch(/isthmus_xds_unenforced_rules\{kind="loadBalancer.simple",client="grpc-js"\} [1-9]/);
    });
  });
});

import { buildBootstrap } from '@isthmus/xds';
// @ts-expect-error: plain ESM helper shared with the demo
import { greeterClient, sayHello, startGreeter } from '../../examples/greeter/greeter.mjs';

export { greeterClient, sayHello, startGreeter };

/**
 * Points this process's gRPC xDS client at an Isthmus xDS port. grpc-js-xds reads its
 * bootstrap once per process, so each test file talks to exactly one control plane.
 */
export async function useXdsServer(xdsPort: number, nodeId = `test-${process.pid}`): Promise<void> {
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(
    buildBootstrap({ nodeId, serverUri: `127.0.0.1:${xdsPort}`, generator: 'grpc', namespace: 'default' }),
  );
  const xds = await import('@grpc/grpc-js-xds');
  xds.register();
}

export interface Tally {
  v1: number;
  v2: number;
  errors: number;
  lastError?: string;
}

/** Makes `calls` sequential calls and counts which version answered. */
export async function tally(client: unknown, calls: number, headers: Record<string, string> = {}): Promise<Tally> {
  const t: Tally = { v1: 0, v2: 0, errors: 0 };
  for (let i = 0; i < calls; i++) {
    try {
      const reply = (await sayHello(client, { headers })) as { version: 'v1' | 'v2' };
      t[reply.version]++;
    } catch (err) {
      t.errors++;
      t.lastError = String(err);
    }
  }
  return t;
}

/** Makes `calls` sequential calls and counts which backend instance (host:port) answered. */
export async function byInstance(client: unknown, calls: number): Promise<{ instances: Record<string, number>; errors: number }> {
  const out = { instances: {} as Record<string, number>, errors: 0 };
  for (let i = 0; i < calls; i++) {
    try {
      const reply = (await sayHello(client)) as { instance: string };
      out.instances[reply.instance] = (out.instances[reply.instance] ?? 0) + 1;
    } catch {
      out.errors++;
    }
  }
  return out;
}

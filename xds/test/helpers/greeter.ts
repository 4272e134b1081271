import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('../fixtures/helloworld.proto', import.meta.url));

type GreeterCtor = grpc.ServiceClientConstructor;
let greeterCtor: GreeterCtor | undefined;

function greeterService(): GreeterCtor {
  if (!greeterCtor) {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true, defaults: true })) as any;
    greeterCtor = pkg.isthmus.test.Greeter as GreeterCtor;
  }
  return greeterCtor;
}

export interface Greeter {
  readonly port: number;
  readonly version: string;
  stop(): Promise<void>;
}

/** A real gRPC backend on 127.0.0.1 (free port) that replies with its version. */
export async function startGreeter(version: string): Promise<Greeter> {
  const server = new grpc.Server();
  server.addService(greeterService().service, {
    SayHello(call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      cb(null, { message: `Hello ${call.request.name}`, version });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, version, stop: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

export function greeterClient(target: string): grpc.Client {
  return new (greeterService())(target, grpc.credentials.createInsecure());
}

export function sayHello(client: grpc.Client, headers: Record<string, string> = {}): Promise<{ version: string }> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return new Promise((resolve, reject) =>
    (client as any).SayHello({ name: 'mesh' }, md, { deadline: Date.now() + 10_000 }, (err: Error | null, reply: { version: string }) =>
      err ? reject(err) : resolve(reply),
    ),
  );
}

export interface Tally {
  readonly counts: Record<string, number>;
  readonly errors: number;
  readonly lastError?: string;
}

/** Makes `calls` calls, `concurrency` at a time, and counts which version answered. */
export async function tally(client: grpc.Client, calls: number, headers: Record<string, string> = {}, concurrency = 20): Promise<Tally> {
  const counts: Record<string, number> = {};
  let errors = 0;
  let lastError: string | undefined;
  let issued = 0;
  const worker = async () => {
    while (issued < calls) {
      issued++;
      try {
        const { version } = await sayHello(client, headers);
        counts[version] = (counts[version] ?? 0) + 1;
      } catch (err) {
        errors++;
        lastError = String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  return { counts, errors, ...(lastError ? { lastError } : {}) };
}

/** Polls `probe` until it returns a truthy value; fails after a generous timeout. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

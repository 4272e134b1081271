// A tiny gRPC greeter used by the demo and the end-to-end tests: each instance answers
// with its version, so clients can count where the mesh sent them.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('../proto/helloworld.proto', import.meta.url));

let cached;
/** The loaded helloworld package (Greeter service constructor included). */
export function helloworld() {
  cached ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(PROTO, { keepCase: true, longs: String, defaults: true }),
  ).helloworld;
  return cached;
}

/**
 * Starts a greeter on host:port (port 0 = any free port).
 * Options: `fail` (a function returning a grpc status code to fail a call with, or 0).
 * Returns { port, address, server, calls(), stop() }.
 */
export async function startGreeter({ version, host = '127.0.0.1', port = 0, fail } = {}) {
  const server = new grpc.Server();
  let calls = 0;
  let instance = '';
  server.addService(helloworld().Greeter.service, {
    SayHello(call, callback) {
      calls++;
      const code = fail ? fail(call) : 0;
      if (code) {
        callback({ code, details: `greeter ${version} failing on purpose` });
        return;
      }
      callback(null, { message: `Hello ${call.request.name}`, version, instance });
    },
  });
  const bound = await new Promise((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  instance = `${host}:${bound}`;
  return {
    port: bound,
    address: instance,
    server,
    calls: () => calls,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A plain Greeter client for a target such as `xds:///greeter.default.svc.cluster.local:50051`. */
export function greeterClient(target, credentials = grpc.credentials.createInsecure()) {
  return new (helloworld().Greeter)(target, credentials);
}

/** One SayHello call; resolves to { version, instance } or rejects with the gRPC error. */
export function sayHello(client, { name = 'mesh', headers = {}, deadlineMs = 5000 } = {}) {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new Promise((resolve, reject) =>
    client.SayHello({ name }, metadata, { deadline: Date.now() + deadlineMs }, (err, reply) =>
      err ? reject(err) : resolve(reply),
    ),
  );
}

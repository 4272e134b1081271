import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The mesh host the federation tests and examples/federated share. */
export const FEDERATED_HOST = 'greeter.global';
export const FEDERATED_TARGET = `xds:///${FEDERATED_HOST}:50051`;

export interface Endpoint {
  readonly port: number;
  readonly version: string;
  readonly runtime: string;
}

/** A ServiceEntry for `host` with the given endpoints (all on 127.0.0.1). */
export function serviceEntryYaml(name: string, host: string, endpoints: readonly Endpoint[], namespace = 'default'): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - { name: grpc, number: 50051, protocol: GRPC }
  endpoints:
${endpoints.map((e) => `    - { address: 127.0.0.1, ports: { grpc: ${e.port} }, labels: { app: greeter, version: ${e.version}, runtime: ${e.runtime} } }`).join('\n')}
`;
}

/** A temp directory standing for one runtime: its greeter ServiceEntry (plus extra files). */
export async function runtimeDir(runtime: string, endpoints: readonly Endpoint[], extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `isthmus-${runtime}-`));
  await writeFile(join(dir, 'greeter.yaml'), serviceEntryYaml('greeter', FEDERATED_HOST, endpoints));
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
  return dir;
}

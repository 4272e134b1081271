import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MeshSnapshot } from '@isthmus/core';
import { describe, expect, it } from 'vitest';
import { grpcGenerators } from '../../src/generators/index.js';
import { aMatch, aRouteTable, aService, aSnapshot, aWorkload, canarySnapshot, GREETER, versionSubsets } from '../helpers/builders.js';
import { generate } from '../helpers/generate.js';

// Golden files: testdata/<case>.<LDS|RDS|CDS|EDS>.golden.json, all resources of the type
// for a wildcard subscription. `UPDATE_GOLDEN=1 npx vitest run xds/test/generators` rewrites them.
const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const cases: Record<string, () => MeshSnapshot> = {
  canary: () => canarySnapshot().build(),
  'no-rules': () =>
    aSnapshot()
      .withService(aService(GREETER).withPort('grpc', 50051).withPort('http', 8080, 'HTTP').build())
      .withWorkloads(aWorkload(GREETER, 'a').at('10.1.0.1').inLocality({ region: 'eu', zone: 'eu-1' }).build())
      .build(),
  'fault-timeout-retries': () =>
    canarySnapshot()
      .withDestinations(versionSubsets(GREETER, { connectionPool: { maxRequests: 50 } }))
      .withRoutes(
        aRouteTable(GREETER, [
          {
            name: 'slow-canary',
            matches: [aMatch({ uri: { prefix: '/isthmus.test.Greeter/' }, headers: { 'x-canary': { exact: '1' } } })],
            destinations: [{ host: GREETER, subset: 'v2', weight: 100 }],
            timeoutMs: 3000,
            retries: { attempts: 2, retryOn: 'unavailable' },
            fault: { delay: { fixedDelayMs: 200, percentage: { value: 10 } } },
          },
          { name: 'rest', destinations: [{ host: GREETER, subset: 'v1', weight: 100 }], retries: { attempts: 0 } },
        ]),
      )
      .build(),
};

describe('golden xDS for proxyless gRPC', () => {
  const rows = Object.keys(cases).flatMap((name) => grpcGenerators.map((g) => ({ name, generator: g, type: g.resourceType.shortName })));
  it.each(rows)('$name $type', ({ name, generator, type }) => {
    const { resources } = generate(generator, cases[name]!());
    const actual = `${JSON.stringify(resources.map((r) => r.resource), null, 2)}\n`;
    const file = join(TESTDATA, `${name}.${type}.golden.json`);
    if (UPDATE) {
      mkdirSync(TESTDATA, { recursive: true });
      writeFileSync(file, actual);
    }
    expect(existsSync(file), `missing ${file}: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(actual).toBe(readFileSync(file, 'utf8'));
  });
});

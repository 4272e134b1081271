import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests import workspace packages from their TypeScript sources, so a unit test never
// depends on a stale build. End-to-end tests that spawn the CLI use the build, which
// `npm test` produces first.
export default defineConfig({
  resolve: {
    alias: {
      '@isthmus/core': src('./core/src/index.ts'),
      '@isthmus/xds': src('./xds/src/index.ts'),
      '@isthmus/adapter-static': src('./adapters/static/src/index.ts'),
      '@isthmus/adapter-consul': src('./adapters/consul/src/index.ts'),
      '@isthmus/adapter-nomad': src('./adapters/nomad/src/index.ts'),
      '@isthmus/adapter-kubernetes': src('./adapters/kubernetes/src/index.ts'),
      '@isthmus/plugin-nats': src('./plugins/nats/src/index.ts'),
      '@isthmus/cli': src('./cli/src/index.ts'),
    },
  },
  test: {
    include: ['**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});

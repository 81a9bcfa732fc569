import { defineConfig } from 'vitest/config';

// Unit tests of the pure modules (and the decode trace on the cpu backend); the browser test is test:e2e.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], environment: 'node', testTimeout: 120_000, pool: 'forks' },
});

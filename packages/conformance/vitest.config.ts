import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // One backend per process: scripts/run.mjs starts vitest once per backend with TARM_BACKEND set.
    fileParallelism: false,
  },
});

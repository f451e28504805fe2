import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The lspci oracle and generated trees do real file I/O; keep the pool small on 2-core machines.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

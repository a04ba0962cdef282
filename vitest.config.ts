import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'services/*/src/**/*.test.ts', 'services/*/test/**/*.test.ts', 'tools/**/*.test.ts', 'test/**/*.test.ts', 'services/*/web/**/*.test.tsx'],
    globalSetup: ['tools/src/test-infra.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration files each start consumers against one broker on a 2-core machine.
    maxWorkers: 2,
  },
});

import { defineConfig } from 'vitest/config';

// Tests that start a three-node Kafka cluster of their own (three JVMs): run with
// `pnpm test:cluster`, beside `pnpm test:chaos`, not in the default suite, whose runs on a
// loaded machine saw the cluster's start-up outlast its deadline.
export default defineConfig({
  test: {
    include: ['tools/src/**/*.cluster-test.ts'],
    globalSetup: ['tools/src/test-infra.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    maxWorkers: 1,
  },
});

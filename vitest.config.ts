import { defineConfig } from 'vitest/config';

// Three categories (the vitest/testcontainers habit):
// - unit: pure functions and tables, run in parallel;
// - integration: real processes, real sockets, real traffic: one file at a time, because the
//   machine has 2 cores and two load tests at once would measure each other;
// - docker: real containers on a real engine, one file at a time, after the rest.
export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          isolate: false,
          sequence: { groupOrder: 0 },
          include: ['{contract,sample-app,orchestrator,harness}/test/unit/**/*.test.ts', 'test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          isolate: false,
          sequence: { groupOrder: 1 },
          include: ['{sample-app,orchestrator,harness}/test/integration/**/*.test.ts', 'test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'docker',
          sequence: { groupOrder: 2 },
          include: ['{sample-app,orchestrator,harness}/test/docker/**/*.test.ts', 'test/docker/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});

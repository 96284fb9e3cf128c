import { defineConfig } from "vitest/config";

/**
 * `npm run test:faults`: the fault scenarios of test/faults (real worker, Redis and SMTP
 * processes). One file at a time: each starts its own redis-server and relay, and together they
 * would fight over two CPU cores. Plain `npm test` never loads these (see vitest.config.ts).
 */
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    fileParallelism: false,
    maxWorkers: 1,
    // Each scenario bounds its own waits below this, so a slow run still writes its summary row.
    testTimeout: 300_000,
    hookTimeout: 60_000,
    globalSetup: ["test/faults/summary.ts"],
    reporters: ["default"],
  },
});

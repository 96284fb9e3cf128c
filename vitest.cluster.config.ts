import { defineConfig } from "vitest/config";

/**
 * `npm run test:cluster`: convene on a real Redis Cluster (test/cluster/harness.ts starts six
 * redis-server processes per file). One file at a time: each file's cluster and workers would
 * fight over two CPU cores with another's. Plain `npm test` never loads these (vitest.config.ts).
 */
export default defineConfig({
  test: {
    include: ["test/cluster/**/*.test.ts"],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 90_000,
  },
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault scenarios run real Redis/SMTP/worker processes for minutes: `npm run test:faults`.
    // The cluster suite starts Redis Clusters: `npm run test:cluster`.
    exclude: ["test/faults/**", "test/cluster/**", "**/node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

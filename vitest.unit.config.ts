import { defineConfig } from "vitest/config";

/**
 * Test files that talk to Redis, an SMTP server or a browser. Everything else under test/ is
 * the unit suite (`npm run test:unit`): model, planner, render, calendar, mail composition and
 * the pure worker parts, which must pass on a machine with none of those services. A unit test
 * file that opens a TCP connection fails with a message pointing here (test/support/unit-setup.ts).
 */
export const NEEDS_SERVICES = [
  "test/faults/**",
  // A Redis Cluster of six redis-server processes (`npm run test:cluster`).
  "test/cluster/**",
  "test/firstrun/**",
  // convene serve: a real HTTP server on Redis, and a browser.
  "test/http/**",
  // The store's own tests (scripts, deletePrefix, calendar state) run against Redis.
  "test/store/**",
  "test/calendar/lifecycle.test.ts",
  "test/mail/config.test.ts",
  "test/mail/send-test.test.ts",
  "test/mail/smtp-settings.test.ts",
  "test/mail/transport.test.ts",
  "test/worker/calendar-changes.test.ts",
  "test/worker/calendar.test.ts",
  "test/worker/cli.test.ts",
  "test/worker/crash-policy.test.ts",
  "test/worker/deleted-step.test.ts",
  "test/worker/delivery.test.ts",
  "test/worker/edit-sequence.test.ts",
  "test/worker/edits.test.ts",
  "test/worker/lost-during-tick.test.ts",
  "test/worker/operator-logs.test.ts",
  "test/worker/processes.test.ts",
  "test/worker/rehearsal.test.ts",
  "test/worker/scheduling.test.ts",
  "test/worker/slowdown-waiting.test.ts",
  "test/worker/slowdown.test.ts",
  "test/worker/smtp-failures.test.ts",
  "test/worker/step-report-worker.test.ts",
  // convene worker --serve as a child process: Redis, SMTP and its HTTP port.
  "test/worker/serve-together.test.ts",
  // convene inbound: a real Dovecot, SMTP and Redis (classify.test.ts and rsvp-plan.test.ts are unit).
  "test/inbound/inbound.test.ts",
  "test/inbound/hostile.test.ts",
  "test/inbound/mailbox.test.ts",
  "test/worker/upgrade-layout.test.ts",
];

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: [...NEEDS_SERVICES, "**/node_modules/**"],
    setupFiles: ["test/support/unit-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

/**
 * Option values checked by commander's argParser (src/cli/options.ts): a bad one is a usage
 * error, exit 2, naming the option, before the command does anything.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";

const CASES: { args: string[]; env?: Record<string, string>; says: RegExp }[] = [
  {
    args: ["worker", "--concurrency", "0", "events"],
    says: /option '--concurrency <n>' argument '0' is invalid\. It must be a whole number ≥ 1\./,
  },
  {
    args: ["worker", "--concurrency", "2.5", "events"],
    says: /argument '2\.5' is invalid\. It must be a whole number ≥ 1\./,
  },
  {
    args: ["worker", "--horizon", "soon", "events"],
    says: /option '--horizon <duration>' argument 'soon' is invalid\. It is not a duration/,
  },
  {
    args: ["worker", "--cron", "every minute", "events"],
    says: /option '--cron <expression>' argument 'every minute' is invalid\. It is not a cron/,
  },
  {
    args: ["send-test", "events/ca-lmi-2017", "--step", "reminder-7d", "--to", "nope"],
    env: { SMTP_URL: "smtp://u:p@127.0.0.1:1", UNSUBSCRIBE_SECRET: "x".repeat(40) },
    says: /option '--to <email>' argument 'nope' is invalid\. It is not an e-mail address\./,
  },
];

describe("option values parsed by commander", () => {
  for (const c of CASES)
    it(`refuses ${c.args.slice(1).join(" ")} with exit 2`, () => {
      const r = runCli(c.args, { REDIS_URL: "redis://127.0.0.1:1", ...c.env });
      expect(r.stderr).toMatch(/^error: /);
      expect(r.stderr).toMatch(c.says);
      expect(r.status).toBe(2);
    });
});

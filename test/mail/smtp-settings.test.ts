/**
 * Settings that would make real mail unsafe or impossible stop the process at start-up with one
 * line naming the variable (issue 8: a 1-character UNSUBSCRIBE_SECRET was accepted, and a bad
 * SMTP_URL printed "Invalid URL" while the worker kept running). The CLI runs as a child
 * process, as an organizer starts it.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, requireUnsubscribeSecret } from "../../src/config.js";
import { ROOT } from "../support/cli.js";
import { deletePrefix } from "../support/redis.js";

const run = promisify(execFile);
const EVENT = join(ROOT, "test", "fixtures", "mail", "seed-letter");
const PREFIX = `convene-test-smtp-settings-${process.pid}`;
const GOOD_SECRET = "0123456789abcdef0123456789abcdef";

afterAll(async () => {
  // A worker that wrongly started may have left keys behind.
  await deletePrefix(PREFIX);
});

describe("UNSUBSCRIBE_SECRET strength", () => {
  it.each([["x"], ["s3cret"], ["0123456789abcdef0123456789abcde"]])(
    "%j is refused with SMTP_URL set, saying why and how",
    (secret) => {
      expect(() =>
        requireUnsubscribeSecret({ SMTP_URL: "smtp://relay.test", UNSUBSCRIBE_SECRET: secret }),
      ).toThrow(/UNSUBSCRIBE_SECRET .*at least 32 characters.*openssl rand -hex 32/);
    },
  );

  it("32 characters are enough; the outbox needs none", () => {
    expect(() =>
      requireUnsubscribeSecret({ SMTP_URL: "smtp://relay.test", UNSUBSCRIBE_SECRET: GOOD_SECRET }),
    ).not.toThrow();
    expect(() => requireUnsubscribeSecret({ UNSUBSCRIBE_SECRET: "x" })).not.toThrow();
  });
});

describe("SMTP_URL", () => {
  it.each([
    ["smtp://relay.test:587"],
    ["smtps://user:pass@relay.test:465"],
    ["smtp://user:p%40ss@relay.test?maxConnections=3"],
  ])("%s is accepted", (url) => {
    expect(loadConfig({ SMTP_URL: url }).smtpUrl).toBe(url);
  });

  it.each([
    ["not a url", /SMTP_URL .*not a URL/],
    ["relay.test:587", /SMTP_URL .*smtp:\/\/ or smtps:\/\//],
    ["https://user:hunter2@relay.test", /SMTP_URL .*smtp:\/\/ or smtps:\/\//],
    ["smtp://user:hunter2@", /SMTP_URL .*not a URL/],
    ["smtp:relay.test", /SMTP_URL .*host/],
    ["smtp://user:hunter2@relay test:587", /SMTP_URL .*not a URL/],
  ])("%j is a ConfigError naming SMTP_URL, without the password", (url, why) => {
    let error: unknown;
    try {
      loadConfig({ SMTP_URL: url });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(why);
    expect((error as Error).message).not.toContain("hunter2");
    expect((error as Error).message).not.toContain("\n");
  });
});

/** The timeout only ends a worker that (wrongly) started and would run forever. */
async function convene(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | string | null; stderr: string }> {
  try {
    const r = await run(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src", "cli.ts"), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, CONVENE_PREFIX: PREFIX, ...env },
        timeout: 20_000,
        killSignal: "SIGKILL",
      },
    );
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | string; signal?: string; stderr?: string };
    return { code: err.signal ?? err.code ?? null, stderr: err.stderr ?? "" };
  }
}

function expectOneLine(stderr: string, naming: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  expect(lines).toEqual([expect.stringMatching(naming)]);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain("hunter2");
}

describe("the CLI refuses to start on bad mail settings", () => {
  const BAD_URL = "smtp://lmi:hunter2@relay example.org:587";

  it("convene worker with a bad SMTP_URL exits 1 with one line", async () => {
    const r = await convene(["worker", EVENT], {
      SMTP_URL: BAD_URL,
      UNSUBSCRIBE_SECRET: GOOD_SECRET,
    });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /^convene: SMTP_URL /);
  });

  it("convene send-test with a bad SMTP_URL exits 1 with one line", async () => {
    const r = await convene(
      ["send-test", EVENT, "--step", "reminder-7d", "--to", "tester@qa.example.test"],
      { SMTP_URL: BAD_URL, UNSUBSCRIBE_SECRET: GOOD_SECRET },
    );
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /^convene: SMTP_URL /);
  });

  it("convene worker with a 1-character UNSUBSCRIBE_SECRET exits 1 with one line", async () => {
    const r = await convene(["worker", EVENT], {
      SMTP_URL: "smtp://127.0.0.1:9",
      UNSUBSCRIBE_SECRET: "x",
    });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /^convene: UNSUBSCRIBE_SECRET .*at least 32 characters/);
  });
});

/**
 * Unsubscribe tokens are only as unforgeable as their secret: real mail (SMTP_URL) must not go
 * out signed with the public development secret, while the outbox keeps working without one.
 */
import { execFile } from "node:child_process";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, requireUnsubscribeSecret } from "../../src/config.js";
import { ROOT } from "../support/cli.js";
import { deletePrefix } from "../support/redis.js";

const run = promisify(execFile);
const EVENT = join(ROOT, "test", "fixtures", "mail", "seed-letter");
const PREFIX = `convene-test-secret-${process.pid}`;

let server: SMTPServer;
let smtpUrl = "";
let delivered = 0;

beforeAll(async () => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, cb) {
      stream.on("data", () => {});
      stream.on("end", () => {
        delivered++;
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  smtpUrl = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  // A worker that wrongly started may have left keys behind.
  await deletePrefix(PREFIX);
});

/**
 * The CLI in a child process. The timeout only ends a worker that (wrongly) started and would
 * run forever; nothing is asserted about time.
 */
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
        env: { ...process.env, UNSUBSCRIBE_SECRET: "", ...env },
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

function expectOneLineNaming(stderr: string): void {
  const lines = stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^convene: .*UNSUBSCRIBE_SECRET/);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe("UNSUBSCRIBE_SECRET when real mail goes out", () => {
  it("is required with SMTP_URL, and an explicit copy of the development secret does not count", () => {
    expect(() => requireUnsubscribeSecret({ SMTP_URL: "smtp://mail.test" })).toThrow(
      /UNSUBSCRIBE_SECRET/,
    );
    expect(() =>
      requireUnsubscribeSecret({ SMTP_URL: "smtp://mail.test", UNSUBSCRIBE_SECRET: "" }),
    ).toThrow(/UNSUBSCRIBE_SECRET/);
    const dev = loadConfig({}).unsubscribeSecret;
    expect(() =>
      requireUnsubscribeSecret({ SMTP_URL: "smtp://mail.test", UNSUBSCRIBE_SECRET: dev }),
    ).toThrow(/UNSUBSCRIBE_SECRET/);
    expect(() =>
      requireUnsubscribeSecret({
        SMTP_URL: "smtp://mail.test",
        UNSUBSCRIBE_SECRET: "s3cret-s3cret-s3cret-s3cret-s3cret",
      }),
    ).not.toThrow();
  });

  it("the outbox (no SMTP_URL) keeps the development secret", () => {
    expect(() => requireUnsubscribeSecret({})).not.toThrow();
    expect(loadConfig({}).unsubscribeSecret).not.toBe("");
  });

  it("convene send-test refuses to start, with one line naming it, and sends nothing", async () => {
    const r = await convene(
      ["send-test", EVENT, "--step", "reminder-7d", "--to", "tester@qa.example.test"],
      { SMTP_URL: smtpUrl },
    );
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe("SIGKILL");
    expectOneLineNaming(r.stderr);
    expect(delivered).toBe(0);
  });

  it("convene worker refuses to start, with one line naming it", async () => {
    const r = await convene(["worker", EVENT], {
      SMTP_URL: smtpUrl,
      CONVENE_PREFIX: PREFIX,
    });
    expect(r.code).not.toBe("SIGKILL");
    expect(r.code).not.toBe(0);
    expectOneLineNaming(r.stderr);
    expect(delivered).toBe(0);
  });
});

/**
 * The built `convene serve`, as an operator starts it: it listens, answers /healthz and the
 * unsubscribe pages, never shows or logs the secrets it was given, and exits 0 on SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { unsubscribeToken } from "../../src/mail/unsubscribe.js";
import { ROOT } from "../support/cli.js";
import { deletePrefix, REDIS_URL } from "../support/redis.js";
import { MINI, uniquePrefix } from "../worker/fixture.js";

const BUILT_CLI = join(ROOT, "dist", "src", "cli.js");
const SECRET = "convene-serve-cli-secret-0123456789abcdef";
const SMTP_PASSWORD = "s3cret";

let child: ChildProcess | undefined;
const prefix = uniquePrefix();
afterEach(async () => {
  if (child?.exitCode === null) child.kill("SIGKILL");
  await deletePrefix(prefix);
});

/** Starts the server; resolves with its URL from the "listening" log line, and all its output. */
function start(
  args: string[],
): Promise<{ url: string; output: () => string; exit: Promise<number | null> }> {
  const c = spawn(process.execPath, [BUILT_CLI, "serve", ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL,
      CONVENE_PREFIX: prefix,
      UNSUBSCRIBE_SECRET: SECRET,
      SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@127.0.0.1:2525`,
      CONVENE_LOG_LEVEL: "debug",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = c;
  let out = "";
  const exit = new Promise<number | null>((r) => c.once("exit", (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 30_000);
    const seen = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:\/\/[^"]+)".*"msg":"convene serve listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1] as string, output: () => out, exit });
      }
    };
    c.stdout.on("data", seen);
    c.stderr.on("data", seen);
    c.once("exit", () => reject(new Error(`serve exited:\n${out}`)));
  });
}

describe("convene serve (built)", () => {
  it("starts on the given address, answers, keeps the secrets out of pages and logs, exits 0 on SIGTERM", async () => {
    const s = await start(["--listen", "127.0.0.1:0", MINI]);
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${s.url}/healthz`);
    expect(health.status).toBe(200);
    // No scheduler ran on this prefix: healthy all the same (serve often runs without one).
    expect(await health.json()).toEqual({
      redis: "ok",
      lastTick: null,
      tickAgeSeconds: null,
      scheduler: "none",
    });

    const token = encodeURIComponent(unsubscribeToken("ann@mini.test", SECRET));
    const pages = await Promise.all(
      [
        fetch(`${s.url}/unsubscribe?token=${token}`),
        fetch(`${s.url}/unsubscribe?token=${token}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "List-Unsubscribe=One-Click",
        }),
        fetch(`${s.url}/unsubscribe?token=nonsense`),
        fetch(`${s.url}/no-such-page`),
      ].map(async (r) => {
        const res = await r;
        return { status: res.status, text: await res.text() };
      }),
    );
    expect(pages.map((p) => p.status)).toEqual([200, 200, 400, 404]);
    for (const p of pages) {
      expect(p.text).not.toContain(SECRET);
      expect(p.text).not.toContain(SMTP_PASSWORD);
    }

    child?.kill("SIGTERM");
    expect(await s.exit).toBe(0);
    expect(s.output()).toContain('"msg":"stopped"');
    expect(s.output()).not.toContain(SECRET);
    expect(s.output()).not.toContain(SMTP_PASSWORD);
    // Request logs name the path, never the token (an address and its credential).
    expect(s.output()).not.toContain(decodeURIComponent(token));
  });

  it("refuses the public development secret on an address that is not loopback", async () => {
    const c = spawn(process.execPath, [BUILT_CLI, "serve", "--listen", "0.0.0.0:0", MINI], {
      cwd: ROOT,
      env: {
        ...process.env,
        REDIS_URL,
        CONVENE_PREFIX: prefix,
        UNSUBSCRIBE_SECRET: "",
        SMTP_URL: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = c;
    let err = "";
    c.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((r) => c.once("exit", r));
    expect(code).toBe(2);
    expect(err).toMatch(/UNSUBSCRIBE_SECRET is not set: on 0\.0\.0\.0, which is not loopback/);
  });

  it("refuses a --listen that is not HOST:PORT", async () => {
    const c = spawn(process.execPath, [BUILT_CLI, "serve", "--listen", "8090"], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL, CONVENE_PREFIX: prefix },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = c;
    let err = "";
    c.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    expect(await new Promise<number | null>((r) => c.once("exit", r))).toBe(2);
    expect(err).toContain("It must be HOST:PORT");
  });
});

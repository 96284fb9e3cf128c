/**
 * The built `convene serve` and its console switch, as an operator starts it: without
 * CONVENE_ADMIN_TOKEN (loopback or not) serve still starts and serves /unsubscribe and
 * /healthz, the console and API are 404 and the log says why; with the token, the login page
 * and the API answer, and neither the token nor the SMTP password reaches the log.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { unsubscribeToken } from "../../src/mail/unsubscribe.js";
import { ROOT } from "../support/cli.js";
import { deletePrefix, REDIS_URL } from "../support/redis.js";
import { MINI, uniquePrefix } from "../worker/fixture.js";
import { ADMIN_TOKEN, Client } from "./console-fixture.js";

const BUILT_CLI = join(ROOT, "dist", "src", "cli.js");
const SECRET = "convene-console-cli-secret-0123456789abcdef";
const SMTP_PASSWORD = "s3cret";

let child: ChildProcess | undefined;
const prefix = uniquePrefix();
afterEach(async () => {
  if (child?.exitCode === null) child.kill("SIGKILL");
  await deletePrefix(prefix);
});

/** Starts serve; resolves with a loopback URL to its port once it logs "listening". */
function start(
  listen: string,
  env: Record<string, string>,
): Promise<{ url: string; output: () => string; exit: Promise<number | null> }> {
  const c = spawn(process.execPath, [BUILT_CLI, "serve", "--listen", listen, MINI], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL,
      CONVENE_PREFIX: prefix,
      UNSUBSCRIBE_SECRET: SECRET,
      SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@127.0.0.1:2525`,
      CONVENE_LOG_LEVEL: "debug",
      CONVENE_ADMIN_TOKEN: "",
      ...env,
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
      const m = /"url":"http:\/\/[^"]+:(\d+)".*"msg":"convene serve listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${m[1]}`, output: () => out, exit });
      }
    };
    c.stdout.on("data", seen);
    c.stderr.on("data", seen);
    c.once("exit", () => reject(new Error(`serve exited:\n${out}`)));
  });
}

async function stop(s: { exit: Promise<number | null> }): Promise<void> {
  child?.kill("SIGTERM");
  expect(await s.exit).toBe(0);
}

describe("convene serve's console switch (built)", () => {
  it.each([
    ["on loopback", "127.0.0.1:0"],
    ["on an address that is not loopback", "0.0.0.0:0"],
  ])(
    "without CONVENE_ADMIN_TOKEN %s: unsubscribe works, console and API are 404, the log says why",
    async (_, listen) => {
      const s = await start(listen, {});
      expect(s.output()).toMatch(/console and API disabled: CONVENE_ADMIN_TOKEN is not set/);
      expect(s.output()).toMatch(/"console":"disabled"/);
      for (const p of ["/console/", "/console/login", "/api/events"])
        expect((await fetch(`${s.url}${p}`, { redirect: "manual" })).status, p).toBe(404);
      const token = encodeURIComponent(unsubscribeToken("ann@mini.test", SECRET));
      expect((await fetch(`${s.url}/unsubscribe?token=${token}`)).status).toBe(200);
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      await stop(s);
    },
  );

  it("a token shorter than 16 characters keeps the console off", async () => {
    const s = await start("127.0.0.1:0", { CONVENE_ADMIN_TOKEN: "short" });
    expect(s.output()).toMatch(/console and API disabled: CONVENE_ADMIN_TOKEN is shorter than 16/);
    expect((await fetch(`${s.url}/console/login`)).status).toBe(404);
    expect(s.output()).not.toContain('"short"');
    await stop(s);
  });

  it("with CONVENE_ADMIN_TOKEN: login and API answer; the token and SMTP password stay out of the log", async () => {
    const s = await start("127.0.0.1:0", { CONVENE_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(s.output()).toMatch(/"console":"http:\/\/127\.0\.0\.1:\d+\/console\/"/);
    const c = new Client(s.url);
    expect((await c.login("a-wrong-token-of-some-length")).status).toBe(401);
    expect((await c.login()).status).toBe(303);
    const events = await c.get("/console/");
    expect(events.status).toBe(200);
    expect(await events.text()).toContain("Mini Institute");
    const api = await fetch(`${s.url}/api/events`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { events: { id: string }[] };
    expect(body.events.map((e) => e.id)).toEqual(["mini"]);
    await stop(s);
    expect(s.output()).toMatch(/console login refused/);
    expect(s.output()).not.toContain(ADMIN_TOKEN);
    expect(s.output()).not.toContain(SMTP_PASSWORD);
  });
});

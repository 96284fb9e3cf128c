/**
 * `convene worker --serve`, built, as an operator starts it: the worker and the HTTP server in
 * one process. The letters it sends through a real SMTP server carry a one-click link under
 * the public URL it was given, the link works against the same process, /healthz shows its own
 * scheduler's tick, /metrics its sends and SMTP latency, and SIGTERM ends both within the bound.
 * And a worker with SMTP_URL but no public URL or UNSUBSCRIBE_URL refuses to start.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createStores } from "../../src/store/index.js";
import { scrape } from "../support/metrics-text.js";
import {
  dueSoon,
  eventSetup,
  letterStep,
  MINI,
  people,
  REDIS_URL,
  ROOT,
  testHooks,
  until,
} from "./fixture.js";

const hooks = testHooks();
const BUILT_CLI = join(ROOT, "dist", "src", "cli.js");
const SECRET = "convene-serve-together-secret-0123456789";

/** Bulk mail (press-release prompts): it carries List-Unsubscribe; a letter does not. */
function bulkStep(): object {
  return letterStep("prompt", { kind: "press-release-prompt" });
}

/** A port nothing listens on right now (the OS picks it; the child binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The parent's environment without what would give the child an unsubscribe URL. */
function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ["UNSUBSCRIBE_URL", "CONVENE_PUBLIC_URL", "CONVENE_METRICS_TOKEN"])
    if (!(k in extra)) delete env[k];
  return env;
}

interface Child {
  proc: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; at: number }>;
}

function run(args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, [BUILT_CLI, ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  hooks.children.push(proc);
  let out = "";
  proc.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  proc.stderr?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const exit = new Promise<{ code: number | null; at: number }>((r) =>
    proc.once("exit", (code) => r({ code, at: Date.now() })),
  );
  return { proc, output: () => out, exit };
}

describe("convene worker --serve (built)", () => {
  it("sends with <public URL>/unsubscribe links that the same process answers; exits 0 on SIGTERM", async () => {
    const soon = dueSoon(4);
    const ps = people(3);
    const { smtp, prefix, fx } = await eventSetup(hooks, {
      people: ps,
      steps: [bulkStep()],
      registrations: [soon.registration],
    });
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const shutdownMs = 2_000;
    const c = run(
      ["worker", "--serve", "--listen", `127.0.0.1:${port}`, "--public-url", publicUrl, fx.dir],
      baseEnv({
        REDIS_URL,
        CONVENE_PREFIX: prefix,
        SMTP_URL: smtp.url,
        UNSUBSCRIBE_SECRET: SECRET,
        CONVENE_SHUTDOWN_MS: String(shutdownMs),
      }),
    );
    await until(
      "the server to listen",
      () => c.output().includes('"msg":"convene serve listening"'),
      30_000,
    );
    // Its own scheduler's start-up tick.
    await until("a tick on /healthz", async () => {
      const h = (await (await fetch(`${publicUrl}/healthz`)).json()) as { lastTick: string | null };
      return h.lastTick !== null;
    });
    const health = await fetch(`${publicUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ redis: "ok", scheduler: "ok" });

    await smtp.waitFor(ps.length, 30_000);
    const stores = createStores(hooks.redis, prefix);
    const first = smtp.received[0];
    const list = first?.mail.headers.get("list") as { unsubscribe?: { url?: string } } | undefined;
    const link = list?.unsubscribe?.url ?? "";
    expect(link.startsWith(`${publicUrl}/unsubscribe?token=`)).toBe(true);
    for (const r of smtp.received) {
      const l = r.mail.headers.get("list") as { unsubscribe?: { url?: string } } | undefined;
      expect(l?.unsubscribe?.url?.startsWith(`${publicUrl}/unsubscribe?token=`)).toBe(true);
    }

    // One-click, exactly as Gmail does it, against the same process.
    const click = await fetch(link, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
      redirect: "manual",
    });
    expect(click.status).toBe(200);
    expect(await stores.suppressions.get(first?.to ?? "")).toBeDefined();

    // Its /metrics: the sends from Redis, the SMTP latency from its own memory.
    await until("every send recorded sent", async () => {
      const all = await stores.ledger.all("mini");
      return [...all.values()].filter((r) => r.state === "sent").length === ps.length;
    });
    const m = await scrape(publicUrl);
    expect(m.value("convene_sends", { event: "mini", step: "prompt", state: "sent" })).toBe(
      ps.length,
    );
    expect(m.histogramCount("convene_smtp_send_duration_seconds", { outcome: "accepted" })).toBe(
      ps.length,
    );

    const stopAt = Date.now();
    c.proc.kill("SIGTERM");
    const { code, at } = await c.exit;
    expect(code).toBe(0);
    expect(at - stopAt).toBeLessThan(shutdownMs + 4_000);
    expect(c.output()).toContain('"msg":"stopped"');
    expect(c.output()).not.toContain(SECRET);
    await expect(fetch(`${publicUrl}/healthz`)).rejects.toThrow();
  });

  it("with SMTP_URL and neither UNSUBSCRIBE_URL nor CONVENE_PUBLIC_URL, exits 1 saying why", async () => {
    const { smtp, prefix, fx } = await eventSetup(hooks, {
      people: people(1),
      steps: [bulkStep()],
      registrations: [dueSoon(2).registration],
    });
    const c = run(
      ["worker", fx.dir],
      baseEnv({
        REDIS_URL,
        CONVENE_PREFIX: prefix,
        SMTP_URL: smtp.url,
        UNSUBSCRIBE_SECRET: SECRET,
      }),
    );
    const { code } = await c.exit;
    expect(code).toBe(1);
    const lines = c.output().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^convene: SMTP_URL is set, but neither UNSUBSCRIBE_URL nor CONVENE_PUBLIC_URL \(--public-url\) is: .*Gmail and Yahoo require it to work/,
    );
    expect(c.output()).not.toMatch(/\n\s+at /);
    expect(smtp.rcptAttempts()).toBe(0);
  });

  it("--listen without --serve is a usage error (exit 2)", async () => {
    const c = run(
      ["worker", "--listen", "127.0.0.1:0", MINI],
      baseEnv({ REDIS_URL, SMTP_URL: "" }),
    );
    const { code } = await c.exit;
    expect(code).toBe(2);
    expect(c.output().trim()).toBe("convene: --listen needs --serve");
  });

  it("CONVENE_PUBLIC_URL alone is enough: the links are <public URL>/unsubscribe", async () => {
    const soon = dueSoon(3);
    const { smtp, prefix, fx } = await eventSetup(hooks, {
      people: people(1),
      steps: [bulkStep()],
      registrations: [soon.registration],
    });
    const publicUrl = "https://lists.example.org/convene";
    run(
      ["worker", fx.dir],
      baseEnv({
        REDIS_URL,
        CONVENE_PREFIX: prefix,
        SMTP_URL: smtp.url,
        UNSUBSCRIBE_SECRET: SECRET,
        CONVENE_PUBLIC_URL: `${publicUrl}/`,
      }),
    );
    await smtp.waitFor(1, 30_000);
    const list = smtp.received[0]?.mail.headers.get("list") as
      | { unsubscribe?: { url?: string } }
      | undefined;
    expect(list?.unsubscribe?.url).toMatch(
      /^https:\/\/lists\.example\.org\/convene\/unsubscribe\?token=[^&\s]+$/,
    );
  });
});

/**
 * Issue 11, "never loops on an error": what `convene worker` says, and whether it stops, when
 * Redis is unreachable or the wrong kind of server, when a definition is broken at start-up, and
 * on an ordinary tick of a campaign whose every send is missed. Real processes, a real Redis
 * (servers of its own for the outage and the replica; the one on 6379 is only read and written
 * under a unique prefix).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DateTime } from "luxon";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import {
  deletePrefix,
  letterStep,
  people,
  REDIS_URL,
  ROOT,
  sleep,
  spawnWorker,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "./fixture.js";

const hooks = testHooks();
const { cleanups, children } = hooks;
const servers: { child: ChildProcess; dir: string }[] = [];

afterAll(async () => {
  // Kill every server first: waiting on one that already exited must not spare the others.
  const exits = servers.map(
    (s) =>
      new Promise((r) => {
        if (s.child.exitCode !== null || s.child.signalCode !== null) return r(null);
        s.child.once("exit", r);
        s.child.kill("SIGKILL");
      }),
  );
  await Promise.all(exits);
  for (const s of servers) rmSync(s.dir, { recursive: true, force: true });
});

/** A redis-server of this file's own, data in a temp dir, stopped in afterAll. */
async function redisServer(port: number, ...extra: string[]): Promise<void> {
  const { answersPing } = await import("../../src/store/embedded.js");
  // A server left on the port would be tested instead of this one.
  if (await answersPing("127.0.0.1", port)) throw new Error(`port ${port} is already in use`);
  const dir = mkdtempSync(join(tmpdir(), "convene-redis-"));
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir, ...extra],
    { stdio: "ignore" },
  );
  servers.push({ child, dir });
  await until(`redis-server on ${port}`, () => answersPing("127.0.0.1", port));
}

interface Proc {
  child: ChildProcess;
  /** stdout and stderr, split into lines as they come. */
  lines: string[];
  exited: Promise<number | null>;
}

function worker(args: string[], env: Record<string, string>): Proc {
  const child = spawnWorker(children, args, env, "pipe");
  const lines: string[] = [];
  const collect = () => {
    let buf = "";
    return (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      lines.push(...parts.filter((l) => l.trim() !== ""));
    };
  };
  child.stdout?.on("data", collect());
  child.stderr?.on("data", collect());
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, lines, exited };
}

async function exitWithin(p: Proc, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A small event whose one letter is far in the future: the worker only plans it. */
function quietEvent() {
  const fx = writeEvent({
    people: people(2),
    steps: [letterStep("letter", { trigger: { at: "2098-01-02 09:00" } })],
  });
  cleanups.push(() => fx.cleanup());
  return fx;
}

function outbox(): string {
  const dir = mkdtempSync(join(tmpdir(), "convene-outbox-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("convene worker: errors back off and stop", () => {
  it("worker with Redis unreachable for 10 s logs fewer than 5 lines, says when it is back, exits 0 on SIGTERM", async () => {
    const port = 6499;
    const fx = quietEvent();
    const p = worker([fx.dir, "--cron", "*/2 * * * * *"], {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      CONVENE_PREFIX: uniquePrefix(),
      OUTBOX_DIR: outbox(),
      CONVENE_SHUTDOWN_MS: "2000",
      CONVENE_LOG_LEVEL: "info",
    });
    await sleep(10_000);
    expect(p.lines.length, p.lines.join("\n")).toBeLessThan(5);
    const down = p.lines.filter((l) => l.includes("Redis unreachable at"));
    expect(down).toHaveLength(1);
    expect(down[0]).toContain(`redis://127.0.0.1:${port}`);

    await redisServer(port);
    await until("Redis reachable again", () =>
      p.lines.some((l) => l.includes("Redis reachable again")),
    );
    expect(p.lines.filter((l) => l.includes("Redis reachable again"))).toHaveLength(1);
    // Down again: SIGTERM during the outage still exits 0 within the shutdown bound.
    servers.at(-1)?.child.kill("SIGKILL");
    await until("unreachable again", () =>
      p.lines.some((l, i) => i > 2 && l.includes("Redis unreachable at")),
    );
    const t0 = Date.now();
    p.child.kill("SIGTERM");
    expect(await exitWithin(p, 5_000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(p.lines.join("\n")).not.toContain("shutdown took too long");
  }, 60_000);

  it("against a read-only replica: exit 1 with one READONLY line, within seconds", async () => {
    await redisServer(6481);
    await redisServer(6482, "--replicaof", "127.0.0.1", "6481");
    const fx = quietEvent();
    const t0 = Date.now();
    const p = worker([fx.dir], {
      REDIS_URL: "redis://127.0.0.1:6482",
      CONVENE_PREFIX: uniquePrefix(),
      OUTBOX_DIR: outbox(),
    });
    expect(await exitWithin(p, 15_000)).toBe(1);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const readonly = p.lines.filter((l) => /READONLY|read-only/.test(l));
    expect(readonly, p.lines.join("\n")).toHaveLength(1);
    expect(readonly[0]).toContain(
      "Redis at redis://127.0.0.1:6482 is a read-only replica; point REDIS_URL at the master",
    );
    expect(p.lines.length, p.lines.join("\n")).toBeLessThan(6);
  }, 30_000);

  /** Runs a quiet worker against `url` and expects exit 1 with exactly one line matching `what`. */
  async function expectOneFatalLine(url: string, what: RegExp, says: string): Promise<void> {
    const p = worker([quietEvent().dir], {
      REDIS_URL: url,
      CONVENE_PREFIX: uniquePrefix(),
      OUTBOX_DIR: outbox(),
    });
    expect(await exitWithin(p, 15_000), p.lines.join("\n")).toBe(1);
    const fatal = p.lines.filter((l) => what.test(l));
    expect(fatal, p.lines.join("\n")).toHaveLength(1);
    expect(fatal[0]).toContain(says);
    expect(p.lines.length, p.lines.join("\n")).toBeLessThan(6);
  }

  it("against a Redis that wants a password: NOAUTH without one, WRONGPASS with a wrong one", async () => {
    await redisServer(6485, "--requirepass", "the-right-one");
    await expectOneFatalLine(
      "redis://127.0.0.1:6485",
      /requires a password/,
      "Redis at redis://127.0.0.1:6485 requires a password; put it in REDIS_URL",
    );
    const p = worker([quietEvent().dir], {
      REDIS_URL: "redis://:not-the-one@127.0.0.1:6485",
      CONVENE_PREFIX: uniquePrefix(),
      OUTBOX_DIR: outbox(),
    });
    expect(await exitWithin(p, 15_000), p.lines.join("\n")).toBe(1);
    const all = p.lines.join("\n");
    expect(all).toContain("refused the user name or password in REDIS_URL");
    // The operator sees where, never the password itself.
    expect(all).not.toContain("not-the-one");
  }, 40_000);

  it("against a node of a Redis Cluster: exit 1 with one line saying it is a cluster", async () => {
    // Two masters, half the slots each: convene's keys land on both, so a plain client gets
    // MOVED for some and CROSSSLOT for multi-key scripts.
    const cluster = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"];
    await redisServer(6486, ...cluster);
    await redisServer(6487, ...cluster);
    const cli = (port: number, ...args: string[]) =>
      execFileSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" });
    cli(6486, "CLUSTER", "ADDSLOTSRANGE", "0", "8191");
    cli(6487, "CLUSTER", "ADDSLOTSRANGE", "8192", "16383");
    cli(6486, "CLUSTER", "MEET", "127.0.0.1", "6487");
    await until(
      "the two-node cluster to be ok",
      () => /cluster_state:ok/.test(cli(6486, "CLUSTER", "INFO")),
      20_000,
    );
    await expectOneFatalLine(
      "redis://127.0.0.1:6486",
      /is a cluster/,
      "Redis at redis://127.0.0.1:6486 is a cluster; name it as one: REDIS_URL=redis+cluster://",
    );
  }, 60_000);

  it("a definition that does not load at start-up: exit 1 with the located problems", async () => {
    const nope = worker(["events/nope"], { REDIS_URL, CONVENE_PREFIX: uniquePrefix() });
    expect(await exitWithin(nope, 15_000)).toBe(1);
    expect(nope.lines.join("\n")).toContain("no event folder at events/nope");

    const fx = quietEvent();
    writeFileSync(join(fx.dir, "event.yaml"), "id: broken\ntitle: [unclosed\n");
    const bad = worker([fx.dir], { REDIS_URL, CONVENE_PREFIX: uniquePrefix() });
    expect(await exitWithin(bad, 15_000)).toBe(1);
    expect(bad.lines.join("\n"), bad.lines.join("\n")).toMatch(/event\.yaml:\d+:\d+: /);
  }, 40_000);
});

describe("convene worker: logs an operator can read", () => {
  it("the bundled 2017 campaign: one summary line for the tick, not a line per missed send", async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deletePrefix(prefix));
    const p = worker([join(ROOT, "events/ca-lmi-2017")], {
      REDIS_URL,
      CONVENE_PREFIX: prefix,
      OUTBOX_DIR: outbox(),
      CONVENE_LOG_LEVEL: "info",
    });
    await until(
      "the start-up tick",
      () => p.lines.some((l) => l.includes('"msg":"ca-lmi-2017: ')),
      60_000,
    );
    p.child.kill("SIGTERM");
    expect(await exitWithin(p, 15_000)).toBe(0);
    expect(p.lines.length, p.lines.join("\n")).toBeLessThan(20);
    const summary = p.lines.find((l) => l.includes('"msg":"ca-lmi-2017: '));
    // As many as the planner makes of the bundled campaign (all past), however many steps it has.
    const def = loadEventOrThrow(join(ROOT, "events/ca-lmi-2017"), KINDS);
    const n = plan(def, def.registrations, DateTime.utc()).length;
    expect(summary).toContain(
      `ca-lmi-2017: ${n} planned, ${n} missed (past their window), next due —`,
    );
  }, 90_000);

  it("on a terminal (pino-pretty) a send is one line, its error included", () => {
    const script = `
      import { createLogger } from "./src/worker/logger.ts";
      createLogger({ pretty: true }).info(
        { send: "ev.step.1", step: "step", recipient: "a@example.org", attempt: 1, err: "boom" },
        "send failed",
      );`;
    const out = execFileSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    const lines = out.split("\n").filter((l) => l.trim() !== "");
    expect(lines, out).toHaveLength(1);
    expect(lines[0]).toContain("send failed");
    expect(lines[0]).toContain("boom");
  });
});

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answersPing, isAlive } from "../../src/store/embedded.js";
import {
  CLOSED_PORT,
  envWithoutRedis,
  expectCleanedUp,
  pathWith,
  removeDir,
  requireBuild,
  runCliBuilt,
  STARTED,
  scratchWithExample,
  spawnCli,
} from "./support.js";

/** Nothing listens here: it stands in for a machine where 127.0.0.1:6379 has no Redis. */
const USING = /using the private redis-server at redis:\/\/127\.0\.0\.1:(\d+)/;

const scratch: string[] = [];
function newScratch(): string {
  const dir = scratchWithExample();
  scratch.push(dir);
  return dir;
}

/** Servers a failed test may leave: stopped by their pid file, never by name. */
afterAll(() => {
  for (const dir of scratch) {
    const server = join(dir, ".convene", "redis", "server.json");
    if (existsSync(server)) {
      const { pid } = JSON.parse(readFileSync(server, "utf8")) as { pid: number };
      if (isAlive(pid)) process.kill(pid, "SIGTERM");
    }
    removeDir(dir);
  }
});

beforeAll(async () => {
  requireBuild();
  expect(await answersPing("127.0.0.1", CLOSED_PORT)).toBe(false);
});

describe("a private Redis when REDIS_URL is unset and none answers", () => {
  it("is shared by processes started at once: one starts it, the others find it, the last stops it", async () => {
    const dir = newScratch();
    const env = {
      ...envWithoutRedis(pathWith(dir, { redisServer: true }), CLOSED_PORT),
      CONVENE_LOG_LEVEL: "warn",
    };
    const workers = [0, 1].map(() =>
      spawnCli(["worker", "events/ca-lmi-2017"], { cwd: dir, env, timeoutMs: 120_000 }),
    );
    const announced = () =>
      workers.every((w) => STARTED.test(w.stderr()) || USING.test(w.stderr()));
    for (let i = 0; i < 200 && !announced(); i++) await new Promise((r) => setTimeout(r, 100));
    const all = workers.map((w) => w.stderr()).join("\n");
    expect(all.match(new RegExp(STARTED, "g")), all).toHaveLength(1);
    expect(all.match(new RegExp(USING, "g")), all).toHaveLength(1);
    const port = Number(STARTED.exec(all)?.[1]);
    expect(Number(USING.exec(all)?.[1])).toBe(port);

    // A one-shot command joins the running server, and its exit does not stop it.
    const status = await runCliBuilt(["status", "events/ca-lmi-2017"], { cwd: dir, env });
    expect(status.status, status.stderr).toBe(0);
    expect(status.stderr).toMatch(USING);
    expect(await answersPing("127.0.0.1", port)).toBe(true);

    const [first, second] = workers;
    first?.child.kill("SIGTERM");
    expect((await first?.done)?.status).toBe(0);
    expect(await answersPing("127.0.0.1", port)).toBe(true);
    second?.child.kill("SIGTERM");
    expect((await second?.done)?.status).toBe(0);
    await expectCleanedUp(dir, port);
  }, 120_000);

  it("replaces a stale pid/port file: a dead pid, a port nobody answers on", async () => {
    const dir = newScratch();
    const state = join(dir, ".convene", "redis");
    mkdirSync(join(state, "clients"), { recursive: true });
    writeFileSync(
      join(state, "server.json"),
      JSON.stringify({
        pid: 2 ** 22 + 7,
        port: CLOSED_PORT,
        url: `redis://127.0.0.1:${CLOSED_PORT}`,
      }),
    );
    writeFileSync(join(state, "clients", String(2 ** 22 + 9)), "");
    const env = envWithoutRedis(pathWith(dir, { redisServer: true }), CLOSED_PORT);
    const r = await runCliBuilt(["suppress", "someone@example.org"], { cwd: dir, env });
    expect(r.status, r.stderr).toBe(0);
    const port = Number(STARTED.exec(r.stderr)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(CLOSED_PORT);
    await expectCleanedUp(dir, port);

    // The data outlives the server: the next command's server still knows the suppression.
    const again = await runCliBuilt(["unsuppress", "someone@example.org"], { cwd: dir, env });
    expect(again.stdout).toContain("1 address unsuppressed");
  }, 60_000);

  it("without redis-server either, says in one paragraph what is needed, exit 1", async () => {
    const dir = newScratch();
    const env = envWithoutRedis(pathWith(dir, { redisServer: false }), CLOSED_PORT);
    const r = await runCliBuilt(["status", "events/ca-lmi-2017"], { cwd: dir, env });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim().split("\n\n")).toHaveLength(1);
    for (const needed of [
      "REDIS_URL",
      "redis-server",
      "apt install redis-server",
      "brew install redis",
      "docker compose up -d redis",
      "plan, validate, preview and calendar work without Redis",
    ])
      expect(r.stderr).toContain(needed);
    expect(existsSync(join(dir, ".convene"))).toBe(false);

    const plan = await runCliBuilt(["plan", "events/ca-lmi-2017"], { cwd: dir, env });
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stderr).toBe("");
  }, 60_000);
});

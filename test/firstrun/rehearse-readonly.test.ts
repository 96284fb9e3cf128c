import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OwnRedis, startOwnRedis } from "./redis-servers.js";
import { removeDir, requireBuild, runCliBuilt, scratchWithExample } from "./support.js";

let master: OwnRedis;
let replica: OwnRedis;
let dir: string;

beforeAll(async () => {
  requireBuild();
  master = await startOwnRedis(6461);
  replica = await startOwnRedis(6462, ["--replicaof", "127.0.0.1", "6461"]);
  dir = scratchWithExample();
});
afterAll(async () => {
  await replica?.stop();
  await master?.stop();
  if (dir) removeDir(dir);
});

describe("rehearse when scheduling fails", () => {
  it("exits non-zero with the reason (READONLY) and claims no outbox to open", async () => {
    const r = await runCliBuilt(["rehearse", "events/ca-lmi-2017"], {
      cwd: dir,
      env: { ...process.env, REDIS_URL: replica.url, CONVENE_PREFIX: "convene-readonly" },
      timeoutMs: 120_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/convene: .*READONLY/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).not.toMatch(/open .*index\.html/);
  }, 150_000);
});

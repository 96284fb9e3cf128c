/**
 * Issue 11: `registrations import` of a big file shows its progress on a terminal, and says
 * nothing but its result when piped. 3,000 teams, so the import is big enough to show it.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStores } from "../../src/store/index.js";
import { connectTestRedis, deletePrefix, REDIS_URL } from "../support/redis.js";
import {
  type EventFixture,
  letterStep,
  people,
  uniquePrefix,
  writeEvent,
} from "../worker/fixture.js";
import { BUILT_CLI, requireBuild } from "./support.js";

const N = 3_000;
const prefix = uniquePrefix();
let fx: EventFixture;
let csv: string;

beforeAll(() => {
  requireBuild();
  fx = writeEvent({
    people: people(N, (i) => `t${i}`),
    steps: [letterStep("letter", { trigger: { at: "2098-01-02 09:00" } })],
  });
  csv = join(fx.dir, "big.csv");
  const rows = Array.from({ length: N }, (_, i) => `t${i},2030-01-01 09:00`);
  writeFileSync(csv, `team,registered_at\n${rows.join("\n")}\n`);
});
afterAll(async () => {
  fx?.cleanup();
  await deletePrefix(prefix);
});

const env = () => ({ ...process.env, REDIS_URL, CONVENE_PREFIX: prefix });

describe("registrations import of a big file", () => {
  it("on a terminal: redraws how many are recorded, then the result", async () => {
    const cmd = `"${process.execPath}" "${BUILT_CLI}" registrations import "${fx.dir}" "${csv}"`;
    const r = spawnSync("/usr/bin/script", ["-qfec", cmd, "/dev/null"], {
      env: env(),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stdout).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are what is removed.
    const screen = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
    expect(screen).toContain("Recording registrations: 500 of 3,000");
    expect(screen).toContain("Recording registrations: 3,000 of 3,000");
    expect(screen).toContain(`${N} registrations recorded for mini.`);
    const redis = connectTestRedis();
    try {
      expect(await createStores(redis, prefix).registrations.list("mini")).toHaveLength(N);
    } finally {
      redis.disconnect();
    }
  }, 90_000);

  it("piped: only the result line, no progress", () => {
    const r = spawnSync(process.execPath, [BUILT_CLI, "registrations", "import", fx.dir, csv], {
      env: env(),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      `0 registrations recorded for mini (${N} already known with an earlier or equal time).\n`,
    );
  }, 90_000);
});

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { deletePrefix, REDIS_URL } from "../support/redis.js";
import { uniquePrefix } from "../worker/fixture.js";
import { BUILT_CLI, removeDir, requireBuild, runCliBuilt, scratchWithExample } from "./support.js";

const prefix = uniquePrefix();
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  requireBuild();
  dir = scratchWithExample();
  env = { ...process.env, REDIS_URL, CONVENE_PREFIX: prefix };
});
afterAll(async () => {
  removeDir(dir);
  await deletePrefix(prefix);
});

/** A real shell pipe into `head -1`: convene's exit code and stderr, once head has gone. */
function intoHead(args: string): { status: number; stderr: string; first: string } {
  const r = spawnSync(
    "bash",
    [
      "-c",
      `"${process.execPath}" "${BUILT_CLI}" ${args} 2>stderr.txt | head -1; exit \${PIPESTATUS[0]}`,
    ],
    { cwd: dir, env, encoding: "utf8", timeout: 120_000 },
  );
  return {
    status: r.status ?? -1,
    stderr: readFileSync(join(dir, "stderr.txt"), "utf8"),
    first: r.stdout,
  };
}

describe("the CLI's manners", () => {
  it("ends quietly with exit 0 when the reader of its output goes away (EPIPE)", () => {
    const plan = intoHead("plan events/ca-lmi-2017 --json");
    expect(plan.first).toBe("[\n");
    expect(plan.stderr).toBe("");
    expect(plan.status).toBe(0);
    const status = intoHead("status events/ca-lmi-2017 --failures");
    expect(status.first).toMatch(/^STEP/);
    expect(status.stderr).toBe("");
    expect(status.status).toBe(0);
  }, 120_000);

  it("names a missing event folder as typed, not the folder above it", async () => {
    const r = await runCliBuilt(["validate", "events/nope"], { cwd: dir, env });
    expect(r.stderr).toBe("convene: no event folder at events/nope\n");
    expect(r.status).toBe(1);
    const p = await runCliBuilt(["plan", "events/nope/"], { cwd: dir, env });
    expect(p.stderr).toBe("convene: no event folder at events/nope/\n");
  });

  it("asks which event when given a folder of several", async () => {
    mkdirSync(join(dir, "events", "b"), { recursive: true });
    for (const f of ["event.yaml", "campaign.yaml"])
      writeFileSync(
        join(dir, "events", "b", f),
        readFileSync(join(dir, "events", "ca-lmi-2017", f)),
      );
    try {
      const r = await runCliBuilt(["plan", "events"], { cwd: dir, env });
      expect(r.stderr).toBe(
        "convene: events/ holds 2 events; name one: events/b, events/ca-lmi-2017\n",
      );
      expect(r.status).toBe(1);
    } finally {
      removeDir(join(dir, "events", "b"));
    }
  });

  it("shows the CSV path of registrations import as typed", async () => {
    mkdirSync(join(dir, "extra"), { recursive: true });
    writeFileSync(
      join(dir, "extra", "regs.csv"),
      "team,registered_at\nno-such-team,2017-05-16 10:00\n",
    );
    const r = await runCliBuilt(
      ["registrations", "import", "events/ca-lmi-2017", "./extra/regs.csv"],
      { cwd: dir, env },
    );
    expect(r.stderr).toMatch(/^\.\/extra\/regs\.csv:2:1: team: "no-such-team"/);
    expect(r.status).toBe(1);
  });

  it("prints its version, and exits 2 when called wrongly", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    const v = await runCliBuilt(["--version"], { cwd: dir, env });
    expect(v.stdout).toBe(`${pkg.version}\n`);
    expect(v.status).toBe(0);
    for (const args of [["plan"], ["plan", "events/ca-lmi-2017", "--bogus"], ["bogus"]]) {
      const r = await runCliBuilt(args, { cwd: dir, env });
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^error: /);
    }
    const help = await runCliBuilt(["--help"], { cwd: dir, env });
    expect(help.status).toBe(0);
  });
});

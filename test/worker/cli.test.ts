/** The organizer-facing commands: registrations, suppressions, control, status (in-process). */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import {
  declareControl,
  declareRegistrations,
  declareStatus,
  declareSuppress,
} from "../../src/cli/commands.js";
import { createStores, type Stores } from "../../src/store/index.js";
import {
  connectTestRedis,
  deletePrefix,
  type EventFixture,
  letterStep,
  people,
  REDIS_URL,
  uniquePrefix,
  writeEvent,
} from "./fixture.js";

let redis: Redis;
let stores: Stores;
let fx: EventFixture;
const prefix = uniquePrefix();
const saved = { prefix: process.env.CONVENE_PREFIX, redis: process.env.REDIS_URL };

beforeAll(() => {
  process.env.CONVENE_PREFIX = prefix;
  process.env.REDIS_URL = REDIS_URL;
  redis = connectTestRedis();
  stores = createStores(redis, prefix);
  fx = writeEvent({
    people: people(3, (i) => `t${i}`),
    steps: [
      letterStep("letter", { trigger: { at: "2017-05-15 09:00" } }),
      letterStep("later", { trigger: { at: "2098-01-02 09:00" } }),
    ],
  });
});
afterAll(async () => {
  fx.cleanup();
  await deletePrefix(prefix);
  redis.disconnect();
  if (saved.prefix === undefined) delete process.env.CONVENE_PREFIX;
  else process.env.CONVENE_PREFIX = saved.prefix;
  if (saved.redis === undefined) delete process.env.REDIS_URL;
  else process.env.REDIS_URL = saved.redis;
});

async function convene(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const program = new Command().exitOverride();
  const kinds = async () => KINDS;
  declareRegistrations(program, kinds);
  declareSuppress(program);
  declareControl(program, kinds);
  declareStatus(program, kinds);
  let out = "";
  let err = "";
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => {
    err += s;
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await program.parseAsync(["node", "convene", ...args]);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

describe("organizer commands", () => {
  it("registrations import records times and rejects unknown teams with file:line", async () => {
    const bad = join(fx.dir, "bad.csv");
    writeFileSync(bad, "team,registered_at\nt0,2030-01-01 09:00\nnope,2030-01-01 10:00\n");
    const r1 = await convene("registrations", "import", fx.dir, bad);
    expect(r1.code).toBe(1);
    expect(r1.err).toMatch(/bad\.csv:3:1: team: "nope" is not a team/);
    expect(await stores.registrations.list("mini")).toEqual([]);

    const good = join(fx.dir, "good.csv");
    writeFileSync(good, "team,registered_at\nt0,2030-01-01 09:00\nt1,2030-01-02T10:00:00Z\n");
    const r2 = await convene("registrations", "import", fx.dir, good);
    expect(r2.out).toBe("2 registrations recorded for mini.\n");
    const regs = new Map(
      (await stores.registrations.list("mini")).map((r) => [r.team, r.registeredAt]),
    );
    expect(regs.get("t0")).toBe("2030-01-01T17:00:00.000Z");
    expect(regs.get("t1")).toBe("2030-01-02T10:00:00.000Z");
  });

  it("register keeps the earliest time and names unknown teams", async () => {
    expect(
      (await convene("register", fx.dir, "--team", "t2", "--at", "2030-02-01 08:00")).out,
    ).toMatch(/^t2 registered for mini at 2030-02-01T16:00:00.000Z/);
    expect(
      (await convene("register", fx.dir, "--team", "t2", "--at", "2030-03-01 08:00")).out,
    ).toMatch(/already registered/);
    const r = await convene("register", fx.dir, "--team", "zz");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/"zz" is not a team/);
  });

  it("suppress and unsuppress", async () => {
    expect((await convene("suppress", "A@X.test", "--reason", "asked")).out).toBe(
      "1 address suppressed.\n",
    );
    expect((await stores.suppressions.get("a@x.test"))?.reason).toBe("asked");
    expect((await convene("unsuppress", "a@x.test", "b@x.test")).out).toBe(
      "1 address unsuppressed. Not suppressed: b@x.test.\n",
    );
    expect((await convene("suppress", "not-an-address")).code).toBe(2);
  });

  it("pause, resume and cancel, per step or for the event", async () => {
    expect((await convene("pause", fx.dir, "--step", "nope")).err).toMatch(
      /no step "nope".*letter, later/,
    );
    await convene("pause", fx.dir, "--step", "letter");
    expect((await stores.control.get("mini")).of("letter")).toBe("paused");
    expect((await stores.control.get("mini")).of("later")).toBeUndefined();
    expect((await convene("resume", fx.dir, "--step", "letter")).out).toMatch(
      /^Resumed step letter/,
    );
    expect((await stores.control.get("mini")).of("letter")).toBeUndefined();
    await convene("cancel", fx.dir, "--step", "later");
    const r = await convene("resume", fx.dir, "--step", "later");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cancelled/);
  });

  it("status: JSON shape, text table and the failures report", async () => {
    const j = JSON.parse((await convene("status", fx.dir, "--json")).out);
    expect(j).toEqual({
      event: "mini",
      steps: [
        {
          step: "letter",
          kind: "invitation-letter",
          planned: 3,
          states: {
            scheduled: 0,
            sending: 0,
            sent: 0,
            failed: 0,
            skipped: 0,
            suppressed: 0,
            missed: 3,
            unconfirmed: 0,
            bounced: 0,
          },
          nextDue: null,
        },
        {
          step: "later",
          kind: "invitation-letter",
          planned: 3,
          // cancelled above: never going out
          states: {
            scheduled: 0,
            sending: 0,
            sent: 0,
            failed: 0,
            skipped: 3,
            suppressed: 0,
            missed: 0,
            unconfirmed: 0,
            bounced: 0,
          },
          nextDue: null,
        },
      ],
    });
    const text = await convene("status", fx.dir, "--failures", "--step", "letter");
    expect(text.out).toMatch(/^STEP\s+KIND\s+PLANNED\s+SCHEDULED/);
    expect(text.out).toMatch(/missed\s+letter\s+person00000@people\.test\s+not sent by/);
    expect(text.out).toMatch(/3 sends need attention/);
  });
});

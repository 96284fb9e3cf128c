/**
 * Issue 12: a tick whose definition, registrations, RSVPs and controls are unchanged since the
 * process's last full tick does only what time changed (scheduler.ts, "Unchanged ticks"). Redis
 * work is counted with MONITOR on the real Redis, only for this test's key prefix.
 */
import { Worker as BullWorker, UnrecoverableError } from "bullmq";
import { Redis } from "ioredis";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { QUEUE_NAME } from "../../src/worker/queue.js";
import { TestClock } from "../support/clock.js";
import {
  connectTestRedis,
  eventSetup,
  inProcessWorker,
  letterStep,
  people,
  REDIS_URL,
  testHooks,
} from "./fixture.js";

const hooks = testHooks();
const N = 300;

/** Counts the commands Redis runs on keys under `prefix` (script-internal ones included). */
async function commandCounter(prefix: string) {
  const admin = new Redis(REDIS_URL);
  const monitor = await admin.monitor();
  let n = 0;
  /** The commands the client sent (not those a script ran). */
  const sent: string[][] = [];
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (!args.some((a) => a.includes(prefix))) return;
    n++;
    if (source !== "lua") sent.push(args);
  });
  hooks.cleanups.push(() => {
    monitor.disconnect();
    admin.disconnect();
  });
  // MONITOR lines arrive after the reply of the command they report: wait until they stop.
  const settled = async (): Promise<number> => {
    for (;;) {
      const seen = n;
      await new Promise((r) => setTimeout(r, 300));
      if (n === seen) return n;
    }
  };
  return {
    settled,
    sent,
    async during(f: () => Promise<unknown>): Promise<number> {
      const before = await settled();
      await f();
      return (await settled()) - before;
    },
  };
}

async function setup(fullTickMs?: number) {
  const clock = new TestClock(DateTime.utc().startOf("minute"));
  // `at` is in the event's zone (the mini fixture's).
  const at = (minutes: number) =>
    clock.now().plus({ minutes }).setZone("America/Los_Angeles").toFormat("yyyy-MM-dd HH:mm");
  const { fx, config, prefix } = await eventSetup(hooks, {
    people: people(N),
    steps: [
      letterStep("now", { trigger: { at: at(30) } }),
      letterStep("later", { trigger: { at: at(180) } }),
    ],
  });
  const counter = await commandCounter(prefix);
  const w = inProcessWorker({
    paths: [fx.dir],
    config,
    processors: false,
    clock: clock.now,
    settings: fullTickMs === undefined ? {} : { fullTickMs },
  });
  hooks.cleanups.push(() => w.close());
  return { w, clock, counter, prefix };
}

describe("an unchanged tick", () => {
  it("issues a few Redis commands, not several per send as a full tick does", async () => {
    const { w, counter } = await setup();
    await w.ready;
    // Counting started before the worker did: all of it is the start-up (full) tick.
    const full = await counter.settled();
    const [summary] = (await w.scheduler?.tick()) ?? [];
    const unchanged = await counter.during(() => w.scheduler?.tick() ?? Promise.resolve());
    expect(summary?.planned).toBe(2 * N);
    expect(full).toBeGreaterThan(5 * N);
    // Registrations, controls, RSVPs, the failed set, the tick record: not per send.
    expect(unchanged).toBeLessThan(40);
  });

  it("is a full one with CONVENE_FULL_TICK 0 (the comparison above is not vacuous)", async () => {
    const { w, counter } = await setup(0);
    await w.ready;
    const again = await counter.during(() => w.scheduler?.tick() ?? Promise.resolve());
    expect(again).toBeGreaterThan(N);
  });

  it("moves a full tick's sends and asks after their jobs a batch per command, not one each", async () => {
    const { w, counter, prefix } = await setup(0);
    const named = (name: string) =>
      counter.sent.filter((args) => (args[0] ?? "").toLowerCase() === name).length;
    const onLedger = () => counter.sent.filter((args) => args.includes(`${prefix}:ledger:mini`));
    await w.ready;
    await counter.settled();
    // The start-up tick moved N sends to scheduled.
    expect(onLedger().length).toBeLessThan(5);
    counter.sent.length = 0;
    await w.scheduler?.tick();
    await counter.settled();
    // A full tick over N scheduled sends asks after their N jobs: no EXISTS or ZSCORE per job.
    expect(named("exists") + named("zscore")).toBe(0);
    expect(named("evalsha") + named("eval")).toBeLessThan(5);
  });

  it("reads one ledger record per step occurrence being delivered, not one per send", async () => {
    const { w, clock, counter, prefix } = await setup();
    await w.ready;
    await w.scheduler?.tick();
    // The first step is due and nothing sends (no processors): its N sends stay open.
    clock.set(clock.now().plus({ minutes: 31 }));
    await counter.settled();
    counter.sent.length = 0;
    await w.scheduler?.tick();
    await counter.settled();
    const ledgerReads = counter.sent
      .filter((args) => (args[0] ?? "").toLowerCase() === "hmget")
      .filter((args) => args[1] === `${prefix}:ledger:mini`)
      .reduce((n, args) => n + args.length - 2, 0);
    expect(ledgerReads).toBeGreaterThan(0);
    expect(ledgerReads).toBeLessThan(10);
  });

  it("still queues the sends that came inside the horizon, and only those", async () => {
    const { w, clock } = await setup();
    await w.ready;
    expect(await w.queue.getJobCounts("delayed")).toMatchObject({ delayed: N });
    clock.set(clock.now().plus({ hours: 2, minutes: 30 }));
    const [summary] = (await w.scheduler?.tick()) ?? [];
    // The second step's sends come inside the hour; the first's are past their one-hour window.
    expect(summary).toMatchObject({ queued: N, missed: N, requeued: 0 });
    expect(await w.queue.getJobCounts("delayed")).toMatchObject({ delayed: N });
    const next = (await w.scheduler?.tick()) ?? [];
    expect(next[0]).toMatchObject({ queued: 0, missed: 0 });
  });

  it("records sends missed since the last tick", async () => {
    const { w, clock } = await setup();
    await w.ready;
    // Past the first step's one-hour window; nothing processed its jobs.
    clock.set(clock.now().plus({ minutes: 95 }));
    const [summary] = (await w.scheduler?.tick()) ?? [];
    expect(summary).toMatchObject({ missed: N, queued: 0 });
    expect(await w.queue.getJobCounts("delayed")).toMatchObject({ delayed: 0 });
  });

  it("queues again a send whose job failed since the last tick", async () => {
    const { w, prefix } = await setup();
    await w.ready;
    const [id] = [...(await w.stores.ledger.pending("mini")).keys()].sort();
    // What an exception before the claim on the last attempt leaves: the job in the failed set.
    await (await w.queue.getJob(id as string))?.promote();
    const conn = connectTestRedis({ maxRetriesPerRequest: null });
    const taker = new BullWorker(QUEUE_NAME, null, {
      connection: conn,
      prefix: `${prefix}:bull`,
      autorun: false,
    });
    const job = await taker.getNextJob("test-token");
    expect(job?.id).toBe(id);
    await job?.moveToFailed(new UnrecoverableError("died before the claim"), "test-token");
    await taker.close();
    conn.disconnect();
    const [summary] = (await w.scheduler?.tick()) ?? [];
    expect(summary).toMatchObject({ requeued: 1, queued: 1 });
    expect(await w.queue.getJobState(id as string)).toBe("delayed");
  });
});

/**
 * Issue 12: a tick queues new sends only while fewer than CONVENE_QUEUE_AHEAD jobs wait to run,
 * and the held-back sends are queued as the senders make room (scheduler.ts, "Queueing ahead").
 * Nobody is forgotten and nobody mailed twice: every recipient gets exactly one message, and the
 * queue never holds more than the setting allows.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { isError } from "../../src/model/problems.js";
import { createStores } from "../../src/store/index.js";
import { DefinitionCache } from "../../src/worker/definitions.js";
import { TestClock } from "../support/clock.js";
import {
  deletePrefix,
  dueSoon,
  eventSetup,
  inProcessWorker,
  letterStep,
  people,
  sleep,
  startSmtp,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "./fixture.js";

const hooks = testHooks();

/** Jobs in the queue that are not running: waiting, prioritized, paused or delayed. */
async function queued(w: { queue: { getJobCounts(...t: string[]): Promise<object> } }) {
  const c = (await w.queue.getJobCounts("wait", "prioritized", "paused", "delayed")) as Record<
    string,
    number
  >;
  return Object.values(c).reduce((a, b) => a + b, 0);
}

describe("queueing ahead", () => {
  it("holds the queue to CONVENE_QUEUE_AHEAD and still mails every recipient exactly once", async () => {
    const N = 40;
    const AHEAD = 5;
    const smtp = await startSmtp();
    const prefix = uniquePrefix();
    const soon = dueSoon(4);
    const fx = writeEvent({
      people: people(N),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    hooks.cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    // 20 messages a second: the 40 take two seconds, many top-ups.
    const config = testConfig(prefix, smtp.url);
    const w = inProcessWorker({
      paths: [fx.dir],
      config,
      settings: { queueAhead: AHEAD, sendRate: 20 },
    });
    hooks.cleanups.push(() => w.close());
    let most = 0;
    const sampling = setInterval(() => {
      queued(w).then(
        (n) => {
          most = Math.max(most, n);
        },
        () => undefined,
      );
    }, 50);
    hooks.cleanups.push(() => clearInterval(sampling));
    await w.ready;
    const stores = createStores(hooks.redis, prefix);
    // The start-up tick queued what fits (a ledger record each, whether sent yet or not); the
    // rest waits in the plan (status: scheduled), for top-ups once it is due.
    expect((await stores.ledger.all("mini")).size).toBe(AHEAD);
    await smtp.waitFor(N, 30_000);
    await until("ledger all sent", async () => {
      const all = await stores.ledger.all("mini");
      return all.size === N && [...all.values()].every((r) => r.state === "sent");
    });
    const to = smtp.received.map((r) => r.to);
    expect(new Set(to).size).toBe(N);
    expect(to.length).toBe(N);
    expect(most).toBeLessThanOrEqual(AHEAD);
  });

  it("queues the earliest due first, adds nothing at later ticks while the room is taken, and a new process plans the rest again", async () => {
    const N = 12;
    const clock = new TestClock(DateTime.utc().startOf("minute"));
    const at = (minutes: number) =>
      clock.now().plus({ minutes }).setZone("America/Los_Angeles").toFormat("yyyy-MM-dd HH:mm");
    // Six recipients, two steps: the one listed first is due later.
    const { fx, config, prefix } = await eventSetup(hooks, {
      people: people(N / 2),
      steps: [
        letterStep("later", { trigger: { at: at(40) } }),
        letterStep("sooner", { trigger: { at: at(30) } }),
      ],
    });
    const stepsOf = async () =>
      [...(await createStores(hooks.redis, prefix).ledger.all("mini")).keys()]
        .map((id) => id.split(".")[1])
        .sort();
    const start = (queueAhead: number) => {
      const w = inProcessWorker({
        paths: [fx.dir],
        config,
        processors: false,
        clock: clock.now,
        settings: { queueAhead },
      });
      hooks.cleanups.push(() => w.close());
      return w;
    };
    const w = start(5);
    await w.ready;
    expect(await queued(w)).toBe(5);
    expect(await stepsOf()).toEqual(Array(5).fill("sooner"));
    // The five delayed jobs are what the queue may hold: every later tick adds none. (Counted
    // as ready to run only, they once let each minute's tick queue five more of a step due in
    // an hour, until all of it sat in Redis.)
    for (let i = 0; i < 3; i++) {
      const [again] = (await w.scheduler?.tick()) ?? [];
      expect(again).toMatchObject({ planned: N, queued: 0, held: 7 });
      expect(await queued(w)).toBe(5);
    }
    await w.close();
    const stores = createStores(hooks.redis, prefix);
    expect((await stores.ledger.all("mini")).size).toBe(5);
    // A process that starts over (a crash, a deploy) finds the seven in its own plan.
    const again = start(0);
    await again.ready;
    expect(await queued(again)).toBe(N);
    const ledger = await stores.ledger.all("mini");
    expect([...ledger.values()].filter((r) => r.state === "scheduled")).toHaveLength(N);
    const [last] = (await again.scheduler?.tick()) ?? [];
    expect(last).toMatchObject({ queued: 0, held: 0 });
  });

  it.each([
    ["in 40 minutes", 40],
    ["a minute after it", 2],
  ])(
    "never holds back a step falling due now for the delayed jobs of a later one, due %s",
    async (_, laterIn) => {
      const N = 6;
      // The real clock, as BullMQ's: a job's wall-clock due time is then its send's.
      const minute = DateTime.utc().startOf("minute");
      const at = (minutes: number) =>
        minute.plus({ minutes }).setZone("America/Los_Angeles").toFormat("yyyy-MM-dd HH:mm");
      const later = letterStep("later", { trigger: { at: at(laterIn) } });
      const { fx, config, prefix } = await eventSetup(hooks, {
        people: people(N),
        steps: [later],
      });
      const w = inProcessWorker({
        paths: [fx.dir],
        config,
        processors: false,
        settings: { queueAhead: 4 },
      });
      hooks.cleanups.push(() => w.close());
      await w.ready;
      expect(await queued(w)).toBe(4);
      // The organizer adds a step due within the minute: the room the later step took is not its.
      fx.setSteps([later, letterStep("soon", { trigger: { at: at(1) } })]);
      const [tick] = (await w.scheduler?.tick()) ?? [];
      expect(tick).toMatchObject({ planned: 2 * N, queued: 4, held: 2 + 2 });
      const steps = [...(await createStores(hooks.redis, prefix).ledger.all("mini")).keys()].map(
        (id) => id.split(".")[1],
      );
      expect(steps.filter((s) => s === "soon")).toHaveLength(4);
      expect(steps.filter((s) => s === "later")).toHaveLength(4);
      // And the queue is full now: the next tick queues nothing more of either step.
      const [next] = (await w.scheduler?.tick()) ?? [];
      expect(next).toMatchObject({ queued: 0, held: 4 });
    },
  );
});

describe("a paused step", () => {
  it("does not take the room of the steps still sending, though its jobs come back every moment", async () => {
    const N = 6;
    const smtp = await startSmtp();
    const prefix = uniquePrefix();
    const soon = dueSoon(3);
    // Both steps fall due together; the paused one is planned first.
    const fx = writeEvent({
      people: people(N),
      steps: [letterStep("paused"), letterStep("sending")],
      registrations: [soon.registration],
    });
    hooks.cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    const stores = createStores(hooks.redis, prefix);
    await stores.control.pause("mini", "paused");
    // Its jobs are put back every 500 ms (pauseRecheckMs in tests), always due within moments.
    const w = inProcessWorker({
      paths: [fx.dir],
      config: testConfig(prefix, smtp.url),
      settings: { queueAhead: 4 },
    });
    hooks.cleanups.push(() => w.close());
    await w.ready;
    await smtp.waitFor(N, 20_000);
    expect(smtp.received.map((r) => r.sendId.split(".")[1])).toEqual(Array(N).fill("sending"));
    // The paused step's jobs took no more than the room: the rest of it waits in the plan.
    expect(await queued(w)).toBeLessThanOrEqual(4);
  });
});

describe("an event folder removed while sends are held", () => {
  it("gets nothing more queued, as a worker restarted without it would not queue any", async () => {
    const smtp = await startSmtp();
    const prefix = uniquePrefix();
    const soon = dueSoon(3);
    const fx = writeEvent({
      people: people(6),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    hooks.cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    // The folder that holds the event, as `convene worker events/` is given one.
    const w = inProcessWorker({
      paths: [dirname(fx.dir)],
      config: testConfig(prefix, smtp.url),
      settings: { queueAhead: 2, sendRate: 2 },
    });
    hooks.cleanups.push(() => w.close());
    await w.ready;
    const stores = createStores(hooks.redis, prefix);
    expect((await stores.ledger.all("mini")).size).toBe(2);
    rmSync(fx.dir, { recursive: true });
    // Past the due time, with room made: top-ups would have queued the held four by now.
    await smtp.waitFor(2, 20_000);
    await sleep(3_000);
    expect((await stores.ledger.all("mini")).size).toBe(2);
  });
});

describe("calendar updates", () => {
  it("are never held back: their version is committed as issued in the tick that decides them", async () => {
    const N = 6;
    const prefix = uniquePrefix();
    const smtp = await startSmtp();
    const soon = dueSoon(3);
    const fx = writeEvent({
      people: people(N),
      registrations: [soon.registration],
      steps: [
        {
          id: "invite",
          kind: "calendar-invite",
          audience: "people",
          trigger: { anchor: "registration", offset: "1m" },
          when: { registered: true },
          items: ["day-2099-06-20"],
          missedWindow: "1h",
        },
      ],
    });
    hooks.cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    const config = testConfig(prefix, smtp.url);
    const start = () => {
      const w = inProcessWorker({ paths: [fx.dir], config, settings: { queueAhead: 2 } });
      hooks.cleanups.push(() => w.close());
      return w;
    };
    const w = start();
    await smtp.waitFor(N, 20_000);
    const stores = createStores(hooks.redis, prefix);
    await until("the invites recorded sent", async () =>
      [...(await stores.ledger.all("mini")).values()].every((r) => r.state === "sent"),
    );
    // The organizer moves the day: every holder gets an update, more than the room there is.
    const file = join(fx.dir, "event.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace('start: "09:00"', 'start: "10:00"'));
    const [edit] = (await w.scheduler?.tick()) ?? [];
    expect(edit).toMatchObject({ queued: N, held: 0 });
    // A restart right after: what that tick issued must still reach everyone.
    await w.close();
    start();
    await smtp.waitFor(2 * N, 20_000);
    const updates = smtp.received.slice(N).map((r) => r.to);
    expect(new Set(updates).size).toBe(N);
  });
});

describe("the start-up check's definitions", () => {
  it("are the ones the first tick uses, unless a file is still being written", () => {
    const fx = writeEvent({ people: people(3), steps: [letterStep()] });
    hooks.cleanups.push(() => fx.cleanup());
    const defs = new DefinitionCache({ kinds: KINDS, settleMs: 0 });
    expect(defs.check(fx.dir).filter(isError)).toEqual([]);
    // Same files: not read again.
    const first = defs.load(fx.dir, true);
    expect(first.changed).toBe(false);
    expect(first.loaded?.def.event.id).toBe("mini");
    // Files written a moment ago are checked, not kept: the tick reads them once they settle.
    const fresh = new DefinitionCache({ kinds: KINDS, settleMs: 60_000 });
    expect(fresh.check(fx.dir).filter(isError)).toEqual([]);
    expect(fresh.load(fx.dir, true).loaded).toBeUndefined();
  });
});

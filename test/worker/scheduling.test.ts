import { Worker as BullWorker, UnrecoverableError } from "bullmq";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { Controls } from "../../src/store/control.js";
import { createStores } from "../../src/store/index.js";
import { Ledger } from "../../src/store/ledger.js";
import { createQueue, QUEUE_NAME } from "../../src/worker/queue.js";
import { computeStatus } from "../../src/worker/status.js";
import { wakeDueJobs } from "../../src/worker/wake.js";
import type { RunningWorker } from "../../src/worker/worker.js";
import { reach, TestClock } from "../support/clock.js";
import {
  connectTestRedis,
  deletePrefix,
  dueSoon,
  inProcessWorker,
  letterStep,
  people,
  shiftedClock,
  startSmtp,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "./fixture.js";

const hooks = testHooks();
const { cleanups } = hooks;

async function env(fx: { cleanup(): void }) {
  const prefix = uniquePrefix();
  const smtp = await startSmtp();
  cleanups.push(
    () => fx.cleanup(),
    () => smtp.close(),
    () => deletePrefix(prefix),
  );
  return {
    prefix,
    smtp,
    stores: createStores(hooks.redis, prefix),
    config: testConfig(prefix, smtp.url),
  };
}

function keep(w: RunningWorker): RunningWorker {
  cleanups.push(() => w.close());
  return w;
}

describe("scheduler and re-checks", () => {
  it("a registration recorded between scheduling and the due time skips the reminder", async () => {
    const { clock, minute } = shiftedClock(5);
    const fx = writeEvent({
      people: people(3, (i) => `t${i}`),
      steps: [
        {
          id: "reminder",
          kind: "deadline-reminder",
          audience: "people",
          subject: "Please register",
          trigger: { at: minute.setZone("America/Los_Angeles").toFormat("yyyy-MM-dd HH:mm") },
          when: { registered: false },
          missedWindow: "1h",
        },
      ],
    });
    const { smtp, stores, config, prefix } = await env(fx);
    const w = keep(inProcessWorker({ paths: [fx.dir], config, clock }));
    await w.ready;
    // All three reminders are queued as delayed jobs…
    const queue = createQueue(hooks.redis, `${prefix}:bull`);
    cleanups.push(() => queue.close());
    expect(await queue.getDelayedCount()).toBe(3);
    // …then team t1 registers, before the due time.
    expect(clock() < minute).toBe(true);
    await stores.registrations.record("mini", "t1", clock().toUTC().toISO() as string);

    await smtp.waitFor(2);
    await until("the third send is decided", async () => {
      const all = await stores.ledger.all("mini");
      return [...all.values()].every((r) => r.state !== "scheduled");
    });
    const byRecipient = new Map(
      [...(await stores.ledger.all("mini")).values()].map((r) => [r.recipient, r]),
    );
    const registered = people(3)[1]?.email as string;
    expect(byRecipient.get(registered)?.state).toBe("skipped");
    expect(byRecipient.get(registered)?.reason).toMatch(/team t1 registered/);
    expect(smtp.received.map((r) => r.to).sort()).toEqual(
      [people(3)[0]?.email, people(3)[2]?.email].sort(),
    );
    expect(smtp.received[0]?.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m);
  });

  it("a definition edit re-times moved sends and skips removed ones", async () => {
    const clock = new TestClock();
    const soon = dueSoon(4, "t1", clock.now());
    const ps = people(4);
    const fx = writeEvent({
      people: ps,
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    const { smtp, stores, config, prefix } = await env(fx);
    const w = keep(inProcessWorker({ paths: [fx.dir], config, clock: clock.now }));
    await w.ready;
    const queue = createQueue(hooks.redis, `${prefix}:bull`);
    cleanups.push(() => queue.close());
    expect(await queue.getDelayedCount()).toBe(4);

    // Edit: the letter moves 30 minutes later and the last person leaves the audience.
    fx.setSteps([letterStep("letter", { trigger: { anchor: "registration", offset: "31m" } })]);
    fx.setPeople(ps.slice(0, 3));
    const summary = await w.scheduler?.tick();
    expect(summary?.[0]).toMatchObject({ retimed: 3, skipped: 1, queued: 3 });

    const newDue = soon.due.plus({ minutes: 30 }).toMillis();
    const all = await stores.ledger.all("mini");
    for (const [id, rec] of all) {
      if (rec.recipient === ps[3]?.email) {
        expect(rec.state).toBe("skipped");
        expect(rec.reason).toMatch(/removed from audience people/);
        expect(await queue.getJob(id)).toBeUndefined();
      } else {
        expect(rec.state).toBe("scheduled");
        expect(rec.due).toBe(newDue);
        const job = await queue.getJob(id);
        expect(job?.data.due).toBe(DateTime.fromMillis(newDue, { zone: "UTC" }).toISO());
        expect((job?.timestamp ?? 0) + (job?.delay ?? 0)).toBeGreaterThan(newDue - 2000);
      }
    }
    // The old due time passes: nothing goes out.
    await reach(clock, w, "mini", soon.due.plus({ seconds: 1 }));
    expect(smtp.rcptAttempts()).toBe(0);
    expect(smtp.received).toHaveLength(0);

    // Moved back (now in the past, inside the missed window): they go out at once.
    fx.setSteps([letterStep()]);
    await w.scheduler?.tick();
    await smtp.waitFor(3);
    expect(smtp.received.map((r) => r.to).sort()).toEqual(ps.slice(0, 3).map((p) => p.email));
  });

  it("pause holds sends past their due time and resume sends them", async () => {
    const clock = new TestClock();
    const soon = dueSoon(3, "t1", clock.now());
    const fx = writeEvent({
      people: people(5),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    const { smtp, stores, config, prefix } = await env(fx);
    await stores.control.pause("mini", "letter");
    // A re-check period longer than the test: a held job is back in the delayed set only
    // because its processor saw the pause, not because a re-check came round.
    const w = keep(
      inProcessWorker({
        paths: [fx.dir],
        config,
        clock: clock.now,
        settings: { pauseRecheckMs: 60_000 },
      }),
    );
    await w.ready;
    await reach(clock, w, "mini", soon.due.plus({ seconds: 2 }));
    expect(smtp.rcptAttempts()).toBe(0);
    expect(smtp.received).toHaveLength(0);
    const held = await stores.ledger.all("mini");
    expect([...held.values()].map((r) => r.state)).toEqual(Array(5).fill("scheduled"));
    expect(await w.queue.getDelayedCount()).toBe(5);

    expect(await stores.control.resume("mini", "letter")).toBe(true);
    const queue = createQueue(hooks.redis, `${prefix}:bull`);
    cleanups.push(() => queue.close());
    expect(await wakeDueJobs(queue, "mini", "letter", clock.now().toMillis())).toBe(5);
    await smtp.waitFor(5);
    expect(new Set(smtp.received.map((r) => r.to)).size).toBe(5);
  });

  it("cancel skips every remaining send of the step, and resume does not bring them back", async () => {
    const clock = new TestClock();
    const soon = dueSoon(3, "t1", clock.now());
    const fx = writeEvent({
      people: people(4),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    const { smtp, stores, config } = await env(fx);
    const w = keep(inProcessWorker({ paths: [fx.dir], config, clock: clock.now }));
    await w.ready;
    expect(await w.queue.getDelayedCount()).toBe(4);
    await stores.control.cancel("mini", "letter");
    expect(await stores.control.resume("mini", "letter")).toBe(false);
    await w.scheduler?.tick();
    expect(await w.queue.getDelayedCount()).toBe(0);
    await reach(clock, w, "mini", soon.due.plus({ seconds: 1 }));
    const all = [...(await stores.ledger.all("mini")).values()];
    expect(all.map((r) => r.state)).toEqual(Array(4).fill("skipped"));
    expect(all[0]?.reason).toBe("step cancelled");
    expect(smtp.rcptAttempts()).toBe(0);
    expect(smtp.received).toHaveLength(0);
  });

  it("sends past their missed window are recorded missed, never sent; status accounts for each", async () => {
    const fx = writeEvent({
      people: people(6),
      steps: [
        letterStep("old", { trigger: { at: "2017-05-15 09:00" }, missedWindow: "2d" }),
        letterStep("late", {
          trigger: {
            at: DateTime.utc()
              .minus({ hours: 2 })
              .setZone("America/Los_Angeles")
              .toFormat("yyyy-MM-dd HH:mm"),
          },
          missedWindow: "1d",
        }),
      ],
    });
    const { smtp, stores, config } = await env(fx);
    const w = keep(inProcessWorker({ paths: [fx.dir], config }));
    await w.ready;
    // "late" is two hours late but inside its one-day window: it goes out now.
    await smtp.waitFor(6);
    await until(
      "late sends recorded",
      async () =>
        [...(await stores.ledger.all("mini")).values()].filter((r) => r.state === "sent").length ===
        6,
    );
    const all = await stores.ledger.all("mini");
    const old = [...all].filter(([id]) => id.startsWith("mini.old."));
    expect(old).toHaveLength(6);
    for (const [, r] of old) {
      expect(r.state).toBe("missed");
      expect(r.reason).toMatch(/missed window/);
    }
    expect(smtp.received.every((r) => r.sendId.startsWith("mini.late."))).toBe(true);

    const def = loadEventOrThrow(fx.dir, KINDS);
    const now = DateTime.utc();
    const { status, failures } = computeStatus(
      def,
      plan(def, def.registrations, now),
      all,
      new Controls({}),
      now,
    );
    expect(status.steps.map((s) => [s.step, s.planned, s.states.missed, s.states.sent])).toEqual([
      ["old", 6, 6, 0],
      ["late", 6, 0, 6],
    ]);
    for (const s of status.steps)
      expect(Object.values(s.states).reduce((a, b) => a + b, 0)).toBe(s.planned);
    expect(failures.filter((f) => f.state === "missed")).toHaveLength(6);
  });
});

describe("lost jobs are found and re-queued", () => {
  it("a scheduled send whose job failed or vanished is queued again by the next tick and delivered once", async () => {
    const soon = dueSoon(4);
    const ps = people(4);
    const fx = writeEvent({
      people: ps,
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    const { smtp, stores, config, prefix } = await env(fx);
    // Scheduler only: the jobs are queued but nobody processes them yet. Every tick is a full
    // one: a vanished job is found by the full reconcile (test/worker/unchanged-tick.test.ts).
    const sch = keep(
      inProcessWorker({ paths: [fx.dir], config, processors: false, settings: { fullTickMs: 0 } }),
    );
    await sch.ready;
    const queue = sch.queue;
    const ids = [...(await stores.ledger.pending("mini")).keys()].sort();
    expect(ids).toHaveLength(4);
    const [failedId, goneId] = ids as [string, string];

    // One job ends in BullMQ's failed set before any claim (what an exception before the claim
    // on the last attempt, or a job stalled too often, leaves behind)…
    await (await queue.getJob(failedId))?.promote();
    const conn = connectTestRedis({ maxRetriesPerRequest: null });
    const taker = new BullWorker(QUEUE_NAME, null, {
      connection: conn,
      prefix: `${prefix}:bull`,
      autorun: false,
    });
    const job = await taker.getNextJob("test-token");
    expect(job?.id).toBe(failedId);
    await job?.moveToFailed(new UnrecoverableError("died before the claim"), "test-token");
    await taker.close();
    conn.disconnect();
    expect(await queue.getJobState(failedId)).toBe("failed");
    // …and another's job is gone (removed for re-timing, then the add failed).
    await queue.remove(goneId);
    expect(await queue.getJobState(goneId)).toBe("unknown");
    const ledger = await stores.ledger.getMany("mini", [failedId, goneId]);
    expect(ledger.get(failedId)?.state).toBe("scheduled");
    expect(ledger.get(goneId)?.state).toBe("scheduled");

    keep(inProcessWorker({ paths: [fx.dir], config, scheduler: false }));
    await sch.scheduler?.tick();
    await smtp.waitFor(4, 20_000);
    await until("all sent", async () => {
      const all = await stores.ledger.all("mini");
      return [...all.values()].filter((r) => r.state === "sent").length === 4;
    });
    expect(smtp.received.map((r) => r.to).sort()).toEqual(ps.map((p) => p.email).sort());
    expect(new Set(smtp.received.map((r) => r.sendId))).toEqual(new Set(ids));
  });

  it("a send left `sending` long ago with no job gets a job again (for the processor's crash path)", async () => {
    const soon = dueSoon(2);
    const fx = writeEvent({
      people: people(2),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    const { stores, config } = await env(fx);
    const lockMs = 1_000;
    const sch = keep(
      inProcessWorker({
        paths: [fx.dir],
        config,
        processors: false,
        settings: { lockMs, fullTickMs: 0 },
      }),
    );
    await sch.ready;
    const [stuck] = [...(await stores.ledger.pending("mini")).keys()].sort() as [string];
    // Its process died mid-send long ago and the job is gone (stalled out and trimmed).
    const rec = await stores.ledger.get("mini", stuck);
    const longAgo = new Ledger(hooks.redis, stores.keys, () => Date.now() - 60 * lockMs);
    const claimed = await longAgo.claim("mini", stuck, rec?.recipient as string);
    expect(claimed.ok).toBe(true);
    await sch.queue.remove(stuck);
    expect(await sch.queue.getJobState(stuck)).toBe("unknown");

    await sch.scheduler?.tick();
    expect(await sch.queue.getJobState(stuck)).not.toBe("unknown");
    // A processor then takes it through the crash path: whatever that decides, it is no
    // longer left `sending`.
    keep(inProcessWorker({ paths: [fx.dir], config, scheduler: false, settings: { lockMs } }));
    await until(
      "the stuck send is decided",
      async () => (await stores.ledger.get("mini", stuck))?.state !== "sending",
      20_000,
    );
  });
});

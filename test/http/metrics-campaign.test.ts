/**
 * /metrics during a real campaign: the worker sends through a real SMTP server on loopback
 * while `convene serve`'s own wiring (startServer, the function `convene serve` and
 * `convene worker --serve` both run) answers /metrics on the same Redis. At each point the
 * exposition, read with an independent parser, must say what the ledger and the queue say.
 */
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { startServer } from "../../src/cli/serve.js";
import { createStores } from "../../src/store/index.js";
import { STATES } from "../../src/store/ledger.js";
import { createLogger } from "../../src/worker/logger.js";
import { inProcessMetrics } from "../../src/worker/metrics.js";
import { reach, TestClock } from "../support/clock.js";
import { type Exposition, scrape } from "../support/metrics-text.js";
import {
  dueSoon,
  eventSetup,
  inProcessWorker,
  letterStep,
  people,
  testHooks,
} from "../worker/fixture.js";

const hooks = testHooks();
const silent = () =>
  createLogger({ level: process.env.CONVENE_TEST_LOG ?? "silent", pretty: false });

/** The ledger's counts per step and state, read from Redis directly. */
async function ledgerCounts(stores: ReturnType<typeof createStores>, event: string) {
  const out = new Map<string, number>();
  for (const [id, rec] of await stores.ledger.all(event)) {
    const step = id.split(".")[1] as string;
    const key = `${step}/${rec.state}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** Every state of every step in the exposition equals the ledger's count (zeros included). */
function expectSendsMatch(m: Exposition, counts: Map<string, number>, steps: string[]) {
  for (const step of steps)
    for (const state of STATES)
      expect(
        m.value("convene_sends", { event: "mini", step, kind: "invitation-letter", state }),
        `${step}/${state}`,
      ).toBe(counts.get(`${step}/${state}`) ?? 0);
  const total = m.samples("convene_sends").reduce((n, [, v]) => n + v, 0);
  expect(total).toBe([...counts.values()].reduce((n, v) => n + v, 0));
}

describe("/metrics during a campaign", () => {
  it("the send counters per state follow the ledger before, during and after the sends", async () => {
    const clock = new TestClock();
    // Due 30 s of real time after the clock: the jobs stay delayed until the test moves it.
    const soon = dueSoon(30, "t1", clock.now());
    const ps = people(5);
    const [, gone, refused] = ps.map((p) => p.email);
    const { smtp, prefix, fx, config } = await eventSetup(hooks, {
      people: ps,
      steps: [
        letterStep("letter"),
        letterStep("later", { trigger: { anchor: "registration", offset: "5m" } }),
      ],
      registrations: [soon.registration],
    });
    smtp.setPolicy((address) =>
      address === refused ? { code: 550, message: "5.1.1 no such user" } : undefined,
    );
    const stores = createStores(hooks.redis, prefix);
    await stores.suppressions.add(gone as string, "test: unsubscribed");

    const server = await startServer(KINDS, [fx.dir], {
      listen: { host: "127.0.0.1", port: 0 },
      config,
      log: silent(),
      inProcess: inProcessMetrics,
    });
    hooks.cleanups.push(() => server.close());

    // No tick yet: nothing in the ledger, no tick gauges.
    const empty = await scrape(server.url);
    expect(empty.value("convene_redis_up")).toBe(1);
    expect(empty.samples("convene_sends")).toEqual([]);
    expect(empty.family("convene_scheduler_last_tick_timestamp_seconds")).toBeUndefined();
    const smtpBefore = await scrape(server.url);
    const accepted0 = smtpBefore.histogramCount("convene_smtp_send_duration_seconds", {
      outcome: "accepted",
    });
    const failed0 = smtpBefore.histogramCount("convene_smtp_send_duration_seconds", {
      outcome: "failed",
    });

    const w = inProcessWorker({ paths: [fx.dir], config, clock: clock.now });
    hooks.cleanups.push(() => w.close());
    await w.ready;

    // Queued: every send of both steps scheduled, as delayed jobs.
    const queued = await scrape(server.url);
    const c1 = await ledgerCounts(stores, "mini");
    expect(c1.get("letter/scheduled")).toBe(ps.length);
    expectSendsMatch(queued, c1, ["letter", "later"]);
    expect(queued.value("convene_queue_jobs", { state: "delayed" })).toBe(
      await w.queue.getDelayedCount(),
    );
    expect(queued.value("convene_queue_jobs", { state: "delayed" })).toBe(2 * ps.length);
    const tick = await stores.ticks.last();
    expect(queued.value("convene_scheduler_last_tick_timestamp_seconds")).toBe(
      (tick?.at ?? 0) / 1000,
    );
    expect(queued.value("convene_scheduler_last_tick_duration_seconds")).toBe(
      (tick?.durationMs ?? -1) / 1000,
    );

    // The letter's moment: three go out, one is suppressed, one refused for good.
    await reach(clock, w, "mini", soon.due.plus({ seconds: 1 }));
    await smtp.waitFor(ps.length - 2);
    const sent = await scrape(server.url);
    const c2 = await ledgerCounts(stores, "mini");
    expect(c2.get("letter/sent")).toBe(smtp.received.length);
    expect(c2.get("letter/suppressed")).toBe(1);
    expect(c2.get("letter/failed")).toBe(1);
    expectSendsMatch(sent, c2, ["letter", "later"]);
    expect(sent.value("convene_queue_jobs", { state: "failed" })).toBe(
      await w.queue.getFailedCount(),
    );
    expect(sent.value("convene_queue_jobs", { state: "delayed" })).toBe(ps.length);
    // The in-process SMTP latency histogram counted each SMTP answer.
    expect(sent.histogramCount("convene_smtp_send_duration_seconds", { outcome: "accepted" })).toBe(
      accepted0 + smtp.received.length,
    );
    expect(sent.histogramCount("convene_smtp_send_duration_seconds", { outcome: "failed" })).toBe(
      failed0 + 1,
    );

    // The second step: the refused address is suppressed now too.
    await reach(clock, w, "mini", soon.due.plus({ minutes: 4, seconds: 1 }));
    await smtp.waitFor(2 * (ps.length - 2));
    const after = await scrape(server.url);
    const c3 = await ledgerCounts(stores, "mini");
    expect(c3.get("later/sent")).toBe(ps.length - 2);
    expect(c3.get("later/suppressed")).toBe(2);
    expectSendsMatch(after, c3, ["letter", "later"]);
    expect(after.value("convene_queue_jobs", { state: "delayed" })).toBe(0);
    // No address in any label or anywhere in the exposition.
    for (const p of ps) expect(after.text).not.toContain(p.email);
    expect(after.text).not.toMatch(/@/);
    expect(
      DateTime.fromSeconds(after.value("convene_scheduler_last_tick_timestamp_seconds") ?? 0) >
        DateTime.utc().minus({ minutes: 1 }),
    ).toBe(true);
  });
});

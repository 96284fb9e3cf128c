/**
 * Upgrade safety on one Redis. The cluster layout (hash-tagged keys, a queue per event) is only
 * used on a cluster; on one Redis the key names are the ones earlier versions wrote. A
 * deployment's ledger under those names must be found after an upgrade, or everyone would be
 * mailed again. The old names are written here literally, not through keys.ts, so that a change
 * of the single-node layout fails this test.
 */
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { createStores } from "../../src/store/index.js";
import {
  dueSoon,
  eventSetup,
  inProcessWorker,
  letterStep,
  people,
  testHooks,
  until,
} from "./fixture.js";

const hooks = testHooks();
const { cleanups } = hooks;

describe("upgrade: an existing single-Redis deployment", () => {
  it("a ledger written under the old key names with `sent` records: the worker does not send those again", async () => {
    const soon = dueSoon(3);
    const { smtp, prefix, fx, config } = await eventSetup(hooks, {
      people: people(10),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    const def = loadEventOrThrow(fx.dir, KINDS);
    const sends = plan(def, def.registrations, DateTime.utc());
    expect(sends).toHaveLength(10);
    const already = sends.slice(0, 6);
    // What an earlier version left: records in `<prefix>:ledger:<event>`, one-letter JSON.
    const at = Date.now() - 86_400_000;
    for (const s of already)
      await hooks.redis.hset(
        `${prefix}:ledger:mini`,
        s.id,
        JSON.stringify({ s: "sent", n: 1, e: s.recipient, q: at, t: at, r: "250 OK", k: s.kind }),
      );

    const w = inProcessWorker({ paths: [fx.dir], config });
    cleanups.push(() => w.close());
    await w.ready;
    await smtp.waitFor(4);
    const stores = createStores(hooks.redis, prefix);
    await until("the four new sends recorded sent", async () => {
      const recs = [...(await stores.ledger.all("mini")).values()];
      return recs.filter((r) => r.state === "sent" && r.at > at).length === 4;
    });
    // Nothing more comes: drain the queue the old name also names, then count.
    await until("the queue empty", async () => {
      const c = await w.queue.getJobCounts("waiting", "active", "delayed");
      return Object.values(c).every((x) => x === 0);
    });
    expect(smtp.received.map((r) => r.to).sort()).toEqual(
      sends
        .slice(6)
        .map((s) => s.recipient)
        .sort(),
    );
    // The old records are still there, untouched, under the same key.
    const old = await hooks.redis.hmget(`${prefix}:ledger:mini`, ...already.map((s) => s.id));
    for (const v of old) expect(JSON.parse(v ?? "{}")).toMatchObject({ s: "sent", n: 1, t: at });
    // The queue too keeps its name: BullMQ's keys under `<prefix>:bull:sends:`.
    expect(w.queue.keys.wait).toBe(`${prefix}:bull:sends:wait`);
  });
});

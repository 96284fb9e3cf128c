/**
 * Three events on one cluster, under the default prefix: each event's keys (ledger, pending,
 * controls, BullMQ queue…) sit in one slot of their own, and the three slots are served by at
 * least two different masters. Global data (suppressions, SMTP state) has its own slot.
 * The prefix is fixed (`convene`, the default) on a fresh cluster, so which master serves which
 * event is the same on every run: CRC16 and `redis-cli --cluster create`'s slot ranges are.
 */
import { describe, expect, it } from "vitest";
import { createStores } from "../../src/store/index.js";
import { eventTag } from "../../src/store/keys.js";
import { deletePrefix } from "../../src/store/prefix.js";
import {
  dueSoon,
  inProcessWorker,
  letterStep,
  people,
  startSmtp,
  testConfig,
  testHooks,
  until,
  writeEvent,
} from "../worker/fixture.js";
import { clusterHooks, keySlot } from "./harness.js";

const cluster = clusterHooks();
const hooks = testHooks();
const { cleanups } = hooks;

const EVENTS = ["ev-a", "ev-b", "ev-c"];

describe("events across shards", () => {
  it("three events' keys land in three slots on at least two masters; global data in its own", async () => {
    const lab = cluster.get();
    const prefix = "convene";
    const smtp = await startSmtp();
    const soon = dueSoon(2);
    const fxs = EVENTS.map((id) =>
      writeEvent({
        id,
        people: people(5).map((p) => ({ ...p, email: `${id}-${p.email}` })),
        steps: [letterStep()],
        registrations: [soon.registration],
      }),
    );
    cleanups.push(
      () => {
        for (const fx of fxs) fx.cleanup();
      },
      () => smtp.close(),
    );
    const config = testConfig(prefix, smtp.url, { redisUrl: lab.url });
    const w = inProcessWorker({ paths: fxs.map((f) => f.dir), config });
    cleanups.push(() => w.close());
    const stores = createStores(cluster.redis(), prefix);
    await stores.suppressions.add("nobody@people.test", "test");
    await smtp.waitFor(15);
    await until("every event's sends recorded sent", async () => {
      for (const ev of EVENTS) {
        const recs = [...(await stores.ledger.all(ev)).values()];
        if (recs.filter((r) => r.state === "sent").length !== 5) return false;
      }
      return true;
    });
    // One more tick writes nothing new that could still be in flight while we count.
    await w.scheduler?.tick();

    const masters = new Set<string>();
    const slots = new Set<number>();
    for (const ev of EVENTS) {
      const slot = await keySlot(lab, eventTag(prefix, ev));
      slots.add(slot);
      // Every per-event key of this event hashes to the event's slot…
      for (const key of [
        stores.keys.ledger(ev),
        stores.keys.pending(ev),
        stores.keys.control(ev),
        stores.keys.registrations(ev),
        stores.keys.calendarItems(ev),
        w.queues.of(ev).keys.wait,
        w.queues.of(ev).keys.delayed,
        w.queues.of(ev).keys.meta,
      ])
        expect(await keySlot(lab, key ?? "")).toBe(slot);
      // …and the master serving it holds them: the ledger and the queue's keys.
      const master = await lab.masterOf(slot);
      masters.add(master.id);
      // The running worker's BullMQ keys come and go (locks, the stalled-check marker with its
      // TTL), so a count and a listing agree only when read with nothing changing in between:
      // read the pair until they do.
      let count = -1;
      let inSlot: string[] = [];
      await until(`a stable listing of ${ev}'s slot`, async () => {
        count = Number(
          (await lab.cli(master.port, "CLUSTER", "COUNTKEYSINSLOT", String(slot))).trim(),
        );
        inSlot = (await lab.cli(master.port, "CLUSTER", "GETKEYSINSLOT", String(slot), "1000"))
          .trim()
          .split("\n");
        return count === inSlot.length;
      });
      expect(inSlot).toContain(stores.keys.ledger(ev));
      expect(inSlot.some((k) => k.startsWith(`${eventTag(prefix, ev)}:bull:sends:`))).toBe(true);
      expect(inSlot.every((k) => k.startsWith(`${eventTag(prefix, ev)}:`))).toBe(true);
      expect(inSlot.length).toBeLessThan(1000); // the listing above saw every key of the slot
    }
    expect(slots.size).toBe(3);
    expect(masters.size).toBeGreaterThanOrEqual(2);

    // Global data: its own tag, its own slot, none of the events'.
    const globalSlot = await keySlot(lab, stores.keys.suppressed());
    expect(globalSlot).toBe(await keySlot(lab, `{${prefix}}`));
    expect(await keySlot(lab, stores.keys.smtpSlowDown())).toBe(globalSlot);
    expect(slots.has(globalSlot)).toBe(false);
    const g = await lab.masterOf(globalSlot);
    expect(
      (await lab.cli(g.port, "CLUSTER", "GETKEYSINSLOT", String(globalSlot), "100")).split("\n"),
    ).toContain(stores.keys.suppressed());

    // deletePrefix (what a rehearsal starts with) finds them on every master, tags and all.
    await w.close();
    let before = 0;
    // Keys with a time to live (BullMQ's stalled-check marker) may expire before deletePrefix
    // gets to them: it then deletes fewer than were counted, by at most those.
    let expiring = 0;
    for (const slot of [...slots, globalSlot]) {
      const m = await lab.masterOf(slot);
      before += Number((await lab.cli(m.port, "CLUSTER", "COUNTKEYSINSLOT", String(slot))).trim());
      const listed = (await lab.cli(m.port, "CLUSTER", "GETKEYSINSLOT", String(slot), "1000"))
        .split("\n")
        .filter((k) => k.trim());
      for (const key of listed)
        if (Number((await lab.cli(m.port, "PTTL", key.trim())).trim()) > 0) expiring++;
    }
    // At least each event's ledger and queue meta, and the suppressions.
    expect(before).toBeGreaterThanOrEqual(EVENTS.length * 2 + 1);
    const deleted = await deletePrefix(cluster.redis(), prefix);
    expect(deleted).toBeLessThanOrEqual(before);
    expect(deleted).toBeGreaterThanOrEqual(before - expiring);
    for (const slot of [...slots, globalSlot]) {
      const m = await lab.masterOf(slot);
      expect((await lab.cli(m.port, "CLUSTER", "COUNTKEYSINSLOT", String(slot))).trim()).toBe("0");
    }
    console.info(
      `events ${EVENTS.join(", ")} in slots ${[...slots].join(", ")} on ${masters.size} masters; global slot ${globalSlot}`,
    );
  });
});

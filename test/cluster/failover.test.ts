/**
 * A master dies while a 2,000-recipient step is being sent: the master serving the event's slot
 * (its ledger and its queue, the busiest slot of the run) is SIGKILLed, the cluster promotes its
 * replica (cluster-node-timeout 2 s), and the workers, without a restart, follow the new slot map
 * and finish the step. Nobody is lost; anyone who got the message twice has a send marked
 * unconfirmed at least once per extra copy.
 */
import { describe, expect, it } from "vitest";
import { createStores } from "../../src/store/index.js";
import { eventTag } from "../../src/store/keys.js";
import type { RunningWorker } from "../../src/worker/worker.js";
import {
  dueSoon,
  inProcessWorker,
  letterStep,
  people,
  startSmtp,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "../worker/fixture.js";
import { clusterHooks, keySlot } from "./harness.js";

const cluster = clusterHooks();
const hooks = testHooks();
const { cleanups } = hooks;

describe("failover", () => {
  it("the master of the busiest slot is killed mid-step: the replica takes over, 0 lost, duplicates only among unconfirmed", async () => {
    const n = 2_000;
    const lab = cluster.get();
    const smtp = await startSmtp();
    const prefix = uniquePrefix();
    const soon = dueSoon(4);
    const fx = writeEvent({
      people: people(n),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
    );
    const config = testConfig(prefix, smtp.url, { redisUrl: lab.url });
    // Short locks: jobs that were active on the dead master are found stalled and run again soon.
    const settings = { lockMs: 4_000 };
    const workers: RunningWorker[] = [
      inProcessWorker({ paths: [fx.dir], config, settings }),
      inProcessWorker({ paths: [fx.dir], config, settings, scheduler: false }),
    ];
    cleanups.push(async () => {
      await Promise.all(workers.map((w) => w.close()));
    });
    const stores = createStores(cluster.redis(), prefix);
    const slot = await keySlot(lab, eventTag(prefix, "mini"));
    expect(await keySlot(lab, stores.keys.ledger("mini"))).toBe(slot);
    expect(await keySlot(lab, workers[0]?.queues.of("mini").keys.wait ?? "")).toBe(slot);
    const victim = await lab.masterOf(slot);
    const replica = (await lab.nodes()).find((x) => x.masterId === victim.id);
    expect(replica).toBeDefined();

    await workers[0]?.ready;
    await until("sending under way", () => smtp.received.length >= 300, 60_000);
    const sentBefore = smtp.received.length;
    lab.kill(victim.port);
    const killedAt = Date.now();
    await lab.waitOk(60_000);
    console.info(
      `failover: the replica serves the slot ${Date.now() - killedAt} ms after the kill`,
    );
    // The replica now serves the slot.
    expect((await lab.masterOf(slot)).port).toBe(replica?.port);
    expect(sentBefore).toBeLessThan(n);

    // The schedulers' ticks re-queue any send whose job the failover lost (as every minute).
    await until(
      "every send recorded sent after the failover",
      async () => {
        await workers[0]?.scheduler?.tick().catch(() => undefined);
        const recs = await stores.ledger.all("mini");
        return [...recs.values()].filter((r) => r.state === "sent").length === n;
      },
      150_000,
    );
    await smtp.waitFor(n);

    const copies = new Map<string, number>();
    for (const r of smtp.received) copies.set(r.to, (copies.get(r.to) ?? 0) + 1);
    // 0 lost: every recipient got it.
    expect(copies.size).toBe(n);
    const recs = [...(await stores.ledger.all("mini")).values()];
    const unconfirmedOf = new Map(recs.map((r) => [r.recipient, r.unconfirmed ?? 0]));
    // Duplicates only where the ledger marked the send unconfirmed, one mark per extra copy.
    const unmarked = [...copies].filter(([to, c]) => c - 1 > (unconfirmedOf.get(to) ?? 0));
    expect(unmarked).toEqual([]);
    const duplicates = smtp.received.length - n;
    const marked = recs.reduce((s, r) => s + (r.unconfirmed ?? 0), 0);
    expect(duplicates).toBeLessThanOrEqual(marked);
    console.info(
      `failover: ${sentBefore} of ${n} received before the kill; ${duplicates} duplicates, ${marked} sends marked unconfirmed`,
    );
  }, 240_000);
});

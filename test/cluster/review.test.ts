/**
 * Defects found by the adversarial review of the cluster support (issue 15), each tested on a
 * real cluster where it showed: a worker that could never find an event's queue again, and a
 * CONVENE_PREFIX that put every event back on one slot.
 */
import { describe, expect, it } from "vitest";
import { createStores } from "../../src/store/index.js";
import { runCli } from "../support/cli.js";
import {
  deletePrefix,
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
import { clusterHooks } from "./harness.js";

const cluster = clusterHooks();
const hooks = testHooks();
const { cleanups } = hooks;

describe("review of the cluster support", () => {
  it("an event dropped from the list of queues (SREM) that gets a new step is listed again: a worker started later sends it", async () => {
    const smtp = await startSmtp();
    const prefix = uniquePrefix();
    const soon = dueSoon(3);
    const fx = writeEvent({
      people: people(3),
      steps: [letterStep("first")],
      registrations: [soon.registration],
    });
    cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix, cluster.get().url),
    );
    const config = testConfig(prefix, smtp.url, { redisUrl: cluster.get().url });
    const stores = createStores(cluster.redis(), prefix);
    // A scheduler-only process and a sender without a scheduler: the sender finds the event's
    // queue only through the list of event queues.
    const scheduler = inProcessWorker({ paths: [fx.dir], config, processors: false });
    cleanups.push(() => scheduler.close());
    const first = inProcessWorker({ paths: [fx.dir], config, scheduler: false });
    await Promise.all([scheduler.ready, first.ready]);
    await smtp.waitFor(3);
    await first.close();

    // The README's way to drop a finished event from the list; then the campaign grows a step.
    await cluster.redis().srem(stores.keys.eventQueues(), "mini");
    fx.setSteps([letterStep("first"), letterStep("second")]);
    await scheduler.scheduler?.tick();
    expect(await stores.eventQueues.list()).toContain("mini");

    const later = inProcessWorker({ paths: [fx.dir], config, scheduler: false });
    cleanups.push(() => later.close());
    await until("the second step's three sends", () => smtp.received.length >= 6, 20_000);
    const second = [...(await stores.ledger.all("mini")).entries()].filter(
      ([id, r]) => id.includes(".second.") && r.state === "sent",
    );
    expect(second).toHaveLength(3);
  });

  it("CONVENE_PREFIX={convene} is refused on a cluster in one line, before anything connects", () => {
    const r = runCli(["status", "test/fixtures/worker/mini"], {
      REDIS_URL: cluster.get().url,
      CONVENE_PREFIX: "{convene}",
    });
    expect(r.stderr).toMatch(/CONVENE_PREFIX must not contain \{ or \} on a Redis Cluster/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status).toBe(1);
  });
});

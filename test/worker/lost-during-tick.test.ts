/**
 * Issue 12: "requeue() logs 'send had lost its job' for jobs that completed during the long
 * tick". The scheduler reads the ledger, then asks the queue which jobs are gone; a job that
 * completes in between (record now `sent`, job removed) looked lost. Here the completion is made
 * to happen exactly there, on the real Redis: the queue check first records the sends as sent
 * and removes their jobs, as a processor would.
 */
import { describe, expect, it } from "vitest";
import { QueueJobs } from "../../src/store/queue-jobs.js";
import { eventSetup, inProcessWorker, letterStep, people, testHooks } from "./fixture.js";

const hooks = testHooks();

describe("a job that completes while the scheduler ticks", () => {
  it("is not counted, logged or queued again as lost", async () => {
    const { fx, config } = await eventSetup(hooks, {
      people: people(4),
      steps: [letterStep("letter", { trigger: { at: "2098-01-02 09:00" } })],
    });
    const w = inProcessWorker({
      paths: [fx.dir],
      config,
      processors: false,
      // The second tick must be a full one: only that re-reads every send's job.
      settings: { horizonMs: 100 * 365 * 24 * 3600_000, fullTickMs: 0 },
    });
    hooks.cleanups.push(() => w.close());
    await w.ready;
    const ids = [...(await w.stores.ledger.all("mini")).keys()];
    expect(ids).toHaveLength(4);

    const original = QueueJobs.prototype.lost;
    QueueJobs.prototype.lost = async function (queue, asked) {
      // What a processor does between the scheduler's ledger read and this check.
      for (const id of ids) {
        await w.stores.ledger.transition("mini", id, ["scheduled"], { state: "sent" });
        await (await queue.getJob(id))?.remove();
      }
      return original.call(this, queue, asked);
    };
    try {
      const [summary] = (await w.scheduler?.tick()) ?? [];
      expect(summary?.requeued).toBe(0);
      expect(summary?.queued).toBe(0);
    } finally {
      QueueJobs.prototype.lost = original;
    }
    expect(await w.queue.getJobCounts("delayed", "waiting")).toMatchObject({
      delayed: 0,
      waiting: 0,
    });
  });
});

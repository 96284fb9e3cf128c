/**
 * Tests that follow the clock instead of sleeping, the way the rehearsal runs a campaign
 * (src/worker/rehearsal.ts): the worker's clock stands still until the test moves it, and
 * "time passes" means setting the clock, letting the jobs due by then run, ticking and
 * draining the queue. A "nothing arrives" check then asserts on a settled queue, not on
 * whatever happened to finish within a fixed sleep.
 */
import type { Queue } from "bullmq";
import { DateTime } from "luxon";
import { type SendJobData, untilNoJobs } from "../../src/worker/queue.js";
import { wakeDueJobs } from "../../src/worker/wake.js";
import type { RunningWorker } from "../../src/worker/worker.js";

/** A clock that moves only when told: pass `now` to the worker as its clock. */
export class TestClock {
  private ms: number;

  constructor(start: DateTime = DateTime.utc().startOf("second")) {
    this.ms = start.toMillis();
  }

  readonly now = (): DateTime => DateTime.fromMillis(this.ms, { zone: "UTC" });

  set(to: DateTime): void {
    this.ms = to.toMillis();
  }
}

/**
 * Waits until no job is waiting or active: everything due at the clock's time has been
 * decided. Delayed jobs (due later, or a paused step's re-check) are left to wait.
 * Also the rehearsal's `drain`, which waits for the delayed ones too, since it queues only
 * what is due (horizon 0).
 */
export function drain(queue: Queue<SendJobData>, timeoutMs = 20_000): Promise<void> {
  return untilNoJobs(queue, { delayed: false, timeoutMs, what: "queue not drained" });
}

/** Waits until the queue holds no job at all, delayed ones included: nothing more can be sent. */
export function idle(queue: Queue<SendJobData>, timeoutMs = 20_000): Promise<void> {
  return untilNoJobs(queue, { delayed: true, timeoutMs, what: "queue not idle" });
}

/**
 * The clock reaches `to`: what BullMQ's timers would fire by then fires now (jobs whose due time
 * has come are promoted, as `convene resume` does), the scheduler ticks, and the queue drains.
 */
export async function reach(
  clock: TestClock,
  w: RunningWorker,
  event: string,
  to: DateTime,
): Promise<void> {
  clock.set(to);
  await w.scheduler?.tick();
  await wakeDueJobs(w.queues.of(event), event, undefined, to.toMillis());
  await drain(w.queues.of(event));
}

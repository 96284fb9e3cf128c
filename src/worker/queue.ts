/**
 * The one BullMQ queue every send goes through. One queue (job name = message kind) rather than
 * one per kind, because the global send rate (`SEND_RATE`) and a server's "slow down" reply
 * must hold for all mail together: BullMQ's limiter and rate-limit are per queue.
 */
import { type JobsOptions, Queue } from "bullmq";
import type { Redis } from "../store/redis.js";
import type { PlannedSend, SendJobData } from "../types.js";
import { BACKOFF_TYPE } from "./backoff.js";
import type { WorkerSettings } from "./settings.js";

export type { SendJobData } from "../types.js";

export const QUEUE_NAME = "sends";

export function jobData(send: PlannedSend, dir: string): SendJobData {
  const { method, changed } = send;
  return {
    id: send.id,
    event: send.event,
    dir,
    step: send.step,
    kind: send.kind,
    recipient: send.recipient,
    ...(send.item ? { item: send.item } : {}),
    version: send.version,
    due: send.due,
    expires: send.expires,
    ...(method
      ? {
          method,
          ...(changed?.length ? { changed } : {}),
          name: send.name,
          dueLocal: send.dueLocal,
          zone: send.zone,
          ...(send.team ? { team: send.team } : {}),
        }
      : {}),
  };
}

export function jobOptions(s: WorkerSettings, id: string, delay: number): JobsOptions {
  return {
    jobId: id,
    delay: Math.max(0, delay),
    attempts: s.attempts,
    backoff: { type: BACKOFF_TYPE, delay: s.backoffMs },
    // The ledger keeps the outcome; a finished job would only cost Redis memory. Failed jobs are
    // kept for a while for whoever inspects the queue.
    removeOnComplete: true,
    removeOnFail: { age: 7 * 86_400, count: 5_000 },
  };
}

export function createQueue(connection: Redis, bullPrefix: string): Queue<SendJobData> {
  return new Queue<SendJobData>(QUEUE_NAME, { connection, prefix: bullPrefix });
}

/** Why a send that should have a job has none that will ever run. */
export type { LostJob } from "../store/queue-jobs.js";

/** The job states in which a job will still run without its delay passing first. */
const RUNNABLE = ["waiting", "active", "prioritized", "waiting-children"] as const;

/**
 * Waits until the queue holds no runnable job (and, with `delayed`, no delayed one either):
 * the rehearsal's "everything due at this instant is done", and the tests' drain. Polls the
 * counts because BullMQ's `drained` event fires per worker, not for the queue.
 */
export async function untilNoJobs(
  queue: Queue<SendJobData>,
  o: { delayed: boolean; timeoutMs: number; what: string },
): Promise<void> {
  const states = o.delayed ? [...RUNNABLE, "delayed" as const] : [...RUNNABLE];
  const start = Date.now();
  for (;;) {
    const c = await queue.getJobCounts(...states);
    if (Object.values(c).every((n) => n === 0)) return;
    if (Date.now() - start > o.timeoutMs)
      throw new Error(`${o.what} after ${o.timeoutMs} ms: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

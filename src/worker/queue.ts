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
export type LostJob = "missing" | "failed";

/**
 * Of `ids`, the jobs that are gone (never added, removed, or completed and removed) or sit in the
 * failed set — the sends the scheduler must queue again. Two O(1) commands per id, pipelined in
 * chunks: the job hash (EXISTS) and the failed set (ZSCORE). Not `getJobState`, whose script
 * scans the wait list with LPOS (O(n) per id, so O(n²) over a big step that is due now).
 * Anything else with a hash (delayed, waiting, active, even stalled) will run or be handled by
 * BullMQ's stalled check, which ends in the failed set if it gives up.
 */
export async function lostJobs(
  queue: Queue<SendJobData>,
  ids: readonly string[],
): Promise<Map<string, LostJob>> {
  const out = new Map<string, LostJob>();
  if (!ids.length) return out;
  // BullMQ types its client loosely; it is the ioredis connection createQueue was given.
  const client = (await queue.client) as unknown as Redis;
  for (let i = 0; i < ids.length; i += 2000) {
    const chunk = ids.slice(i, i + 2000);
    const pipe = client.pipeline();
    for (const id of chunk) {
      pipe.exists(queue.toKey(id));
      pipe.zscore(queue.keys.failed as string, id);
    }
    const res = (await pipe.exec()) ?? [];
    chunk.forEach((id, j) => {
      const [e1, exists] = res[2 * j] ?? [null, 0];
      const [e2, failedScore] = res[2 * j + 1] ?? [null, null];
      if (e1) throw e1;
      if (e2) throw e2;
      if (failedScore !== null) out.set(id, "failed");
      else if (!exists) out.set(id, "missing");
    });
  }
  return out;
}

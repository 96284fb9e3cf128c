/**
 * Reads BullMQ's own keys for the scheduler's "did this send lose its job?" question, here
 * because only src/store talks to Redis. BullMQ has no API for it that is O(1) per id.
 */
import type { Queue } from "bullmq";
import type { SendJobData } from "../types.js";
import type { Redis } from "./redis.js";
import { defineScripts } from "./scripts.js";

export type LostJob = "missing" | "failed";

/**
 * Of `ids`, the jobs that are gone (never added, removed, or completed and removed) or sit in the
 * failed set — the sends the scheduler must queue again. One script call per chunk
 * (jobsLost-1.lua: a ZSCORE and an EXISTS per id, both O(1)), not `getJobState`, whose script
 * scans the wait list with LPOS (O(n) per id, so O(n²) over a big step that is due now).
 * Anything else with a hash (delayed, waiting, active, even stalled) will run or be handled by
 * BullMQ's stalled check, which ends in the failed set if it gives up.
 */
export async function lostJobs(
  client: Redis,
  queue: Queue<SendJobData>,
  ids: readonly string[],
): Promise<Map<string, LostJob>> {
  const out = new Map<string, LostJob>();
  for (let i = 0; i < ids.length; i += LOST_CHUNK) {
    const chunk = ids.slice(i, i + LOST_CHUNK);
    const marks = await client.jobsLost(queue.keys.failed as string, queue.toKey(""), ...chunk);
    chunk.forEach((id, j) => {
      const mark = marks[j];
      if (mark === "f") out.set(id, "failed");
      else if (mark === "m") out.set(id, "missing");
    });
  }
  return out;
}

/** Ids per jobsLost call: about 2 ms of Redis each, so other clients wait no longer than that. */
const LOST_CHUNK = 2000;

/**
 * Of `ids`, those whose job is a calendar update or cancellation (version > 0 with an iTIP
 * method): pipelined HGET of the job's data, in chunks, instead of one getJob round trip each.
 */
export async function calendarJobIds(
  client: Redis,
  queue: Queue<SendJobData>,
  ids: readonly string[],
): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 2000) {
    const chunk = ids.slice(i, i + 2000);
    const pipe = client.pipeline();
    for (const id of chunk) pipe.hget(queue.toKey(id), "data");
    const res = (await pipe.exec()) ?? [];
    chunk.forEach((id, j) => {
      const [err, raw] = res[j] ?? [null, null];
      if (err) throw err;
      if (typeof raw === "string" && isCalendarData(raw)) out.add(id);
    });
  }
  return out;
}

function isCalendarData(raw: string): boolean {
  const data = JSON.parse(raw) as Partial<SendJobData>;
  return (data.version ?? 0) > 0 && !!data.method;
}

/** What waits in a queue without running yet (QueueJobs.pending). */
export interface PendingJobs {
  /** Jobs waiting for a sender, or running. */
  ready: number;
  /** Delayed jobs due by each of the times asked about, in their order. */
  delayedDueBy: number[];
  /** Every delayed job, whenever due. */
  delayed: number;
}

/**
 * The highest delayed-set score of a job due by `wallMs`: BullMQ scores a delayed job by its due
 * time in milliseconds times 4096, plus a 12-bit counter (its getDelayedScore.lua).
 */
function delayedScoreBy(wallMs: number): string {
  return String((Math.floor(wallMs) + 1) * 0x1000 - 1);
}

/** The queue's jobs as the scheduler asks after them, on the stores' connection. */
export class QueueJobs {
  constructor(private readonly redis: Redis) {
    defineScripts(redis);
  }

  lost(queue: Queue<SendJobData>, ids: readonly string[]): Promise<Map<string, LostJob>> {
    return lostJobs(this.redis, queue, ids);
  }

  /**
   * The ids of jobs that entered the failed set at or after `sinceMs` (its score is the job's
   * finishedOn): what became lost since a tick, without reading every job of the step.
   */
  failedSince(queue: Queue<SendJobData>, sinceMs: number): Promise<string[]> {
    return this.redis.zrangebyscore(queue.keys.failed as string, sinceMs, "+inf");
  }

  /**
   * Jobs waiting for a sender (waiting, prioritized, held by a paused queue) or running, and
   * delayed jobs, in all and those due by each of `byWallMs`: what the scheduler's queueing
   * ahead counts (scheduler.ts, "Queueing ahead"). One script, so that every job is counted
   * once whatever it moves to meanwhile (queuePending-1.lua).
   */
  async pending(queue: Queue<SendJobData>, byWallMs: readonly number[]): Promise<PendingJobs> {
    const [ready, delayed, ...dueBy] = await this.redis.queuePending(
      queue.toKey(""),
      ...byWallMs.map(delayedScoreBy),
    );
    return { ready: Number(ready), delayed: Number(delayed), delayedDueBy: dueBy.map(Number) };
  }

  calendar(queue: Queue<SendJobData>, ids: readonly string[]): Promise<Set<string>> {
    return calendarJobIds(this.redis, queue, ids);
  }
}

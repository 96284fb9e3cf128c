import type { Queue } from "bullmq";
import type { SendJobData } from "./queue.js";

/**
 * After a resume: jobs of a paused step wait in the delayed set (re-checking every
 * `pauseRecheckMs`). Promote those already due so sending continues at once instead of at their
 * next re-check. Jobs not yet due are left alone; a promoted job that is early re-delays itself.
 */
export async function wakeDueJobs(
  queue: Queue<SendJobData>,
  event: string,
  step: string | undefined,
  nowMs = Date.now(),
): Promise<number> {
  const due = await dueDelayedIds(queue, (d) => isDue(d, event, step, nowMs));
  let woken = 0;
  for (const id of due) if (await promote(queue, id)) woken++;
  return woken;
}

function isDue(d: SendJobData, event: string, step: string | undefined, nowMs: number): boolean {
  if (d.event !== event || (step && d.step !== step)) return false;
  return Date.parse(d.due) <= nowMs;
}

/** The ids of delayed jobs whose data passes `due`, read a page at a time. */
async function dueDelayedIds(
  queue: Queue<SendJobData>,
  due: (d: SendJobData) => boolean,
): Promise<string[]> {
  const page = 1000;
  const out: string[] = [];
  for (let start = 0; ; start += page) {
    const jobs = await queue.getDelayed(start, start + page - 1);
    for (const j of jobs) if (j?.id && due(j.data)) out.push(j.id);
    if (jobs.length < page) return out;
  }
}

/** It may have moved since the listing (another worker, its own re-check): not an error. */
async function promote(queue: Queue<SendJobData>, id: string): Promise<boolean> {
  const job = await queue.getJob(id);
  if (!job) return false;
  return job.promote().then(
    () => true,
    () => false,
  );
}

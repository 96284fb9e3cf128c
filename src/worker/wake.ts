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
  let woken = 0;
  const page = 1000;
  const due: string[] = [];
  for (let start = 0; ; start += page) {
    const jobs = await queue.getDelayed(start, start + page - 1);
    for (const j of jobs) {
      if (!j?.id || j.data.event !== event || (step && j.data.step !== step)) continue;
      if (Date.parse(j.data.due) <= nowMs) due.push(j.id);
    }
    if (jobs.length < page) break;
  }
  for (const id of due) {
    const job = await queue.getJob(id);
    // It may have moved since the listing (another worker, its own re-check): not an error.
    if (
      await job?.promote().then(
        () => true,
        () => false,
      )
    )
      woken++;
  }
  return woken;
}

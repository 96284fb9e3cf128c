import type { Keys } from "./keys.js";
import type { Redis } from "./redis.js";

/**
 * Which step occurrences have had their "done" line logged. Several schedulers tick the same
 * event; SADD answers 1 to exactly one of them, so the line is logged once.
 */
export class StepReports {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  /**
   * True for the first caller only. The set expires a day after its last claim: an occurrence
   * is reported only within minutes of its last send (step-report.ts), so older members can
   * never be asked about again.
   */
  async claim(event: string, occurrence: string): Promise<boolean> {
    const key = this.k.stepsReported(event);
    const res = await this.redis.multi().sadd(key, occurrence).expire(key, 86_400).exec();
    const [err, added] = res?.[0] ?? [null, 0];
    if (err) throw err;
    return added === 1;
  }
}

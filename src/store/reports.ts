import { callToken } from "./call-token.js";
import type { Keys } from "./keys.js";
import type { Redis } from "./redis.js";
import { defineScripts } from "./scripts.js";

/** An occurrence is reported only within minutes of its last send (step-report.ts). */
const KEEP_SECONDS = 86_400;

/**
 * Which step occurrences have had their "done" line logged. Several schedulers tick the same
 * event; the claim (stepReportClaim-1.lua) answers true to exactly one of them, so the line is
 * logged once. A claim whose reply was lost and that ioredis sent again answers true again: a
 * set's SADD answered 0 to that second run, and nobody logged the line.
 */
export class StepReports {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {
    defineScripts(redis);
  }

  /**
   * True for the first caller only. The hash expires a day after its last claim: older
   * occurrences can never be asked about again.
   */
  async claim(event: string, occurrence: string): Promise<boolean> {
    const key = this.k.stepsReported(event);
    const claimed = await this.redis.stepReportClaim(
      key,
      occurrence,
      callToken(),
      String(KEEP_SECONDS),
    );
    return claimed === 1;
  }
}

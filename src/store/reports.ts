import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/**
 * Which step occurrences have had their "done" line logged. Several schedulers tick the same
 * event; SADD answers 1 to exactly one of them, so the line is logged once.
 */
export class StepReports {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  /** True for the first caller only. */
  async claim(event: string, occurrence: string): Promise<boolean> {
    return (await this.redis.sadd(this.k.stepsReported(event), occurrence)) === 1;
  }
}

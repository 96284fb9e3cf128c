import type { Keys } from "./keys.js";
import type { Redis } from "./redis.js";
import { defineScripts } from "./scripts.js";

/** `*` stands for the whole event. */
export const WHOLE_EVENT = "*";

export type ControlState = "paused" | "cancelled";

/**
 * Organizer control over a running campaign. Pause is temporary (jobs wait and continue on
 * resume); cancel is final for the step: its remaining sends are recorded as skipped and a
 * resume does not bring them back.
 */
export class ControlStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    defineScripts(redis);
  }

  async get(event: string): Promise<Controls> {
    return new Controls(
      (await this.redis.hgetall(this.keys.control(event))) as Record<string, ControlState>,
    );
  }

  async pause(event: string, step = WHOLE_EVENT): Promise<void> {
    // A cancelled step stays cancelled; pausing it changes nothing.
    await this.redis.controlPause(this.keys.control(event), step);
  }

  /** Returns false when the target is cancelled (and so cannot resume). */
  async resume(event: string, step = WHOLE_EVENT): Promise<boolean> {
    return (await this.redis.controlResume(this.keys.control(event), step)) === 1;
  }

  async cancel(event: string, step = WHOLE_EVENT): Promise<void> {
    await this.redis.hset(this.keys.control(event), step, "cancelled");
  }
}

export class Controls {
  constructor(private readonly raw: Record<string, ControlState>) {}

  /** The state that applies to a step: cancelled wins over paused, the event over the step. */
  of(step: string): ControlState | undefined {
    const ev = this.raw[WHOLE_EVENT];
    const st = this.raw[step];
    if (ev === "cancelled" || st === "cancelled") return "cancelled";
    if (ev === "paused" || st === "paused") return "paused";
    return undefined;
  }

  entries(): [string, ControlState][] {
    return Object.entries(this.raw);
  }
}

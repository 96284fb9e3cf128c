import type { Keys } from "./keys.js";
import type { Redis } from "./redis.js";

/** The last scheduler tick that completed, as every process on this Redis sees it. */
export interface TickRecord {
  /** Epoch ms (wall clock) the tick ended. */
  at: number;
  /** How long the tick took, in ms. */
  durationMs: number;
  /** The ids of the events it planned. */
  events: string[];
}

/**
 * Where the scheduler leaves word of its last tick. `convene serve` may run as a process of its
 * own, without a scheduler, yet /healthz reports the tick age and /metrics the tick's duration:
 * an in-memory value of the worker would be invisible there. One key per prefix, overwritten by
 * whichever scheduler ticked last (with several, the freshest tick is what health asks about).
 */
export class TickStore {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  async record(t: TickRecord): Promise<void> {
    await this.redis.set(this.k.schedulerTick(), JSON.stringify(t));
  }

  /** The last tick, or undefined when no scheduler has ticked on this prefix (or it is unreadable). */
  async last(): Promise<TickRecord | undefined> {
    const raw = await this.redis.get(this.k.schedulerTick());
    if (!raw) return undefined;
    try {
      const t = JSON.parse(raw) as Partial<TickRecord>;
      if (typeof t.at !== "number" || typeof t.durationMs !== "number") return undefined;
      return {
        at: t.at,
        durationMs: t.durationMs,
        events: Array.isArray(t.events) ? t.events.filter((e) => typeof e === "string") : [],
      };
    } catch {
      return undefined;
    }
  }
}

import type { Registration } from "../model/types.js";
import type { Keys } from "./keys.js";
import type { Redis } from "./redis.js";
import { defineScripts } from "./scripts.js";

/**
 * Registrations recorded with the CLI (`convene register`, `convene registrations import`),
 * merged with the event's registrations file by the scheduler and the processors. Per team only
 * the earliest time is kept: a team registers once, a second import must not move it later.
 */
export class RegistrationStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    defineScripts(redis);
  }

  /**
   * Records that `team` registered at `registeredAt` (ISO UTC, `Z` form so that string order is
   * time order). Returns false when an earlier registration was already recorded.
   */
  async record(event: string, team: string, registeredAt: string): Promise<boolean> {
    const recorded = await this.redis.registrationKeepEarliest(
      this.keys.registrations(event),
      team,
      registeredAt,
    );
    return recorded === 1;
  }

  /**
   * Records many registrations, `batch` per pipelined round trip rather than one each, so a
   * file of 50,000 rows takes seconds. `progress` is called after each batch with how many
   * were handled. Returns how many were recorded (the others were already known earlier).
   */
  async recordMany(
    event: string,
    regs: readonly Registration[],
    progress: (done: number) => void = () => undefined,
    batch = 500,
  ): Promise<number> {
    const key = this.keys.registrations(event);
    let recorded = 0;
    for (let i = 0; i < regs.length; i += batch) {
      const pipe = this.redis.pipeline();
      for (const r of regs.slice(i, i + batch))
        pipe.registrationKeepEarliest(key, r.team, r.registeredAt);
      for (const [err, res] of (await pipe.exec()) ?? []) {
        if (err) throw err;
        if (res === 1) recorded++;
      }
      progress(Math.min(i + batch, regs.length));
    }
    return recorded;
  }

  async list(event: string): Promise<Registration[]> {
    const raw = await this.redis.hgetall(this.keys.registrations(event));
    return Object.entries(raw).map(([team, registeredAt]) => ({ team, registeredAt }));
  }

  async forTeam(event: string, team: string): Promise<Registration[]> {
    const at = await this.redis.hget(this.keys.registrations(event), team);
    return at ? [{ team, registeredAt: at }] : [];
  }
}

import type { Redis } from "ioredis";
import type { Registration } from "../model/types.js";
import type { Keys } from "./keys.js";
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

  async list(event: string): Promise<Registration[]> {
    const raw = await this.redis.hgetall(this.keys.registrations(event));
    return Object.entries(raw).map(([team, registeredAt]) => ({ team, registeredAt }));
  }

  async forTeam(event: string, team: string): Promise<Registration[]> {
    const at = await this.redis.hget(this.keys.registrations(event), team);
    return at ? [{ team, registeredAt: at }] : [];
  }
}

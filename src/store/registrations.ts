import type { Redis } from "ioredis";
import type { Registration } from "../model/types.js";
import type { Keys } from "./keys.js";

/**
 * Registrations recorded with the CLI (`convene register`, `convene registrations import`),
 * merged with the event's registrations file by the scheduler and the processors. Per team only
 * the earliest time is kept: a team registers once, a second import must not move it later.
 */
const KEEP_EARLIEST = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and cur <= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

export class RegistrationStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    if (!(redis as unknown as { conveneRegister?: unknown }).conveneRegister)
      redis.defineCommand("conveneRegister", { numberOfKeys: 1, lua: KEEP_EARLIEST });
  }

  /**
   * Records that `team` registered at `registeredAt` (ISO UTC, `Z` form so that string order is
   * time order). Returns false when an earlier registration was already recorded.
   */
  async record(event: string, team: string, registeredAt: string): Promise<boolean> {
    const fn = (
      this.redis as unknown as {
        conveneRegister: (k: string, t: string, at: string) => Promise<number>;
      }
    ).conveneRegister;
    return (await fn.call(this.redis, this.keys.registrations(event), team, registeredAt)) === 1;
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

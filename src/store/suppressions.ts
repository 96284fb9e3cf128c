import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

export interface Suppression {
  email: string;
  /** ISO instant. */
  at: string;
  reason: string;
}

/** Addresses that must never be mailed again. Case-insensitive: stored lowercased. */
export class SuppressionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async add(email: string, reason: string, at = new Date()): Promise<void> {
    await this.redis.hset(
      this.keys.suppressed(),
      email.toLowerCase(),
      JSON.stringify({ at: at.toISOString(), reason }),
    );
  }

  /** Returns whether the address was suppressed. */
  async remove(email: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.suppressed(), email.toLowerCase())) === 1;
  }

  async get(email: string): Promise<Suppression | undefined> {
    const v = await this.redis.hget(this.keys.suppressed(), email.toLowerCase());
    if (!v) return undefined;
    const { at, reason } = JSON.parse(v) as { at: string; reason: string };
    return { email: email.toLowerCase(), at, reason };
  }

  async list(): Promise<Suppression[]> {
    const raw = await this.redis.hgetall(this.keys.suppressed());
    return Object.entries(raw).map(([email, v]) => ({
      email,
      ...(JSON.parse(v) as Omit<Suppression, "email">),
    }));
  }
}

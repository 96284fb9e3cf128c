import type { Keys } from "./keys.js";
import type { Redis } from "./redis.js";
import { defineScripts } from "./scripts.js";

export interface Suppression {
  email: string;
  /** ISO instant. */
  at: string;
  reason: string;
}

/** The stored value; one spelling, so removeIfUnchanged can compare it byte for byte. */
function encode(at: string, reason: string): string {
  return JSON.stringify({ at, reason });
}

/** Addresses that must never be mailed again. Case-insensitive: stored lowercased. */
export class SuppressionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    defineScripts(redis);
  }

  async add(email: string, reason: string, at = new Date()): Promise<void> {
    await this.redis.hset(
      this.keys.suppressed(),
      email.toLowerCase(),
      encode(at.toISOString(), reason),
    );
  }

  /**
   * Suppresses unless the address already is, keeping the earlier reason: an unsubscribe click
   * must not turn a bounce into something its undo could lift. Returns whether this call did.
   */
  async addIfAbsent(email: string, reason: string, at = new Date()): Promise<boolean> {
    const key = this.keys.suppressed();
    const value = encode(at.toISOString(), reason);
    return (await this.redis.hsetnx(key, email.toLowerCase(), value)) === 1;
  }

  /** Returns whether the address was suppressed. */
  async remove(email: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.suppressed(), email.toLowerCase())) === 1;
  }

  /** Removes `s` only if it is still what is stored (same time and reason); returns whether it did. */
  async removeIfUnchanged(s: Suppression): Promise<boolean> {
    const key = this.keys.suppressed();
    const value = encode(s.at, s.reason);
    return (await this.redis.suppressionRemoveIf(key, s.email.toLowerCase(), value)) === 1;
  }

  async get(email: string): Promise<Suppression | undefined> {
    return decodeSuppression(
      email,
      await this.redis.hget(this.keys.suppressed(), email.toLowerCase()),
    );
  }

  async list(): Promise<Suppression[]> {
    const raw = await this.redis.hgetall(this.keys.suppressed());
    return Object.entries(raw).map(([email, v]) => ({
      email,
      ...(JSON.parse(v) as Omit<Suppression, "email">),
    }));
  }
}

export function decodeSuppression(email: string, v: string | null): Suppression | undefined {
  if (!v) return undefined;
  const { at, reason } = JSON.parse(v) as { at: string; reason: string };
  return { email: email.toLowerCase(), at, reason };
}

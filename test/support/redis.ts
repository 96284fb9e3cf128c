/**
 * The one way tests reach Redis: REDIS_URL when set (CI, a developer's own server), else the
 * local default. Every test's keys live under a prefix of its own, removed with deletePrefix;
 * nothing here ever flushes a database, which other engineers' runs share.
 */
import { Redis, type RedisOptions } from "ioredis";

export const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

export function connectTestRedis(options: RedisOptions = {}): Redis {
  return new Redis(REDIS_URL, options);
}

/** Deletes every key under `prefix:` (SCAN, not KEYS, so a big shared server is not blocked). */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = connectTestRedis();
  try {
    const stream = redis.scanStream({ match: `${prefix}:*`, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>)
      if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

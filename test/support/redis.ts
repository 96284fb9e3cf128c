/**
 * The one way tests reach Redis: REDIS_URL when set (CI, a developer's own server), else the
 * local default. Every test's keys live under a prefix of its own, removed with deletePrefix;
 * nothing here ever flushes a database, which other engineers' runs share.
 */
import { Redis, type RedisOptions } from "ioredis";
import { deletePrefix as deleteStorePrefix } from "../../src/store/prefix.js";
import { connectRedis, isClusterUrl } from "../../src/store/redis.js";

export const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

export function connectTestRedis(options: RedisOptions = {}): Redis {
  return new Redis(REDIS_URL, options);
}

/**
 * Deletes every key under `prefix:` (SCAN, not KEYS, so a big shared server is not blocked).
 * `url` may name a cluster (test/cluster): then every master is scanned, tagged keys included.
 */
export async function deletePrefix(prefix: string, url: string = REDIS_URL): Promise<void> {
  if (isClusterUrl(url)) {
    const cluster = connectRedis(url, "cli");
    try {
      await deleteStorePrefix(cluster, prefix);
    } finally {
      cluster.disconnect();
    }
    return;
  }
  const redis = url === REDIS_URL ? connectTestRedis() : new Redis(url);
  try {
    const stream = redis.scanStream({ match: `${prefix}:*`, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>)
      if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

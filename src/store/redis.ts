import { Redis, type RedisOptions } from "ioredis";
import { redactUrl } from "../config.js";

/**
 * Two kinds of connection. Long-running processes (the worker) keep retrying through a Redis
 * restart, which is what BullMQ requires (`maxRetriesPerRequest: null`). One-shot commands (the
 * CLI) give up quickly with a readable message instead of hanging while an organizer waits.
 */
export function connectRedis(url: string, mode: "worker" | "cli" = "cli"): Redis {
  const opts: RedisOptions =
    mode === "worker"
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : {
          maxRetriesPerRequest: 1,
          connectTimeout: 5_000,
          retryStrategy: (times) => (times > 2 ? null : 200 * times),
        };
  const redis = new Redis(url, opts);
  // Without a listener ioredis prints every failed reconnect as an unhandled error event.
  redis.on("error", () => {});
  return redis;
}

/** Runs `fn` with a CLI connection, always closing it; a connection failure names the URL (redacted). */
export async function withRedis<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = connectRedis(url, "cli");
  let lastError: Error | undefined;
  redis.on("error", (e: Error) => {
    lastError = e;
  });
  try {
    await redis.ping().catch((e: Error) => {
      // The connection error (ECONNREFUSED, ENOTFOUND…) says more than the retry-limit error.
      throw new Error(
        `cannot reach Redis at ${redactUrl(url)} (set REDIS_URL): ${(lastError ?? e).message}`,
      );
    });
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

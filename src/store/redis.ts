import { Redis, type RedisOptions } from "ioredis";
import { redactUrl } from "../config.js";
import { answersPing, embeddedRedis } from "./embedded.js";

/** For code outside the store that only passes a connection along (to BullMQ, to the stores). */
export type { Redis };

/**
 * Every connection convene opens, BullMQ's included: the worker hands these to its Queue and
 * Worker rather than letting BullMQ build its own from a URL.
 *
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

/**
 * The Redis a command uses, decided once per process before it connects. `REDIS_URL` wins.
 * Otherwise the default address (`CONVENE_DEFAULT_REDIS`, normally redis://127.0.0.1:6379; the
 * tests point it at a free port) if a Redis answers there, else the private server in
 * `.convene/redis/` (see embedded.ts). The answer is put in `REDIS_URL`, so loadConfig and
 * every connection of this process and its children use the same one.
 */
export async function resolveRedisUrl(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  if (env.REDIS_URL) return env.REDIS_URL;
  const defaultUrl = env.CONVENE_DEFAULT_REDIS || "redis://127.0.0.1:6379";
  const u = new URL(defaultUrl);
  const url = (await answersPing(u.hostname, Number(u.port || 6379)))
    ? defaultUrl
    : await embeddedRedis({ defaultUrl, log });
  env.REDIS_URL = url;
  return url;
}

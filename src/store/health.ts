import type { Redis } from "./redis.js";

/**
 * Whether Redis answers a PING within `timeoutMs`, for a load balancer's health check. A
 * long-running connection queues commands while it reconnects, so the wait is bounded here.
 */
export async function redisAnswers(redis: Redis, timeoutMs = 1_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const ping = redis.ping().then(
    (r) => r === "PONG",
    () => false,
  );
  return Promise.race([ping, late]).finally(() => clearTimeout(timer));
}

/**
 * Whole key prefixes at once: what a rehearsal needs to start from nothing under its own prefix.
 */
import type { Redis } from "ioredis";
import { keys } from "./keys.js";

/** SCAN MATCH reads `*?[]\` as a glob; a prefix is matched as the literal text it is. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/**
 * Removes every key under `<prefix>:`, returning how many. SCAN, not KEYS, so a large Redis is
 * never blocked; UNLINK, not DEL, so Redis frees big hashes (a ledger) off its main thread.
 */
export async function deletePrefix(redis: Redis, prefix: string, batch = 1000): Promise<number> {
  let removed = 0;
  const stream = redis.scanStream({ match: `${globLiteral(prefix)}:*`, count: batch });
  for await (const found of stream as AsyncIterable<string[]>)
    if (found.length) removed += await redis.unlink(...found);
  return removed;
}

/**
 * Throws Redis's own reply when the server takes no writes (a read-only replica, a full disk),
 * so that a caller names it once, before its worker starts and every connection reports it.
 */
export async function checkWritable(redis: Redis, prefix: string): Promise<void> {
  await redis.set(keys(prefix).writableProbe(), "1", "PX", 10_000);
}

/**
 * Whole key prefixes at once: what a rehearsal needs to start from nothing under its own prefix.
 */
import type { Cluster, Redis as IORedis } from "ioredis";
import { keys } from "./keys.js";
import type { Redis } from "./redis.js";

/** SCAN MATCH reads `*?[]\` as a glob; a prefix is matched as the literal text it is. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

function isCluster(redis: Redis): redis is Cluster {
  return redis.isCluster;
}

/**
 * Removes every key under `<prefix>:` (and, on a cluster, the tagged `{<prefix>}:…` and
 * `{<prefix>:<event>}:…`), returning how many. SCAN, not KEYS, so a large Redis is never
 * blocked; UNLINK, not DEL, so Redis frees big hashes (a ledger) off its main thread.
 */
export async function deletePrefix(redis: Redis, prefix: string, batch = 1000): Promise<number> {
  if (!isCluster(redis)) return deleteMatching(redis, `${globLiteral(prefix)}:*`, batch, true);
  // SCAN is per node, and a multi-key UNLINK must stay in one slot: each master is scanned, and
  // each key unlinked on its own (pipelined, so still one round trip per batch).
  let removed = 0;
  for (const node of redis.nodes("master"))
    for (const match of [`${globLiteral(prefix)}:*`, `{${globLiteral(prefix)}[:}]*`])
      removed += await deleteMatching(node, match, batch, false);
  return removed;
}

async function deleteMatching(
  redis: IORedis,
  match: string,
  batch: number,
  together: boolean,
): Promise<number> {
  let removed = 0;
  const stream = redis.scanStream({ match, count: batch });
  for await (const found of stream as AsyncIterable<string[]>) {
    if (!found.length) continue;
    if (together) {
      removed += await redis.unlink(...found);
      continue;
    }
    const pipe = redis.pipeline();
    for (const k of found) pipe.unlink(k);
    for (const [err, n] of (await pipe.exec()) ?? []) {
      if (err) throw err;
      removed += Number(n);
    }
  }
  return removed;
}

/**
 * Throws Redis's own reply when the server takes no writes (a read-only replica, a full disk),
 * so that a caller names it once, before its worker starts and every connection reports it.
 */
export async function checkWritable(redis: Redis, prefix: string): Promise<void> {
  await redis.set(keys(prefix, { cluster: redis.isCluster }).writableProbe(), "1", "PX", 10_000);
}

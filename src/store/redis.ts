import { Cluster, type ClusterOptions, Redis as IORedis, type RedisOptions } from "ioredis";
import { redactUrl } from "../config.js";
import { answersPing, embeddedRedis } from "./embedded.js";
import { type RedisTarget, redisTarget } from "./redis-url.js";

/**
 * A connection as the rest of convene sees it: one Redis, or a Redis Cluster (ioredis `Cluster`,
 * which follows MOVED/ASK redirections and refreshes its slot map after a failover). Both take the
 * same commands; what differs is which keys may share one command, and that is keys.ts's job
 * (`Keys.cluster`). Code outside the store only passes it along (to BullMQ, to the stores).
 */
export type Redis = IORedis | Cluster;

export { isClusterUrl, type RedisTarget, redisTarget } from "./redis-url.js";

type Mode = "worker" | "cli";

function nodeOptions(mode: Mode): RedisOptions {
  return mode === "worker"
    ? { maxRetriesPerRequest: null, enableReadyCheck: true }
    : {
        maxRetriesPerRequest: 1,
        connectTimeout: 5_000,
        retryStrategy: (times) => (times > 2 ? null : 200 * times),
      };
}

/**
 * The cluster client's options. Reads and writes both go to masters (`scaleReads: "master"`): a
 * processor reads the ledger right after another process's compare-and-set, and a replica may
 * not have it yet. During a failover the slot's owner is gone until a replica is promoted
 * (cluster-node-timeout plus an election, seconds): commands wait in the offline queue and are
 * retried (`retryDelayOnClusterDown`, `retryDelayOnFailover`, TRYAGAIN) instead of failing, and
 * MOVED/ASK are followed up to `maxRedirections` times. A worker keeps retrying for as long as
 * the cluster is down (BullMQ needs `maxRetriesPerRequest: null`); a CLI command gives up.
 */
function clusterOptions(t: Extract<RedisTarget, { kind: "cluster" }>, mode: Mode): ClusterOptions {
  const { retryStrategy: _r, ...redisOptions } = nodeOptions(mode);
  const worker = mode === "worker";
  return {
    scaleReads: "master",
    // A command to a master that died is retried every retryDelayOnFailover, at most
    // maxRedirections times: 64 × 500 ms outlasts a failover at Redis's default
    // cluster-node-timeout (15 s), so the write that records a send `sent` waits for the
    // promoted replica instead of failing (which would send it again, marked unconfirmed).
    maxRedirections: worker ? 64 : 16,
    retryDelayOnFailover: worker ? 500 : 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 200,
    enableOfflineQueue: true,
    enableReadyCheck: true,
    slotsRefreshTimeout: 2_000,
    clusterRetryStrategy: (times) =>
      mode === "cli" && times > 3 ? null : Math.min(200 * times, 2_000),
    redisOptions: {
      ...redisOptions,
      ...(t.username ? { username: t.username } : {}),
      ...(t.password ? { password: t.password } : {}),
      ...(t.tls ? { tls: {} } : {}),
    },
  };
}

/**
 * Every connection convene opens, BullMQ's included: the worker hands these to its Queue and
 * Worker rather than letting BullMQ build its own from a URL.
 *
 * Two kinds of connection. Long-running processes (the worker) keep retrying through a Redis
 * restart, which is what BullMQ requires (`maxRetriesPerRequest: null`). One-shot commands (the
 * CLI) give up quickly with a readable message instead of hanging while an organizer waits.
 */
export function connectRedis(url: string, mode: Mode = "cli"): Redis {
  const t = redisTarget(url);
  const redis: Redis =
    t.kind === "cluster"
      ? new Cluster(t.nodes, clusterOptions(t, mode))
      : new IORedis(url, nodeOptions(mode));
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
  // REDIS_CLUSTER=1 asks for a cluster: a private single redis-server can never be one (every
  // command would fail "Failed to refresh slots cache" after starting it), so the default
  // address it is, and a connection error that names it when no node is there.
  const wantsCluster = redisTarget(defaultUrl, env).kind === "cluster";
  const url =
    wantsCluster || (await answersPing(u.hostname, Number(u.port || 6379)))
      ? defaultUrl
      : await embeddedRedis({ defaultUrl, log });
  env.REDIS_URL = url;
  return url;
}

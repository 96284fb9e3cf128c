/** A real `convene serve` server in this process, on loopback, over a real Redis. */
import { createServer } from "node:net";
import type { DateTime } from "luxon";
import type { Logger } from "pino";
import { KINDS } from "../../jobs/index.js";
import { type Config, loadConfig } from "../../src/config.js";
import { addresseesIn } from "../../src/http/addressees.js";
import { consoleData } from "../../src/http/console/data.js";
import { buildServer, type ServeDeps } from "../../src/http/server.js";
import { unsubscriptions } from "../../src/http/unsubscriptions.js";
import { unsubscribeToken } from "../../src/mail/unsubscribe.js";
import { redisAnswers } from "../../src/store/health.js";
import { createStores, type Stores } from "../../src/store/index.js";
import type { Redis } from "../../src/store/redis.js";
import { createLogger } from "../../src/worker/logger.js";
import { createQueue } from "../../src/worker/queue.js";
import { wakeDueJobs } from "../../src/worker/wake.js";

export const SECRET = "convene-serve-test-secret-0123456789abcdef";

export interface TestServer {
  url: string;
  stores: Stores;
  token(address: string, secret?: string): string;
  close(): Promise<void>;
}

export async function startServe(o: {
  redis: Redis;
  prefix: string;
  dirs?: string[];
  secret?: string;
  now?: () => Date;
  rateLimit?: ServeDeps["rateLimit"];
  /** The console and API with this admin token (and the worker's config, for previews). */
  admin?: { token: string; config?: Config; clock?: () => DateTime };
  log?: Logger;
  storeTimeoutMs?: number;
}): Promise<TestServer> {
  const stores = createStores(o.redis, o.prefix);
  const secret = o.secret ?? SECRET;
  const app = await buildServer({
    secret,
    unsubscriptions: unsubscriptions(stores.suppressions, o.now ? { now: o.now } : {}),
    addressee: addresseesIn(o.dirs ?? [], KINDS),
    redisAnswers: () => redisAnswers(o.redis),
    log: o.log ?? createLogger({ level: process.env.CONVENE_TEST_LOG ?? "silent", pretty: false }),
    ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
    ...(o.storeTimeoutMs ? { storeTimeoutMs: o.storeTimeoutMs } : {}),
    ...(o.admin ? { console: adminOf(o.admin, o.redis, stores, o.dirs ?? []) } : {}),
  });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    url,
    stores,
    token: (address, s = secret) => unsubscribeToken(address, s),
    close: () => app.close(),
  };
}

/** The console as `convene serve` wires it, over the test's Redis and stores. */
function adminOf(
  a: NonNullable<Parameters<typeof startServe>[0]["admin"]>,
  redis: Redis,
  stores: Stores,
  dirs: string[],
): NonNullable<ServeDeps["console"]> {
  const wake = async (event: string, step: string | undefined) => {
    const queue = createQueue(redis, stores.keys.bullPrefix(event));
    try {
      return await wakeDueJobs(queue, event, step, a.clock?.().toMillis());
    } finally {
      await queue.close();
    }
  };
  const data = consoleData({
    dirs,
    kinds: KINDS,
    stores,
    config: a.config ?? loadConfig({}),
    wake,
    ...(a.clock ? { now: a.clock } : {}),
  });
  return { token: a.token, data, cookieSecret: "console-test-cookie-secret-0123456789" };
}

/** RFC 8058 §3.2, as Gmail sends it: form-encoded, that one pair, no cookies. */
export function oneClick(url: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "List-Unsubscribe=One-Click",
    redirect: "manual",
  });
}

/**
 * A loopback port nothing listens on, for "Redis unreachable": asked of the OS and released,
 * not a fixed number another run on this machine may be using (one was: a Redis on 6561).
 */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { FastifyServerOptions } from "fastify";
import { loadConfig, MIN_UNSUBSCRIBE_SECRET_LENGTH, requireUnsubscribeSecret } from "../config.js";
import { addresseesIn } from "../http/addressees.js";
import { consoleDisabledReason } from "../http/console/auth.js";
import { consoleData } from "../http/console/data.js";
import { buildServer } from "../http/server.js";
import { unsubscriptions } from "../http/unsubscriptions.js";
import type { KindRegistry } from "../kind.js";
import { checkEventPaths } from "../model/event-path.js";
import { findEventDirs } from "../model/load.js";
import { redisAnswers } from "../store/health.js";
import { createStores, type Stores } from "../store/index.js";
import { connectRedis } from "../store/redis.js";
import { createLogger, type Logger } from "../worker/logger.js";
import { createQueue } from "../worker/queue.js";
import { wakeDueJobs } from "../worker/wake.js";
import { UsageError } from "./errors.js";
import { type ListenAddress, publicUrl as parsePublicUrl } from "./serve-options.js";
import { stopOnSignals } from "./shutdown.js";

interface ServeOpts {
  listen: ListenAddress;
  publicUrl?: string;
}

/** The secret every process has without UNSUBSCRIBE_SECRET: it is in the source, so public. */
const DEV_SECRET = loadConfig({}).unsubscribeSecret;

const isLoopback = (host: string) => host === "localhost" || /^(127\.|::1$)/.test(host);

/**
 * With the public development secret (or a guessable one) anyone can mint a valid link for any
 * address: fine on loopback for a try, never where the public can reach it.
 */
function requireServeSecret(secret: string, host: string): void {
  requireUnsubscribeSecret();
  if (isLoopback(host)) return;
  if (secret === DEV_SECRET || secret.length < MIN_UNSUBSCRIBE_SECRET_LENGTH)
    throw new UsageError(
      `UNSUBSCRIBE_SECRET is ${secret === DEV_SECRET ? "not set" : "too short"}: on ${host}, which is not loopback, anyone could forge unsubscribe links; set it to the worker's secret (at least ${MIN_UNSUBSCRIBE_SECRET_LENGTH} characters, e.g. openssl rand -hex 32)`,
    );
}

/** The default `events` may be absent (the pages then name no organizer); a typed path may not. */
function eventDirs(paths: string[]): string[] {
  if (paths.length === 1 && paths[0] === "events" && !existsSync("events")) return [];
  checkEventPaths(paths);
  return findEventDirs(paths);
}

/**
 * CONVENE_TRUST_PROXY, for fastify's trustProxy: `true` (believe X-Forwarded-For from any peer)
 * or the proxies' addresses/CIDRs separated by commas. Unset, empty or `false`: the peer's address.
 */
export function trustProxyFrom(value: string | undefined): FastifyServerOptions["trustProxy"] {
  const v = value?.trim();
  if (!v || v === "false") return false;
  if (v === "true") return true;
  return v.split(",").map((s) => s.trim());
}

/** CONVENE_RATE_LIMIT: requests a minute per IP; unset or not a whole number ≥ 1: the default. */
function rateLimitFrom(value: string | undefined): { max: number; windowMs: number } | undefined {
  const n = Number(value);
  return value && Number.isInteger(n) && n >= 1 ? { max: n, windowMs: 60_000 } : undefined;
}

/**
 * The unsubscribe URL the worker must write (UNSUBSCRIBE_URL) is `<public URL>/unsubscribe`;
 * a mismatch means the links in mail lead somewhere else, which the log says at start-up.
 */
function checkUnsubscribeUrl(log: Logger, publicUrl: string | undefined, configured?: string) {
  const expected = publicUrl ? `${publicUrl}/unsubscribe` : undefined;
  if (expected && configured && configured !== expected)
    log.warn(
      { unsubscribeUrl: configured, expected },
      "UNSUBSCRIBE_URL is not this server's <public URL>/unsubscribe: the links in mail lead elsewhere",
    );
  if (!configured)
    log.warn(
      { expected: expected ?? "<public URL>/unsubscribe" },
      "UNSUBSCRIBE_URL is not set: the worker's links point at https://<organizer domain>/unsubscribe; set it for the worker",
    );
  return expected ?? configured;
}

/**
 * The console and API exist only with CONVENE_ADMIN_TOKEN (16+ characters), on any address.
 * Without it serve still starts, with /unsubscribe and /healthz alone: mail already out
 * carries those links, and they must keep working. The log line says why there is no console.
 */
function adminConsole(o: {
  log: Logger;
  kinds: KindRegistry;
  dirs: string[];
  stores: Stores;
  redis: ReturnType<typeof connectRedis>;
  config: ReturnType<typeof loadConfig>;
}) {
  const token = process.env.CONVENE_ADMIN_TOKEN?.trim();
  const off = consoleDisabledReason(token);
  if (off || !token) {
    o.log.warn(
      { reason: off },
      `console and API disabled: ${off}; only /unsubscribe and /healthz are served`,
    );
    return undefined;
  }
  const wake = async (event: string, step: string | undefined) => {
    const queue = createQueue(o.redis, o.stores.keys.bullPrefix());
    try {
      return await wakeDueJobs(queue, event, step);
    } finally {
      await queue.close();
    }
  };
  const data = consoleData({
    dirs: o.dirs,
    kinds: o.kinds,
    stores: o.stores,
    config: o.config,
    wake,
  });
  return { token, data, cookieSecret: randomBytes(32).toString("hex") };
}

/** `convene serve [paths...]` (declared in commands.ts). */
export async function serveCommand(
  kinds: KindRegistry,
  paths: string[],
  opts: ServeOpts,
): Promise<void> {
  const config = loadConfig();
  requireServeSecret(config.unsubscribeSecret, opts.listen.host);
  const env = process.env.CONVENE_PUBLIC_URL;
  const publicUrl = opts.publicUrl ?? (env ? parsePublicUrl(env) : undefined);
  const dirs = eventDirs(paths);
  const log = createLogger();
  const redis = connectRedis(config.redisUrl, "worker");
  const stores = createStores(redis, config.prefix);
  const rateLimit = rateLimitFrom(process.env.CONVENE_RATE_LIMIT);
  const admin = adminConsole({ log, kinds, dirs, stores, redis, config });
  const app = await buildServer({
    secret: config.unsubscribeSecret,
    unsubscriptions: unsubscriptions(stores.suppressions),
    addressee: addresseesIn(dirs, kinds),
    redisAnswers: () => redisAnswers(redis),
    log,
    trustProxy: trustProxyFrom(process.env.CONVENE_TRUST_PROXY),
    ...(rateLimit ? { rateLimit } : {}),
    ...(admin ? { console: admin } : {}),
  });
  const close = async () => {
    await app.close();
    await redis.quit().catch(() => redis.disconnect());
  };
  stopOnSignals(log, close, 10_000);
  const url = await app.listen({ host: opts.listen.host, port: opts.listen.port });
  log.info(
    {
      url,
      events: dirs,
      console: admin ? `${url}/console/` : "disabled",
      unsubscribeUrl: checkUnsubscribeUrl(log, publicUrl, config.unsubscribeUrl),
    },
    "convene serve listening",
  );
}

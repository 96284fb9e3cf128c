import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { FastifyServerOptions } from "fastify";
import type { Metric } from "prom-client";
import {
  type Config,
  loadConfig,
  MIN_UNSUBSCRIBE_SECRET_LENGTH,
  requireUnsubscribeSecret,
} from "../config.js";
import { addresseesIn } from "../http/addressees.js";
import { consoleDisabledReason } from "../http/console/auth.js";
import { consoleData } from "../http/console/data.js";
import { DEFAULT_TICK_STALE_MS } from "../http/health.js";
import { type MetricsSource, QUEUE_STATES, type ServedEvent } from "../http/metrics.js";
import { buildServer } from "../http/server.js";
import { unsubscriptions } from "../http/unsubscriptions.js";
import type { KindRegistry } from "../kind.js";
import { checkEventPaths } from "../model/event-path.js";
import { findEventDirs } from "../model/load.js";
import { redisAnswers } from "../store/health.js";
import { createStores, type Stores } from "../store/index.js";
import { LedgerScan } from "../store/ledger-scan.js";
import { connectRedis, type Redis } from "../store/redis.js";
import { DefinitionCache } from "../worker/definitions.js";
import { createLogger, type Logger } from "../worker/logger.js";
import { createQueue, EventQueues } from "../worker/queue.js";
import { wakeDueJobs } from "../worker/wake.js";
import { UsageError } from "./errors.js";
import { DEFAULT_LISTEN, type ListenAddress, listenAddress } from "./serve-options.js";
import { stopOnSignals } from "./shutdown.js";

export interface ServeOpts {
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
  redis: Redis;
  config: Config;
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
    const queue = createQueue(o.redis, o.stores.keys.bullPrefix(event));
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

/** The served events and their steps' kinds, for /metrics (cached; reloaded on file changes). */
function servedEvents(dirs: readonly string[], kinds: KindRegistry): () => Promise<ServedEvent[]> {
  const cache = new DefinitionCache({ kinds });
  return async () => {
    const out: ServedEvent[] = [];
    for (const dir of dirs) {
      const def = (await cache.loadSettled(dir)).loaded?.def;
      if (def)
        out.push({
          id: def.event.id,
          kinds: new Map(def.campaign.steps.map((s) => [s.id, s.kind])),
        });
    }
    return out;
  };
}

/**
 * CONVENE_TICK_STALE_SECONDS: when /healthz calls the last tick stale; default three of the
 * default one-minute cron intervals. Set it to about three of yours with another --cron.
 */
function tickStaleAfterMs(value: string | undefined): number {
  const n = Number(value);
  return value && Number.isFinite(n) && n > 0 ? n * 1000 : DEFAULT_TICK_STALE_MS;
}

function metricsSource(
  redis: Redis,
  stores: Stores,
  o: { events: () => Promise<ServedEvent[]>; inProcess?: readonly Metric[] },
): { source: MetricsSource; close: () => Promise<void> } {
  // On a Redis Cluster every event has its own queue: the gauges add them up.
  const queues = new EventQueues(redis, stores.keys, stores.eventQueues);
  const queueCounts = async () => {
    const all = await Promise.all(
      (await queues.discover()).map((q) => q.getJobCounts(...QUEUE_STATES)),
    );
    const sum: Record<string, number> = {};
    for (const c of all) for (const [k, n] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + n;
    return sum;
  };
  const scan = new LedgerScan(redis, stores.keys);
  const token = process.env.CONVENE_METRICS_TOKEN || undefined;
  const source: MetricsSource = {
    redisAnswers: () => redisAnswers(redis),
    events: o.events,
    ledger: (ev) => scan.entries(ev),
    queueCounts,
    lastTick: () => stores.ticks.last(),
    ...(o.inProcess ? { inProcess: o.inProcess } : {}),
    ...(token ? { token } : {}),
  };
  return { source, close: () => queues.close().catch(() => undefined) };
}

export interface ServerOptions extends ServeOpts {
  config: Config;
  log: Logger;
  /** The histograms of a worker in the same process (`convene worker --serve`). */
  inProcess?: readonly Metric[];
}

export interface StartedServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The HTTP server on its own Redis connection, listening: what `convene serve` runs, and what
 * `convene worker --serve` runs beside the worker. The caller owns the signal handling.
 */
export async function startServer(
  kinds: KindRegistry,
  paths: string[],
  o: ServerOptions,
): Promise<StartedServer> {
  const { config, log } = o;
  requireServeSecret(config.unsubscribeSecret, o.listen.host);
  const publicUrl = o.publicUrl ?? config.publicUrl;
  const dirs = eventDirs(paths);
  const redis = connectRedis(config.redisUrl, "worker");
  const stores = createStores(redis, config.prefix);
  const rateLimit = rateLimitFrom(process.env.CONVENE_RATE_LIMIT);
  const admin = adminConsole({ log, kinds, dirs, stores, redis, config });
  const metrics = metricsSource(redis, stores, {
    events: servedEvents(dirs, kinds),
    ...(o.inProcess ? { inProcess: o.inProcess } : {}),
  });
  const app = await buildServer({
    secret: config.unsubscribeSecret,
    unsubscriptions: unsubscriptions(stores.suppressions),
    addressee: addresseesIn(dirs, kinds),
    redisAnswers: () => redisAnswers(redis),
    log,
    trustProxy: trustProxyFrom(process.env.CONVENE_TRUST_PROXY),
    ...(rateLimit ? { rateLimit } : {}),
    ...(admin ? { console: admin } : {}),
    ticks: {
      lastTick: () => stores.ticks.last(),
      tickStaleAfterMs: tickStaleAfterMs(process.env.CONVENE_TICK_STALE_SECONDS),
    },
    metrics: metrics.source,
  });
  const close = async () => {
    await app.close();
    // Bounded, and no QUIT: with Redis unreachable both would wait for it forever. serve has
    // nothing in flight to Redis once the server is closed.
    await Promise.race([metrics.close(), new Promise((r) => setTimeout(r, 1_000).unref())]);
    redis.disconnect();
  };
  const url = await app.listen({ host: o.listen.host, port: o.listen.port }).catch(async (e) => {
    await close();
    throw e;
  });
  log.info(
    {
      url,
      events: dirs,
      console: admin ? `${url}/console/` : "disabled",
      unsubscribeUrl: checkUnsubscribeUrl(log, publicUrl, config.unsubscribeUrl),
      metricsToken: !!metrics.source.token,
    },
    "convene serve listening",
  );
  return { url, close };
}

/** `convene serve [paths...]` (declared in commands.ts). */
export async function serveCommand(
  kinds: KindRegistry,
  paths: string[],
  opts: Partial<Pick<ServeOpts, "listen">> & Omit<ServeOpts, "listen">,
): Promise<void> {
  const config = loadConfig(process.env, opts.publicUrl ? { publicUrl: opts.publicUrl } : {});
  const log = createLogger();
  const listen = opts.listen ?? listenAddress(DEFAULT_LISTEN);
  const server = await startServer(kinds, paths, { ...opts, listen, config, log });
  stopOnSignals(log, server.close, 10_000);
}

import {
  type Config,
  ConfigError,
  loadConfig,
  redactUrl,
  requireUnsubscribeSecret,
} from "../config.js";
import type { KindRegistry } from "../kind.js";
import { composeMessage } from "../mail/compose.js";
import { createMailer } from "../mail/transport.js";
import { checkEventPaths } from "../model/event-path.js";
import { findEventDirs } from "../model/load.js";
import { DefinitionError, isError } from "../model/problems.js";
import { DefinitionCache } from "../worker/definitions.js";
import { createLogger, type Logger } from "../worker/logger.js";
import { inProcessMetrics } from "../worker/metrics.js";
import { loadWorkerSettings, settleMsFrom, type WorkerSettings } from "../worker/settings.js";
import { type RunningWorker, startWorker } from "../worker/worker.js";
import { UsageError } from "./errors.js";
import { heapGrowthAroundTicks, heldWhile } from "./heap-growth.js";
import type { StartedServer } from "./serve.js";
import { DEFAULT_LISTEN, type ListenAddress, listenAddress } from "./serve-options.js";
import { stopOnSignals } from "./shutdown.js";

interface WorkerOpts {
  cron: string;
  scheduler: boolean;
  schedulerOnly?: boolean;
  concurrency?: number;
  horizon?: number;
  /** `--serve`: the HTTP server (convene serve) in this process too. */
  serve?: boolean;
  listen?: ListenAddress;
  /** `--public-url`: where the public reaches convene serve; UNSUBSCRIBE_URL's default. */
  publicUrl?: string;
  /** Also run `convene inbound` in this process (IMAP_URL). */
  inbound?: boolean;
}

/**
 * A worker started on definitions that do not load would run, schedule nothing and say so once a
 * minute. At start-up that is a mistake to fix now: exit 1 with every located problem. A broken
 * edit later keeps the last good version (see DefinitionCache).
 */
function requireLoadableEvents(paths: string[], dirs: string[], defs: DefinitionCache): void {
  checkEventPaths(paths);
  // Through the worker's cache, which keeps what it read for the first tick.
  const problems = dirs.flatMap((d) => defs.check(d).filter(isError));
  if (problems.length) throw new DefinitionError(problems);
}

/** Refuses a start that could do nothing or would fail later; gives the event directories. */
function checkStart(paths: string[], opts: WorkerOpts, defs: DefinitionCache): string[] {
  if (opts.schedulerOnly && !opts.scheduler)
    throw new UsageError("--scheduler-only and --no-scheduler leave nothing to do");
  const dirs = findEventDirs(paths);
  if (opts.scheduler && dirs.length === 0)
    throw new UsageError(`no event directories found in ${paths.join(", ")}`);
  if (opts.scheduler) requireLoadableEvents(paths, dirs, defs);
  // Only senders sign unsubscribe links; a --scheduler-only process never composes mail.
  if (!opts.schedulerOnly) requireUnsubscribeSecret();
  return dirs;
}

/**
 * Every bulk message carries a one-click unsubscribe link (RFC 8058), and Gmail and Yahoo
 * require it to work. Without UNSUBSCRIBE_URL or a public URL the link would point at a guess
 * (`https://<organizer domain>/unsubscribe`) that nothing answers: real mail is not sent so.
 * The outbox (no SMTP_URL) and a --scheduler-only process send nothing real, so they may.
 */
function requireUnsubscribeUrl(config: Config, opts: WorkerOpts): void {
  if (!config.smtpUrl || opts.schedulerOnly || config.unsubscribeUrl) return;
  throw new ConfigError(
    "SMTP_URL is set, but neither UNSUBSCRIBE_URL nor CONVENE_PUBLIC_URL (--public-url) is: every bulk message carries a one-click unsubscribe link, Gmail and Yahoo require it to work, and without one it would lead nowhere. Run convene serve (or convene worker --serve) where the public reaches it and set CONVENE_PUBLIC_URL to that address (the link is then <public URL>/unsubscribe), or set UNSUBSCRIBE_URL to an unsubscribe page that answers",
  );
}

/** A fatal Redis reply was logged: close what can be closed, briefly, and exit 1. */
function exitOnFatal(close: () => Promise<void>): void {
  const done = () => process.exit(1);
  setTimeout(done, 2_000).unref();
  close().then(done, done);
}

/** The worker's start-up line: what it runs against (credentials redacted). */
function startedLine(dirs: string[], config: Config, opts: WorkerOpts, s: WorkerSettings) {
  return {
    events: dirs,
    redis: redactUrl(config.redisUrl),
    prefix: config.prefix,
    mail: config.smtpUrl ? redactUrl(config.smtpUrl) : `outbox ${config.outboxDir}`,
    scheduler: opts.scheduler,
    senders: !opts.schedulerOnly,
    concurrency: s.concurrency,
    mimeThreads: s.mimeThreads,
    heapGrowthPercent: s.heapGrowthPercent,
    queueAhead: s.queueAhead || "unlimited",
    sendRate: s.sendRate || "unlimited",
    ...(config.unsubscribeUrl ? { unsubscribeUrl: config.unsubscribeUrl } : {}),
  };
}

/** The HTTP server of `--serve`, started before the worker so a port in use stops it all. */
async function serverFor(
  kinds: KindRegistry,
  paths: string[],
  o: { opts: WorkerOpts; config: Config; log: Logger },
): Promise<StartedServer | undefined> {
  const { opts } = o;
  if (!opts.serve) {
    if (opts.listen) throw new UsageError("--listen needs --serve");
    return undefined;
  }
  // Loaded only here: a worker without --serve does not need fastify.
  const { startServer } = await import("./serve.js");
  return startServer(kinds, paths, {
    listen: opts.listen ?? listenAddress(DEFAULT_LISTEN),
    ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
    config: o.config,
    log: o.log,
    inProcess: inProcessMetrics,
  });
}

/**
 * One bounded shutdown for all: the server stops taking requests, then the worker drains its
 * sends while the inbound loop finishes the message in hand.
 */
function closeAll(
  server: StartedServer | undefined,
  inbound: { close(): Promise<void> } | undefined,
  running: RunningWorker,
) {
  return async () => {
    await server?.close().catch(() => undefined);
    await Promise.all([running.close(), inbound?.close()]);
  };
}

/** `--inbound`: the inbound loop on a connection of its own, logging into the worker's log. */
async function startWorkerInbound(
  paths: string[],
  kinds: KindRegistry,
  config: Config,
  log: Logger,
) {
  const { loadInboundEvents, startInbound } = await import("./inbound.js");
  const { connectRedis } = await import("../store/redis.js");
  const events = loadInboundEvents(paths, kinds);
  // Long-running, like the worker's own connections: it rides out a Redis restart.
  const redis = connectRedis(config.redisUrl, "worker");
  let running: ReturnType<typeof startInbound>;
  try {
    running = startInbound({ config, events, redis, log, opts: {} });
  } catch (e) {
    redis.disconnect();
    throw e;
  }
  running.done.catch((e: unknown) =>
    log.error({ error: e instanceof Error ? e.message : String(e) }, "convene inbound stopped"),
  );
  return {
    async close() {
      await running.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** `convene worker [paths...]` (declared in commands.ts). */
export async function workerCommand(
  kinds: KindRegistry,
  paths: string[],
  opts: WorkerOpts,
): Promise<void> {
  const defs = new DefinitionCache({ kinds, settleMs: settleMsFrom(process.env) });
  const dirs = heldWhile(() => checkStart(paths, opts, defs));
  const config = loadConfig(process.env, opts.publicUrl ? { publicUrl: opts.publicUrl } : {});
  requireUnsubscribeUrl(config, opts);
  const settings = loadWorkerSettings(process.env, config.sendRate);
  // The flags win over the environment.
  if (opts.concurrency !== undefined) settings.concurrency = opts.concurrency;
  if (opts.horizon !== undefined) settings.horizonMs = opts.horizon;
  const heap = heapGrowthAroundTicks(settings.heapGrowthPercent);
  const log = createLogger();
  // Before the worker: a missing or bad IMAP_URL, or a port in use, stops the start with
  // nothing left running.
  const inbound = opts.inbound ? await startWorkerInbound(paths, kinds, config, log) : undefined;
  const server = await serverFor(kinds, paths, { opts, config, log }).catch(async (e) => {
    await inbound?.close();
    throw e;
  });
  const running = startWorker({
    paths,
    kinds,
    defs,
    config,
    settings,
    log,
    scheduler: opts.scheduler,
    processors: !opts.schedulerOnly,
    cron: opts.cron,
    composer: composeMessage,
    ...(heap.aroundTick ? { aroundTick: heap.aroundTick } : {}),
    mailer: () =>
      createMailer(config, {
        threads: settings.mimeThreads,
        onThreadError: (e) =>
          log.warn(
            { err: e.message },
            "message assembly thread stopped; the main thread assembles",
          ),
      }),
    onFatal: () => exitOnFatal(close),
  });
  const closeParts = closeAll(server, inbound, running);
  const close = () => closeParts().finally(heap.stop);
  log.info(startedLine(dirs, config, opts, settings), "convene worker started");
  stopOnSignals(log, close, settings.shutdownMs + 4_000);
  await running.ready;
}

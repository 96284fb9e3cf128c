import { loadConfig, redactUrl, requireUnsubscribeSecret } from "../config.js";
import type { KindRegistry } from "../kind.js";
import { composeMessage } from "../mail/compose.js";
import { createMailer } from "../mail/transport.js";
import { checkEventPaths } from "../model/event-path.js";
import { findEventDirs, loadEvent } from "../model/load.js";
import { DefinitionError, isError } from "../model/problems.js";
import { createLogger } from "../worker/logger.js";
import { loadWorkerSettings } from "../worker/settings.js";
import { startWorker } from "../worker/worker.js";
import { UsageError } from "./errors.js";
import { stopOnSignals } from "./shutdown.js";

interface WorkerOpts {
  cron: string;
  scheduler: boolean;
  schedulerOnly?: boolean;
  concurrency?: number;
  horizon?: number;
  /** Also run `convene inbound` in this process (IMAP_URL). */
  inbound?: boolean;
}

/**
 * A worker started on definitions that do not load would run, schedule nothing and say so once a
 * minute. At start-up that is a mistake to fix now: exit 1 with every located problem. A broken
 * edit later keeps the last good version (see DefinitionCache).
 */
function requireLoadableEvents(paths: string[], dirs: string[], kinds: KindRegistry): void {
  checkEventPaths(paths);
  const problems = dirs.flatMap((d) => loadEvent(d, kinds).problems.filter(isError));
  if (problems.length) throw new DefinitionError(problems);
}

/** Refuses a start that could do nothing or would fail later; gives the event directories. */
function checkStart(paths: string[], opts: WorkerOpts, kinds: KindRegistry): string[] {
  if (opts.schedulerOnly && !opts.scheduler)
    throw new UsageError("--scheduler-only and --no-scheduler leave nothing to do");
  const dirs = findEventDirs(paths);
  if (opts.scheduler && dirs.length === 0)
    throw new UsageError(`no event directories found in ${paths.join(", ")}`);
  if (opts.scheduler) requireLoadableEvents(paths, dirs, kinds);
  // Only senders sign unsubscribe links; a --scheduler-only process never composes mail.
  if (!opts.schedulerOnly) requireUnsubscribeSecret();
  return dirs;
}

/** A fatal Redis reply was logged: close what can be closed, briefly, and exit 1. */
function exitOnFatal(close: () => Promise<void>): void {
  const done = () => process.exit(1);
  setTimeout(done, 2_000).unref();
  close().then(done, done);
}

/** `--inbound`: the inbound loop on a connection of its own, logging into the worker's log. */
async function startWorkerInbound(
  paths: string[],
  kinds: KindRegistry,
  config: ReturnType<typeof loadConfig>,
  log: ReturnType<typeof createLogger>,
) {
  const { loadInboundEvents, startInbound } = await import("./inbound.js");
  const { connectRedis } = await import("../store/redis.js");
  const events = loadInboundEvents(paths, kinds);
  const redis = connectRedis(config.redisUrl);
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
  const dirs = checkStart(paths, opts, kinds);
  const config = loadConfig();
  const settings = loadWorkerSettings(process.env, config.sendRate);
  // The flags win over the environment.
  if (opts.concurrency !== undefined) settings.concurrency = opts.concurrency;
  if (opts.horizon !== undefined) settings.horizonMs = opts.horizon;
  const log = createLogger();
  // Before the worker: a missing or bad IMAP_URL stops the start, with nothing left running.
  const inbound = opts.inbound ? await startWorkerInbound(paths, kinds, config, log) : undefined;
  const running = startWorker({
    paths,
    kinds,
    config,
    settings,
    log,
    scheduler: opts.scheduler,
    processors: !opts.schedulerOnly,
    cron: opts.cron,
    composer: composeMessage,
    mailer: () => createMailer(config),
    onFatal: () => exitOnFatal(() => running.close()),
  });
  log.info(
    {
      events: dirs,
      redis: redactUrl(config.redisUrl),
      prefix: config.prefix,
      mail: config.smtpUrl ? redactUrl(config.smtpUrl) : `outbox ${config.outboxDir}`,
      scheduler: opts.scheduler,
      senders: !opts.schedulerOnly,
      concurrency: settings.concurrency,
      sendRate: settings.sendRate || "unlimited",
    },
    "convene worker started",
  );
  const closeAll = async () => {
    await Promise.all([running.close(), inbound?.close()]);
  };
  stopOnSignals(log, closeAll, settings.shutdownMs + 4_000);
  await running.ready;
}

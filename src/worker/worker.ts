/**
 * One worker process: the scheduler (node-cron ticks) and the send processors (a BullMQ Worker),
 * either or both, and their orderly shutdown.
 *
 * Shutdown (SIGTERM/SIGINT → close()): stop ticking, stop taking jobs, give sends in flight
 * `shutdownMs` to finish, then close BullMQ, the SMTP pool and Redis. A send cut off mid-SMTP
 * stays `sending` in the ledger; whoever picks its job up next records it `unconfirmed` and sends
 * it again (never lost; a possible duplicate is counted on the record and reported). Sends still
 * waiting for a pooled connection were never claimed. Delayed jobs not yet due stay in Redis and
 * fire after a restart.
 */
import { type Queue, Worker } from "bullmq";
import type { DateTime } from "luxon";
import cron, { type ScheduledTask } from "node-cron";
import type { Config } from "../config.js";
import type { KindRegistry } from "../kind.js";
import { createStores, type Stores } from "../store/index.js";
import { connectRedis, type Redis } from "../store/redis.js";
import { backoffStrategy } from "./backoff.js";
import { calendarUpdates } from "./calendar-updates.js";
import { DefinitionCache } from "./definitions.js";
import type { Composer, Mailer } from "./deps.js";
import { RedisErrorLog } from "./error-log.js";
import type { Logger } from "./logger.js";
import { createQueue, QUEUE_NAME, type SendJobData } from "./queue.js";
import { createProcessor } from "./runtime.js";
import { type LifecycleHook, Scheduler } from "./scheduler.js";
import type { WorkerSettings } from "./settings.js";

export interface WorkerOptions {
  paths: string[];
  /** The message kinds (jobs/index.ts), passed in by the CLI. */
  kinds: KindRegistry;
  config: Config;
  settings: WorkerSettings;
  log: Logger;
  /** Run the node-cron scheduler in this process. */
  scheduler: boolean;
  /** Run the send processors in this process. */
  processors: boolean;
  /** node-cron expression (5 fields, or 6 with seconds). */
  cron: string;
  composer: Composer;
  /** Created lazily, only when this process sends. */
  mailer?: () => Mailer;
  /** Defaults to the calendar part's lifecycle on the Redis state store. */
  lifecycle?: LifecycleHook;
  /** The clock planning and re-checks use (tests shift it to reach a minute-precise trigger). */
  clock?: () => DateTime;
  /**
   * Redis answered with an error no retry fixes (a read-only replica, a cluster, credentials):
   * already logged in one line; the caller should stop the process (the CLI exits 1).
   */
  onFatal?: (reason: string) => void;
}

export interface RunningWorker {
  stores: Stores;
  queue: Queue<SendJobData>;
  scheduler?: Scheduler;
  worker?: Worker<SendJobData>;
  /** Resolves after the start-up tick. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * With SEND_RATE unset there is still a limiter, one no campaign reaches: BullMQ's moveToActive
 * only reads the queue's rate-limit key (what `queue.rateLimit()` sets on a 421/450/451) when it
 * has a limiter max (the Worker's `limiter` or a global one). Without it a slow-down would pause
 * just the worker that got the reply while every other process kept sending.
 */
export const UNLIMITED: { max: number; duration: number } = { max: 1_000_000, duration: 1000 };

/** BullMQ's limiter takes {max per duration}; SEND_RATE may be fractional (0.5 = one per 2 s). */
export function limiterFor(rate: number): { max: number; duration: number } {
  if (!(rate > 0)) return UNLIMITED;
  return rate >= 1
    ? { max: Math.floor(rate), duration: 1000 }
    : { max: 1, duration: Math.round(1000 / rate) };
}

/**
 * A sending worker that starts lifts an AUTH halt (see store/smtp-health.ts): restarting is how an
 * operator says SMTP_URL was fixed. If it was not, the first send fails AUTH again and halts
 * again, after one attempt per connection rather than one per send.
 */
async function liftSmtpHalt(stores: Stores, queue: Queue<SendJobData>, log: Logger) {
  const halt = await stores.smtp.clearHalt();
  if (!halt) return;
  await queue.resume();
  log.info(
    { since: halt.at, smtpUrl: halt.server, response: halt.reply },
    "sending resumes after the SMTP authentication failure (a worker that sends was started)",
  );
}

/** The kind whose sends carry calendar items: the one that invites. */
function calendarCarrier(kinds: KindRegistry): string | undefined {
  return [...kinds.values()].find((k) => k.invites)?.name;
}

/** Routes a connection's error and ready events to the throttled log. */
function watchConnection(r: Redis, errors: RedisErrorLog): Redis {
  r.on("error", (e: Error) => errors.error(e, "Redis error"));
  r.on("ready", () => errors.ready());
  return r;
}

/** `p`, or "timeout" once `ms` have passed: shutdown must not wait on a Redis that is gone. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), Math.max(0, ms));
  });
  try {
    return await Promise.race([p, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Lets sends in flight finish within `ms`. Past that, or with Redis unreachable (BullMQ's close
 * would wait for it forever), disconnects: those jobs are picked up again after a restart.
 */
async function closeSenders(
  w: Worker<SendJobData>,
  o: { reachable: boolean; ms: number; log: Logger },
): Promise<void> {
  const result = o.reachable ? await within(w.close(), o.ms) : "unreachable";
  if (result === undefined) return;
  o.log.warn(
    { waitedMs: o.reachable ? o.ms : 0 },
    o.reachable
      ? "sends still in flight at shutdown; their jobs will be picked up again and resent (marked unconfirmed if SMTP had started)"
      : "Redis unreachable at shutdown; sends in flight will be picked up again and resent (marked unconfirmed if SMTP had started)",
  );
  // Not awaited: close(true) joins the pending close; disconnecting ends it.
  void w.close(true).catch(() => undefined);
  await within(
    w.disconnect().catch(() => undefined),
    1_000,
  );
}

export function startWorker(o: WorkerOptions): RunningWorker {
  const { config, settings, log } = o;
  const errors = new RedisErrorLog({
    url: config.redisUrl,
    log,
    onFatal: (reason) => o.onFatal?.(reason),
  });
  const redis: Redis = watchConnection(connectRedis(config.redisUrl, "worker"), errors);
  const stores = createStores(redis, config.prefix);
  const queue = createQueue(redis, stores.keys.bullPrefix());
  const defs = new DefinitionCache({ kinds: o.kinds, settleMs: settings.settleMs });
  let mailer: Mailer | undefined;
  let worker: Worker<SendJobData> | undefined;
  let workerRedis: Redis | undefined;
  let task: ScheduledTask | undefined;
  let scheduler: Scheduler | undefined;

  if (o.processors) {
    mailer = o.mailer?.();
    if (!mailer) throw new Error("a worker that sends needs a mailer");
    const processor = createProcessor({
      stores,
      defs,
      composer: o.composer,
      mailer,
      config,
      settings,
      log,
      queue,
      kinds: o.kinds,
      ...(o.clock ? { now: o.clock } : {}),
    });
    const limiter = limiterFor(settings.sendRate);
    workerRedis = watchConnection(connectRedis(config.redisUrl, "worker"), errors);
    worker = new Worker<SendJobData>(QUEUE_NAME, (job, token) => processor(job, token), {
      connection: workerRedis,
      prefix: stores.keys.bullPrefix(),
      concurrency: settings.concurrency,
      lockDuration: settings.lockMs,
      stalledInterval: settings.lockMs,
      limiter,
      settings: { backoffStrategy: backoffStrategy(settings.backoffMaxMs) },
    });
    // A job that throws fails alone: BullMQ records it; here it is only logged.
    worker.on("failed", (job, err) =>
      log.debug({ send: job?.id, err: err.message }, "job attempt ended with an error"),
    );
    // BullMQ reports every failed poll; the throttle turns an outage into two lines.
    worker.on("error", (err) => errors.error(err, "worker error"));
  }

  let ready: Promise<void> = o.processors
    ? liftSmtpHalt(stores, queue, log).catch((e: Error) =>
        errors.error(e, "could not lift the SMTP halt"),
      )
    : Promise.resolve();
  if (o.scheduler) {
    const sch = new Scheduler(
      {
        stores,
        defs,
        queue,
        settings,
        log,
        lifecycle: o.lifecycle ?? calendarUpdates(stores.calendar, log, calendarCarrier(o.kinds)),
        ...(o.clock ? { now: o.clock } : {}),
      },
      o.paths,
    );
    scheduler = sch;
    const tick = () =>
      sch.tick().then(
        () => undefined,
        (e: Error) => errors.error(e, "scheduler tick failed"),
      );
    ready = ready.then(tick);
    // Scheduler.tick() already joins a tick in progress, so overlap cannot happen; node-cron's
    // own noOverlap would only print a warning of its own (outside the log) on every blocked
    // run while a tick waits for an unreachable Redis.
    task = cron.schedule(o.cron, tick, { noOverlap: false, name: "convene-scheduler" });
  }

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    closing ??= (async () => {
      await task?.stop();
      await task?.destroy();
      // One bound for the whole shutdown, so SIGTERM during an outage still exits in time.
      const deadline = Date.now() + settings.shutdownMs;
      const left = () => deadline - Date.now();
      const reachable = !errors.unreachable;
      if (reachable)
        await within(
          ready.catch(() => undefined),
          left(),
        );
      if (worker) await closeSenders(worker, { reachable, ms: left(), log });
      errors.mute();
      await mailer?.close().catch(() => undefined);
      if (reachable)
        await within(
          queue.close().catch(() => undefined),
          left(),
        );
      workerRedis?.disconnect();
      redis.disconnect();
    })();
    return closing;
  }

  return {
    stores,
    queue,
    ...(scheduler ? { scheduler } : {}),
    ...(worker ? { worker } : {}),
    ready,
    close,
  };
}

/**
 * One worker process: the scheduler (node-cron ticks) and the send processors (a BullMQ Worker
 * per queue: one on a single Redis, one per event on a cluster, see queue.ts), either or both,
 * and their orderly shutdown.
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
import { EventQueues, QUEUE_NAME, type SendJobData } from "./queue.js";
import { createProcessor } from "./runtime.js";
import { type AroundTick, type LifecycleHook, Scheduler } from "./scheduler.js";
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
  /** The definitions, when the caller has read them already (the CLI's start-up check). */
  defs?: DefinitionCache;
  /** Runs around each scheduler tick (the CLI's heap growth, see SchedulerDeps). */
  aroundTick?: AroundTick;
  /**
   * Redis answered with an error no retry fixes (a read-only replica, a cluster, credentials):
   * already logged in one line; the caller should stop the process (the CLI exits 1).
   */
  onFatal?: (reason: string) => void;
}

export interface RunningWorker {
  stores: Stores;
  /** Every event's queue. */
  queues: EventQueues;
  /** The one queue of a single Redis (throws on a cluster: use `queues.of(event)`). */
  readonly queue: Queue<SendJobData>;
  scheduler?: Scheduler;
  /** The first queue's BullMQ Worker (the only one on a single Redis). */
  readonly worker?: Worker<SendJobData>;
  /** One BullMQ Worker per queue consumed so far. */
  workers(): Worker<SendJobData>[];
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
async function liftSmtpHalt(stores: Stores, queues: EventQueues, log: Logger) {
  const halt = await stores.smtp.clearHalt();
  if (!halt) return;
  for (const q of await queues.discover()) await q.resume();
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

/** How often a cluster worker looks for events that got a queue (queued by another process). */
const DISCOVER_MS = 2_000;

/** How often a scheduler looks whether held-back sends are due and there is room for them. */
const TOP_UP_MS = 1_000;

interface Senders {
  workers: Map<string, Worker<SendJobData>>;
  /** Starts consuming a queue (its BullMQ prefix), once. */
  consume(bullPrefix: string): void;
}

/** The processors: a BullMQ Worker for each queue this process opens or discovers. */
function startSenders(
  o: WorkerOptions,
  ctx: { stores: Stores; queues: EventQueues; defs: DefinitionCache; errors: RedisErrorLog },
  mailer: Mailer,
  connection: Redis,
): Senders {
  const { config, settings, log } = o;
  const processor = createProcessor({
    stores: ctx.stores,
    defs: ctx.defs,
    composer: o.composer,
    mailer,
    config,
    settings,
    log,
    queues: ctx.queues,
    kinds: o.kinds,
    ...(o.clock ? { now: o.clock } : {}),
  });
  // On a cluster SEND_RATE is kept by the global bucket (runtime.ts); each queue still needs a
  // limiter for queue.rateLimit() to count (see UNLIMITED).
  const limiter = ctx.stores.keys.cluster ? UNLIMITED : limiterFor(settings.sendRate);
  const workers = new Map<string, Worker<SendJobData>>();
  const consume = (bullPrefix: string) => {
    if (workers.has(bullPrefix)) return;
    const worker = new Worker<SendJobData>(QUEUE_NAME, (job, token) => processor(job, token), {
      connection,
      prefix: bullPrefix,
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
    worker.on("error", (err) => ctx.errors.error(err, "worker error"));
    workers.set(bullPrefix, worker);
  };
  return { workers, consume };
}

/** Cluster: consumes every listed event's queue, now and every DISCOVER_MS. */
function discoverQueues(queues: EventQueues, errors: RedisErrorLog): () => void {
  if (!queues.keys.cluster) {
    void queues.discover();
    return () => undefined;
  }
  const look = () =>
    queues.discover().catch((e: Error) => errors.error(e, "could not list the event queues"));
  void look();
  const timer = setInterval(look, DISCOVER_MS);
  timer.unref();
  return () => clearInterval(timer);
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
  const queues = new EventQueues(redis, stores.keys, stores.eventQueues);
  const defs = o.defs ?? new DefinitionCache({ kinds: o.kinds, settleMs: settings.settleMs });
  let mailer: Mailer | undefined;
  let senders: Senders | undefined;
  let workerRedis: Redis | undefined;
  let task: ScheduledTask | undefined;
  let topUps: NodeJS.Timeout | undefined;
  let scheduler: Scheduler | undefined;
  let stopDiscovery: () => void = () => undefined;

  if (o.processors) {
    mailer = o.mailer?.();
    if (!mailer) throw new Error("a worker that sends needs a mailer");
    workerRedis = watchConnection(connectRedis(config.redisUrl, "worker"), errors);
    const s = startSenders(o, { stores, queues, defs, errors }, mailer, workerRedis);
    senders = s;
    queues.onOpen((p) => s.consume(p));
    stopDiscovery = discoverQueues(queues, errors);
  }

  let ready: Promise<void> = o.processors
    ? liftSmtpHalt(stores, queues, log).catch((e: Error) =>
        errors.error(e, "could not lift the SMTP halt"),
      )
    : Promise.resolve();
  if (o.scheduler) {
    const sch = new Scheduler(
      {
        stores,
        defs,
        queues,
        settings,
        log,
        lifecycle: o.lifecycle ?? calendarUpdates(stores.calendar, log, calendarCarrier(o.kinds)),
        ...(o.clock ? { now: o.clock } : {}),
        ...(o.aroundTick ? { aroundTick: o.aroundTick } : {}),
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
    // Held-back sends are queued as the senders make room (scheduler.ts, "Queueing ahead"); a
    // second is a small part of the few seconds of sending CONVENE_QUEUE_AHEAD jobs last.
    topUps = setInterval(() => {
      if (sch.wantsTopUp())
        sch.topUp().catch((e: Error) => errors.error(e, "scheduler top-up failed"));
    }, TOP_UP_MS);
    topUps.unref();
  }

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    closing ??= (async () => {
      stopDiscovery();
      clearInterval(topUps);
      await task?.stop();
      await task?.destroy();
      // One bound for the whole shutdown, so SIGTERM during an outage still exits in time.
      const deadline = Date.now() + settings.shutdownMs;
      const left = () => deadline - Date.now();
      const reachable = !errors.unreachable;
      // A tick or top-up cut between its ledger moves and its job adds leaves sends scheduled
      // with no job until a full tick finds them: let the one under way finish.
      if (reachable)
        await within(Promise.all([ready.catch(() => undefined), scheduler?.settled()]), left());
      await Promise.all(
        [...(senders?.workers.values() ?? [])].map((w) =>
          closeSenders(w, { reachable, ms: left(), log }),
        ),
      );
      errors.mute();
      await mailer?.close().catch(() => undefined);
      if (reachable)
        await within(
          queues.close().catch(() => undefined),
          left(),
        );
      workerRedis?.disconnect();
      redis.disconnect();
    })();
    return closing;
  }

  return {
    stores,
    queues,
    get queue() {
      const q = queues.shared;
      if (!q) throw new Error("on a Redis Cluster each event has its own queue: queues.of(event)");
      return q;
    },
    ...(scheduler ? { scheduler } : {}),
    get worker() {
      return senders?.workers.values().next().value;
    },
    workers: () => [...(senders?.workers.values() ?? [])],
    ready,
    close,
  };
}

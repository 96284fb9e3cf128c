import { availableParallelism } from "node:os";
import { z } from "zod";
import { lenientNumber as num } from "../config.js";
import { durationMillis, parseDuration } from "../model/time.js";

export { type SmtpTimeouts, smtpTimeouts } from "../mail/smtp-timeouts.js";

/**
 * Tunables of the worker. Each has an environment variable (for Docker) and most a CLI flag;
 * the flag wins. Defaults suit a campaign of thousands of messages to one relay.
 */
export interface WorkerSettings {
  /** `CONVENE_ATTEMPTS`: SMTP attempts per send for transient failures (4xx, timeouts). */
  attempts: number;
  /** `CONVENE_BACKOFF_MS`: first retry delay; doubles per attempt, with jitter. */
  backoffMs: number;
  /** `CONVENE_BACKOFF_MAX_MS`: retry delay cap. */
  backoffMaxMs: number;
  /** `CONVENE_SLOWDOWN_MS`: how long the whole queue pauses after a 421/450/451 reply. */
  slowDownMs: number;
  /** `CONVENE_HORIZON` (a duration like 1h): sends due within it are queued as delayed jobs. */
  horizonMs: number;
  /** `CONVENE_PAUSE_RECHECK_MS`: how often a job of a paused step looks again (resume also wakes them). */
  pauseRecheckMs: number;
  /** `CONVENE_SHUTDOWN_MS`: how long SIGTERM waits for sends in flight before closing anyway. */
  shutdownMs: number;
  /**
   * `CONVENE_LOCK_MS`: a job's lock; if its process dies, the job is picked up again after about
   * this long (and, if SMTP had started, recorded `unconfirmed`). Also the stalled-check interval.
   */
  lockMs: number;
  /** `CONVENE_CONCURRENCY`: sends processed at once per worker process. */
  concurrency: number;
  /**
   * `CONVENE_MIME_THREADS`: threads of a `convene worker` that assemble messages for SMTP
   * (src/mail/assembly-threads.ts). 0, the default: the main thread assembles them itself. A
   * thread gave 10–25 % more msg/s on 2 cores, for 60–220 MB more peak RSS (README, "Tuning
   * throughput"), so it is the operator's choice, not the default.
   */
  mimeThreads: number;
  /**
   * `CONVENE_HEAP_GROWTH`: how far, in percent over what a full garbage collection left live, V8
   * lets the heap of a `convene worker` grow before it collects again (V8's
   * `--heap-growing-percent`), at most 300. 0, the default (src/cli/heap-growth.ts): 10 %
   * throughout while more than 80 MB stays live (about 40,000 recipients); otherwise 20 % while
   * the start-up check or a scheduler tick runs, and V8's own choice in between. V8's own grows
   * the heap up to 4× while the process allocates fast, as a big tick and sending do; near its
   * heap limit, only 10–30 %, and a setting replaces that too, so keep it small. Holding a small
   * worker to 20 % cost 10–30 % more CPU per message (README, "Tuning throughput"), so that is
   * the operator's choice.
   */
  heapGrowthPercent: number;
  /** `SEND_RATE` (from Config): messages per second across all workers; 0 = unlimited. */
  sendRate: number;
  /**
   * `CONVENE_CONNECT_BACKOFF_MS`, `CONVENE_CONNECT_BACKOFF_MAX_MS`: how long the whole queue waits
   * after the first failure to reach the SMTP server (refused, DNS, greeting); doubles while the
   * failures go on, up to the cap, and starts over after a success.
   */
  connectBackoffMs: number;
  connectBackoffMaxMs: number;
  /**
   * `CONVENE_SETTLE_MS`: an event file changed more recently than this is still being written
   * (editors save in place); the worker keeps the previous definition until it settles.
   */
  settleMs: number;
  /**
   * `CONVENE_FULL_TICK` (a duration, 5m): how often a tick whose definition, registrations, RSVPs
   * and controls are unchanged still re-plans and reconciles every send (see scheduler.ts).
   * 0: every tick does.
   */
  fullTickMs: number;
  /**
   * `CONVENE_QUEUE_AHEAD`: the most jobs not yet run (waiting or delayed) the scheduler keeps,
   * across the queue. A tick queues new sends only while fewer are there, earliest due first;
   * the rest wait in the plan and are queued as the senders make room (see "Queueing ahead" in
   * scheduler.ts).
   * 0: no limit, a tick queues everything due within the horizon at once.
   */
  queueAhead: number;
}

/**
 * CONVENE_HEAP_GROWTH's cap: V8's own growth goes up to 4×, that is 300 %; more would let the heap
 * grow further than V8 itself does (and V8 wraps values past 2^31).
 */
const MAX_HEAP_GROWTH = 300;

/**
 * CONVENE_QUEUE_AHEAD's default. Each new job costs Redis about 60 µs, so 100,000 queued at once
 * held a tick for 6–10 s; 2,000 are a few seconds of sending at the rates measured (400–600 msg/s
 * on 2 cores), topped up every second.
 */
const QUEUE_AHEAD = 2000;

/** A count of things (attempts, concurrent sends): whole, and at least `min`. */
const count = (dflt: number, min: number) =>
  num(dflt).transform((n) => Math.max(min, Math.floor(n)));

export function durationOption(text: string, what: string): number {
  const d = parseDuration(text);
  if (!d || d.sign < 0) throw new Error(`${what} "${text}" is not a duration like 30m, 1h or 1d`);
  return durationMillis(d);
}

const settingsSchema = z.object({
  CONVENE_ATTEMPTS: count(8, 1),
  CONVENE_BACKOFF_MS: num(30_000),
  CONVENE_BACKOFF_MAX_MS: num(30 * 60_000),
  CONVENE_SLOWDOWN_MS: num(10_000),
  // Unlike the numbers, a bad horizon stops the worker: it decides what gets queued at all.
  CONVENE_HORIZON: z
    .string()
    .optional()
    .transform((v) => (v ? durationOption(v, "CONVENE_HORIZON") : 3_600_000)),
  CONVENE_PAUSE_RECHECK_MS: num(60_000),
  CONVENE_SHUTDOWN_MS: num(10_000),
  CONVENE_LOCK_MS: num(30_000).transform((n) => Math.max(1_000, n)),
  CONVENE_CONCURRENCY: count(10, 1),
  // More threads than cores only take turns.
  CONVENE_MIME_THREADS: count(0, 0).transform((n) => Math.min(n, availableParallelism())),
  CONVENE_HEAP_GROWTH: count(0, 0).transform((n) => Math.min(n, MAX_HEAP_GROWTH)),
  CONVENE_CONNECT_BACKOFF_MS: num(1_000),
  CONVENE_CONNECT_BACKOFF_MAX_MS: num(5 * 60_000),
  CONVENE_SETTLE_MS: num(1_000),
  CONVENE_FULL_TICK: z
    .string()
    .optional()
    .transform((v) => (v ? durationOption(v, "CONVENE_FULL_TICK") : 5 * 60_000)),
  CONVENE_QUEUE_AHEAD: count(QUEUE_AHEAD, 0),
});

/** CONVENE_SETTLE_MS alone, as loadWorkerSettings reads it: the CLI needs it before the rest. */
export function settleMsFrom(env: NodeJS.ProcessEnv = process.env): number {
  return settingsSchema.shape.CONVENE_SETTLE_MS.parse(env.CONVENE_SETTLE_MS);
}

export function loadWorkerSettings(
  env: NodeJS.ProcessEnv = process.env,
  sendRate = 0,
): WorkerSettings {
  const e = settingsSchema.parse(env);
  return {
    attempts: e.CONVENE_ATTEMPTS,
    backoffMs: e.CONVENE_BACKOFF_MS,
    backoffMaxMs: e.CONVENE_BACKOFF_MAX_MS,
    slowDownMs: e.CONVENE_SLOWDOWN_MS,
    horizonMs: e.CONVENE_HORIZON,
    pauseRecheckMs: e.CONVENE_PAUSE_RECHECK_MS,
    shutdownMs: e.CONVENE_SHUTDOWN_MS,
    lockMs: e.CONVENE_LOCK_MS,
    concurrency: e.CONVENE_CONCURRENCY,
    mimeThreads: e.CONVENE_MIME_THREADS,
    heapGrowthPercent: e.CONVENE_HEAP_GROWTH,
    sendRate,
    connectBackoffMs: e.CONVENE_CONNECT_BACKOFF_MS,
    connectBackoffMaxMs: e.CONVENE_CONNECT_BACKOFF_MAX_MS,
    settleMs: e.CONVENE_SETTLE_MS,
    fullTickMs: e.CONVENE_FULL_TICK,
    queueAhead: e.CONVENE_QUEUE_AHEAD,
  };
}

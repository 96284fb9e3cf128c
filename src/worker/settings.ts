import { durationMillis, parseDuration } from "../model/time.js";

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
}

/** SMTP timeouts, `CONVENE_SMTP_CONNECT_TIMEOUT_MS` / `_GREETING_` / `_SOCKET_`. */
export interface SmtpTimeouts {
  /** Establishing the TCP (or TLS) connection. */
  connectMs: number;
  /** From connecting to the server's 220 greeting. */
  greetingMs: number;
  /** Silence on an open connection (waiting for any reply, 250 after DATA included). */
  socketMs: number;
}

export function smtpTimeouts(env: NodeJS.ProcessEnv = process.env): SmtpTimeouts {
  return {
    connectMs: num(env.CONVENE_SMTP_CONNECT_TIMEOUT_MS, 10_000),
    greetingMs: num(env.CONVENE_SMTP_GREETING_TIMEOUT_MS, 10_000),
    socketMs: num(env.CONVENE_SMTP_SOCKET_TIMEOUT_MS, 60_000),
  };
}

function num(v: string | undefined, dflt: number): number {
  const n = Number(v);
  return v !== undefined && v !== "" && Number.isFinite(n) && n >= 0 ? n : dflt;
}

export function durationOption(text: string, what: string): number {
  const d = parseDuration(text);
  if (!d || d.sign < 0) throw new Error(`${what} "${text}" is not a duration like 30m, 1h or 1d`);
  return durationMillis(d);
}

export function loadWorkerSettings(
  env: NodeJS.ProcessEnv = process.env,
  sendRate = 0,
): WorkerSettings {
  return {
    attempts: Math.max(1, Math.floor(num(env.CONVENE_ATTEMPTS, 8))),
    backoffMs: num(env.CONVENE_BACKOFF_MS, 30_000),
    backoffMaxMs: num(env.CONVENE_BACKOFF_MAX_MS, 30 * 60_000),
    slowDownMs: num(env.CONVENE_SLOWDOWN_MS, 10_000),
    horizonMs: env.CONVENE_HORIZON
      ? durationOption(env.CONVENE_HORIZON, "CONVENE_HORIZON")
      : 3_600_000,
    pauseRecheckMs: num(env.CONVENE_PAUSE_RECHECK_MS, 60_000),
    shutdownMs: num(env.CONVENE_SHUTDOWN_MS, 10_000),
    lockMs: Math.max(1_000, num(env.CONVENE_LOCK_MS, 30_000)),
    concurrency: Math.max(1, Math.floor(num(env.CONVENE_CONCURRENCY, 10))),
    sendRate,
    connectBackoffMs: num(env.CONVENE_CONNECT_BACKOFF_MS, 1_000),
    connectBackoffMaxMs: num(env.CONVENE_CONNECT_BACKOFF_MAX_MS, 5 * 60_000),
    settleMs: num(env.CONVENE_SETTLE_MS, 1_000),
  };
}

import type { BackoffStrategy } from "bullmq";

export const BACKOFF_TYPE = "exp-jitter";

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random. Pure
 * exponential retries from many workers hit a recovering server in lock-step; the random half
 * spreads them out, the fixed half keeps a floor so retries never come back immediately.
 * BullMQ's built-in `exponential` has a jitter option, but no cap; a cap matters when attempts
 * are raised for a long outage.
 */
export function backoffDelay(
  attemptsMade: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

export function backoffStrategy(maxMs: number): BackoffStrategy {
  return (attemptsMade, type, _err, job) => {
    if (type !== BACKOFF_TYPE) return -1;
    const base = (job?.opts.backoff as { delay?: number } | undefined)?.delay ?? 1000;
    return backoffDelay(attemptsMade, base, maxMs);
  };
}

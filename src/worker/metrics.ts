/**
 * The worker's in-process measurements, as prom-client histograms. They live in this process
 * only, so they are exported by the /metrics of a server in the same process
 * (`convene worker --serve`); a `convene serve` of its own shows what Redis holds, not these.
 * They are registered in no registry here: the server adds them to its own (src/http/metrics.ts),
 * so tests that start several servers in one process do not collide on prom-client's global one.
 */
import { Histogram } from "prom-client";

/** From a fast local relay (a few ms) to a slow one near the 60 s socket timeout. */
const SMTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A tick plans every event; a large campaign takes seconds, a stuck Redis much longer. */
const TICK_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const smtpSendDuration = new Histogram({
  name: "convene_smtp_send_duration_seconds",
  help: "Time from handing a message to SMTP to the server's answer, by outcome (accepted: the server took it; failed: any error or refusal). Only sends of this process.",
  labelNames: ["outcome"] as const,
  buckets: SMTP_BUCKETS,
  registers: [],
});

export const schedulerTickDuration = new Histogram({
  name: "convene_scheduler_tick_duration_seconds",
  help: "Duration of the scheduler ticks of this process (every event planned and queued).",
  buckets: TICK_BUCKETS,
  registers: [],
});

/** The histograms above, for a server in the same process to register. */
export const inProcessMetrics = [smtpSendDuration, schedulerTickDuration];

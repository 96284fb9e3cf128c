import { type CalendarStateStore, RedisCalendarStateStore } from "./calendar-state.js";
import { ControlStore } from "./control.js";
import { InboundStore } from "./inbound.js";
import { type Keys, keys } from "./keys.js";
import { LayoutCheck } from "./layout.js";
import { Ledger } from "./ledger.js";
import { QueueJobs } from "./queue-jobs.js";
import { type Redis, withRedis } from "./redis.js";
import { RegistrationStore } from "./registrations.js";
import { StepReports } from "./reports.js";
import { RsvpStore } from "./rsvp.js";
import { SendChecks } from "./send-checks.js";
import { EventQueueIndex, SendRate } from "./send-rate.js";
import { SmtpHealth } from "./smtp-health.js";
import { SuppressionStore } from "./suppressions.js";
import { TickStore } from "./ticks.js";

/** Every Redis-backed store on one connection, under one key prefix. */
export interface Stores {
  keys: Keys;
  ledger: Ledger;
  registrations: RegistrationStore;
  suppressions: SuppressionStore;
  control: ControlStore;
  /** Shared SMTP trouble: the connection backoff and the AUTH halt every worker honours. */
  smtp: SmtpHealth;
  /** The calendar part's invite lifecycle state (SEQUENCE per item, who holds which version). */
  calendar: CalendarStateStore;
  /** Step occurrences whose completion has been logged. */
  reports: StepReports;
  /** BullMQ's job keys, read for jobs the scheduler must queue again. */
  jobs: QueueJobs;
  /** The last completed scheduler tick: when, how long, which events (for /healthz, /metrics). */
  ticks: TickStore;
  /** RSVP answers from iMIP REPLYs (convene inbound). */
  rsvp: RsvpStore;
  /** The inbound mailbox's high-water mark and per-message outcomes. */
  inbound: InboundStore;
  /** What a processor re-checks a send with, in one round trip. */
  sendChecks: SendChecks;
  /** Cluster: SEND_RATE across every event's queue. */
  sendRate: SendRate;
  /** Cluster: the events that have a queue, for workers to consume. */
  eventQueues: EventQueueIndex;
  /** Cluster: an event's ledger left under its single-Redis name (layout.ts). */
  layout: LayoutCheck;
  /**
   * Whether the connection is up now. A write made while it is not waits in ioredis's offline
   * queue and lands whenever Redis returns; an HTTP request that must answer now asks first.
   */
  connected(): boolean;
}

export function createStores(redis: Redis, prefix: string): Stores {
  // The connection decides the layout: a cluster client gets hash-tagged names (keys.ts).
  const k = keys(prefix, { cluster: redis.isCluster });
  return {
    keys: k,
    ledger: new Ledger(redis, k),
    registrations: new RegistrationStore(redis, k),
    suppressions: new SuppressionStore(redis, k),
    control: new ControlStore(redis, k),
    smtp: new SmtpHealth(redis, k),
    calendar: new RedisCalendarStateStore(redis, prefix),
    reports: new StepReports(redis, k),
    jobs: new QueueJobs(redis),
    ticks: new TickStore(redis, k),
    rsvp: new RsvpStore(redis, k),
    inbound: new InboundStore(redis, k),
    sendChecks: new SendChecks(redis, k),
    sendRate: new SendRate(redis, k),
    eventQueues: new EventQueueIndex(redis, k),
    layout: new LayoutCheck(redis, k, prefix),
    connected: () => redis.status === "ready",
  };
}

/** For one-shot commands: a CLI connection, the stores on it, always closed afterwards. */
export async function withStores<T>(
  config: { redisUrl: string; prefix: string },
  fn: (stores: Stores, redis: Redis) => Promise<T>,
): Promise<T> {
  return withRedis(config.redisUrl, (redis) => fn(createStores(redis, config.prefix), redis));
}

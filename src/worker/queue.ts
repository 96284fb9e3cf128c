/**
 * The BullMQ queues sends go through (job name = message kind).
 *
 * On one Redis: one queue for every event, because the global send rate (`SEND_RATE`) and a
 * server's "slow down" reply must hold for all mail together, and BullMQ's limiter and
 * rate-limit are per queue. Its name and keys are the ones convene always used.
 *
 * On a Redis Cluster: one queue per event, under the event's hash tag (store/keys.ts), so the
 * events' work spreads over the masters and each event's queue shares a slot with its ledger.
 * What must stay global is kept global by other means: SEND_RATE by a bucket on one global key
 * taken before every claim (store/send-rate.ts, runtime.ts), a slow-down and the connection
 * backoff by the global keys every send checks before it claims (SmtpHealth.waitingMs), an AUTH
 * halt by pausing every event's queue.
 */
import { type JobsOptions, Queue } from "bullmq";
import type { Keys } from "../store/keys.js";
import type { Redis } from "../store/redis.js";
import type { EventQueueIndex } from "../store/send-rate.js";
import type { PlannedSend, SendJobData } from "../types.js";
import { BACKOFF_TYPE } from "./backoff.js";
import type { WorkerSettings } from "./settings.js";

export type { SendJobData } from "../types.js";

export const QUEUE_NAME = "sends";

export function jobData(send: PlannedSend, dir: string): SendJobData {
  const { method, changed } = send;
  return {
    id: send.id,
    event: send.event,
    dir,
    step: send.step,
    kind: send.kind,
    recipient: send.recipient,
    ...(send.item ? { item: send.item } : {}),
    version: send.version,
    due: send.due,
    expires: send.expires,
    ...(method
      ? {
          method,
          ...(changed?.length ? { changed } : {}),
          name: send.name,
          dueLocal: send.dueLocal,
          zone: send.zone,
          ...(send.team ? { team: send.team } : {}),
        }
      : {}),
  };
}

export function jobOptions(s: WorkerSettings, id: string, delay: number): JobsOptions {
  return {
    jobId: id,
    delay: Math.max(0, delay),
    attempts: s.attempts,
    backoff: { type: BACKOFF_TYPE, delay: s.backoffMs },
    // The ledger keeps the outcome; a finished job would only cost Redis memory. Failed jobs are
    // kept for a while for whoever inspects the queue.
    removeOnComplete: true,
    removeOnFail: { age: 7 * 86_400, count: 5_000 },
  };
}

export function createQueue(connection: Redis, bullPrefix: string): Queue<SendJobData> {
  return new Queue<SendJobData>(QUEUE_NAME, { connection, prefix: bullPrefix });
}

/**
 * The queue of each event, opened on first use and shared by everything in the process that
 * asks for the same event (scheduler, processors, wake-ups). On one Redis every event gets the
 * same queue.
 */
export class EventQueues {
  private readonly byPrefix = new Map<string, Queue<SendJobData>>();
  private readonly listeners: ((bullPrefix: string) => void)[] = [];

  constructor(
    private readonly connection: Redis,
    readonly keys: Keys,
    private readonly index: EventQueueIndex,
  ) {}

  /** The queue `event`'s sends go through. */
  of(event: string): Queue<SendJobData> {
    return this.byBullPrefix(this.keys.bullPrefix(event));
  }

  /** The one queue of a single Redis; undefined on a cluster, where there is one per event. */
  get shared(): Queue<SendJobData> | undefined {
    return this.keys.cluster ? undefined : this.byBullPrefix(this.keys.bullPrefix());
  }

  byBullPrefix(bullPrefix: string): Queue<SendJobData> {
    let q = this.byPrefix.get(bullPrefix);
    if (!q) {
      q = createQueue(this.connection, bullPrefix);
      this.byPrefix.set(bullPrefix, q);
      for (const l of this.listeners) l(bullPrefix);
    }
    return q;
  }

  /** Called with each queue's BullMQ prefix as it is opened in this process. */
  onOpen(listener: (bullPrefix: string) => void): void {
    this.listeners.push(listener);
    for (const p of this.byPrefix.keys()) listener(p);
  }

  /**
   * Before jobs are added: on a cluster, records that the event has a queue, so that worker
   * processes without a scheduler (or without this event's folder) consume it too.
   */
  async listed(event: string): Promise<Queue<SendJobData>> {
    if (this.keys.cluster) await this.index.add(event);
    return this.of(event);
  }

  /** Opens the queue of every event some scheduler has listed (cluster); the shared one otherwise. */
  async discover(): Promise<Queue<SendJobData>[]> {
    if (!this.keys.cluster) return [this.shared as Queue<SendJobData>];
    return (await this.index.list()).map((e) => this.of(e));
  }

  /** Every queue opened so far. */
  all(): Queue<SendJobData>[] {
    return [...this.byPrefix.values()];
  }

  get closing(): boolean {
    return this.all().some((q) => q.closing !== undefined);
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close()));
  }
}

/** Why a send that should have a job has none that will ever run. */
export type { LostJob } from "../store/queue-jobs.js";

/** The job states in which a job will still run without its delay passing first. */
const RUNNABLE = ["waiting", "active", "prioritized", "waiting-children"] as const;

/**
 * Waits until the queue holds no runnable job (and, with `delayed`, no delayed one either):
 * the rehearsal's "everything due at this instant is done", and the tests' drain. Polls the
 * counts because BullMQ's `drained` event fires per worker, not for the queue.
 */
export async function untilNoJobs(
  queue: Queue<SendJobData>,
  o: { delayed: boolean; timeoutMs: number; what: string },
): Promise<void> {
  const states = o.delayed ? [...RUNNABLE, "delayed" as const] : [...RUNNABLE];
  const start = Date.now();
  for (;;) {
    const c = await queue.getJobCounts(...states);
    if (Object.values(c).every((n) => n === 0)) return;
    if (Date.now() - start > o.timeoutMs)
      throw new Error(`${o.what} after ${o.timeoutMs} ms: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

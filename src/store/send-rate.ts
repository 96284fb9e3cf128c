/**
 * SEND_RATE for a cluster deployment, where every event has its own BullMQ queue and BullMQ's
 * limiter only counts one queue: a bucket on one global key (scripts/sendRateTake-1.lua) that
 * every processor of every worker process takes a turn from before it claims a send. On one
 * Redis there is one queue, and BullMQ's own limiter keeps the rate (worker/worker.ts).
 */
import type { Keys } from "./keys.js";
import type { Redis } from "./redis.js";
import { defineScripts } from "./scripts.js";

export class SendRate {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    defineScripts(redis);
  }

  /**
   * Reserves the next send of `perSecond` across every worker. Answers how long to wait before
   * sending (ms, ≥ 0), or, when that would be more than `maxWaitMs`, a negative wait with
   * nothing reserved: the caller should come back later rather than hold its slot.
   */
  async take(perSecond: number, maxWaitMs: number): Promise<number> {
    const interval = 1000 / perSecond;
    return Number(
      await this.redis.sendRateTake(this.keys.sendRate(), String(interval), String(maxWaitMs)),
    );
  }
}

/**
 * The events that have a queue, so that a worker process consumes every event's queue, including
 * those only another process's scheduler queued (a `--no-scheduler` worker has no plan of its own).
 */
export class EventQueueIndex {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /**
   * Records that `event` has a queue: every time jobs are added, not once per process. The set
   * can lose the event while a scheduler runs (the README's `SREM` of a finished event that then
   * gets a new step; a failover that lost the SADD), and a worker started after that would never
   * find the queue. One idempotent SADD per event and tick that queues something is cheap.
   */
  async add(event: string): Promise<void> {
    await this.redis.sadd(this.keys.eventQueues(), event);
  }

  async list(): Promise<string[]> {
    return this.redis.smembers(this.keys.eventQueues());
  }
}

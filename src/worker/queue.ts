/**
 * The one BullMQ queue every send goes through. One queue (job name = message kind) rather than
 * one per kind, because the global send rate (`SEND_RATE`) and a server's "slow down" reply
 * must hold for all mail together: BullMQ's limiter and rate-limit are per queue.
 */
import { type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { MessageKind } from "../model/schema.js";
import type { Send } from "../planner/send.js";
import { BACKOFF_TYPE } from "./backoff.js";
import type { WorkerSettings } from "./settings.js";

export const QUEUE_NAME = "sends";

/**
 * What a job carries: just enough to find the send again. The processor re-plans the send from
 * the current definition before sending, so nothing here is trusted beyond its identity.
 */
export interface SendJobData {
  id: string;
  event: string;
  /** The event directory, for a worker started without this event in its list. */
  dir: string;
  step: string;
  kind: MessageKind;
  recipient: string;
  item?: string;
  version: number;
  /** ISO UTC, as planned when the job was added. */
  due: string;
  expires: string;
  /**
   * Calendar lifecycle sends (updates, cancellations; version > 0): REQUEST or CANCEL. These are
   * not the planner's, so the job carries the rest of the send for the processor to rebuild it.
   */
  method?: "REQUEST" | "CANCEL";
  /** For an update: which of time, place, status, title, agenda changed (its cover says so). */
  changed?: string[];
  name?: string;
  team?: string;
  dueLocal?: string;
  zone?: string;
}

export function jobData(
  send: Send & { method?: "REQUEST" | "CANCEL"; changed?: string[] },
  dir: string,
): SendJobData {
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

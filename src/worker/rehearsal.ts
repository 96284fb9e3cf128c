/**
 * A rehearsal runs a whole campaign in simulated time through the real worker: the scheduler,
 * the ledger, the per-kind re-checks, rendering and the outbox. The clock jumps from one due
 * time to the next, so months of campaign take seconds, and what lands in the outbox is what
 * the worker would send, including skips (a reminder to a team that registered in between).
 *
 * Why a separate key prefix that is wiped first: the rehearsal's ledger records sends as sent;
 * sharing the real prefix would make the real worker skip them. Why the outbox always: a
 * rehearsal must never mail a superintendent, whatever SMTP_URL says.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Queue } from "bullmq";
import { DateTime } from "luxon";
import type { Config } from "../config.js";
import { composeMessage } from "../mail/compose.js";
import { outboxMailer } from "../mail/transport.js";
import { loadEventOrThrow } from "../model/load.js";
import type { EventDefinition } from "../model/types.js";
import { plan } from "../planner/plan.js";
import { withRedis } from "../store/redis.js";
import type { Logger } from "./logger.js";
import type { SendJobData } from "./queue.js";
import { mergeRegistrations } from "./replan.js";
import type { WorkerSettings } from "./settings.js";
import { computeStatus, type EventStatus } from "./status.js";
import { startWorker } from "./worker.js";

export interface RehearsalOptions {
  path: string;
  config: Config;
  settings: WorkerSettings;
  log: Logger;
  /** Stop the simulated clock here; default: after the last planned send. */
  until?: DateTime;
}

export interface RehearsalResult {
  def: EventDefinition;
  prefix: string;
  outboxDir: string;
  status: EventStatus;
  ticks: number;
}

export function rehearsalPrefix(config: Config, eventId: string): string {
  return `${config.prefix}-rehearsal-${eventId}`;
}

async function wipePrefix(redisUrl: string, prefix: string): Promise<void> {
  await withRedis(redisUrl, async (redis) => {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  });
}

/** Waits until no job is waiting, active or delayed: everything due at this instant is done. */
async function drain(queue: Queue<SendJobData>, timeoutMs = 120_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    const c = await queue.getJobCounts(
      "waiting",
      "active",
      "delayed",
      "prioritized",
      "waiting-children",
    );
    if (Object.values(c).every((n) => n === 0)) return;
    if (Date.now() - start > timeoutMs)
      throw new Error(`rehearsal stalled with jobs left: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function rehearse(o: RehearsalOptions): Promise<RehearsalResult> {
  const def = loadEventOrThrow(o.path);
  const ev = def.event.id;
  const prefix = rehearsalPrefix(o.config, ev);
  const outboxDir = join(o.config.outboxDir, `${ev}-rehearsal`);
  const config: Config = { ...o.config, prefix, outboxDir };
  await wipePrefix(config.redisUrl, prefix);
  rmSync(outboxDir, { recursive: true, force: true });

  // Every instant something is due, from the plan as it would look once all is known.
  const all = plan(def, def.registrations, DateTime.utc());
  const until = o.until?.toMillis() ?? Number.POSITIVE_INFINITY;
  const instants = [...new Set(all.map((s) => Date.parse(s.due)))]
    .filter((t) => t <= until)
    .sort((a, b) => a - b);
  let simulated = instants[0] ?? Date.now();
  const clock = () => DateTime.fromMillis(simulated, { zone: "utc" });

  const running = startWorker({
    paths: [o.path],
    config,
    // Horizon 0: only what is due at the simulated instant is queued, with no real delay.
    settings: { ...o.settings, horizonMs: 0 },
    log: o.log,
    scheduler: true,
    processors: true,
    // Ticks are driven below; the cron schedule must not fire on its own.
    cron: "0 0 1 1 *",
    composer: composeMessage,
    mailer: () => outboxMailer(outboxDir),
    clock,
  });
  try {
    await running.ready;
    for (const t of instants) {
      simulated = t;
      await running.scheduler?.tick();
      await drain(running.queue);
    }
    const now = clock();
    const regs = mergeRegistrations(def.registrations, await running.stores.registrations.list(ev));
    const { status } = computeStatus(
      def,
      plan(def, regs, now),
      await running.stores.ledger.all(ev),
      await running.stores.control.get(ev),
      now,
    );
    return { def, prefix, outboxDir, status, ticks: instants.length };
  } finally {
    await running.close();
  }
}

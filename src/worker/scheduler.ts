/**
 * The scheduler tick: definitions → planner → delayed BullMQ jobs, reconciled with the ledger.
 *
 * Why it is safe to run anywhere, any number of times:
 *  - Job id = send id. BullMQ ignores an add whose id exists, so two schedulers (or a re-tick)
 *    never make a second job while the first exists.
 *  - BullMQ forgets ids once a job is removed (completed jobs are removed at once), so the
 *    ledger is the real dedupe: a send whose ledger state is final is never queued again, and
 *    even a job that slipped through is a no-op, because the processor's claim fails.
 *  - Ledger moves are compare-and-set (see ledger.ts): a scheduler can never overwrite a send
 *    a processor has claimed or finished.
 *
 * Lost jobs: a `scheduled` send due within the horizon whose job is gone or in BullMQ's failed set
 * (an exception before the claim on its last attempt, a job stalled too often, a re-time whose
 * add failed) is queued again, every tick — that includes the first one at start-up. So is a
 * send left `sending` for longer than STALE_SENDING_LOCKS locks with no job that will run: the
 * processor's crash path decides what becomes of it. The check is two O(1) Redis commands per
 * send, pipelined (lostJobs in queue.ts), and only for sends inside the horizon.
 *
 * Only sends due within the horizon are queued: far-future sends cost no Redis memory and need
 * no re-timing while the organizer still edits; status counts them as scheduled all the same.
 *
 * Late sends: after downtime, a send still inside its missed window (`expires`) is queued with
 * no delay and goes out now; one past it is recorded `missed` — never dropped silently, never
 * sent weeks late.
 */
import type { Queue } from "bullmq";
import { DateTime } from "luxon";
import type { Logger } from "pino";
import { findEventDirs } from "../model/load.js";
import { formatProblem, isError } from "../model/problems.js";
import type { EventDefinition } from "../model/types.js";
import { plan } from "../planner/plan.js";
import type { Send } from "../planner/send.js";
import type { Stores } from "../store/index.js";
import { isFinal, type LedgerRecord, matchState, type TransitionRequest } from "../store/ledger.js";
import type { DefinitionCache } from "./definitions.js";
import { fatalRedisReason, isConnectionError } from "./error-log.js";
import { jobData, jobOptions, lostJobs, type SendJobData } from "./queue.js";
import { mergeRegistrations, whyNotPlanned } from "./replan.js";

import type { WorkerSettings } from "./settings.js";

/** A send plus the iTIP method, for calendar lifecycle sends (updates, cancellations). */
export type PlannedSend = Send & { method?: "REQUEST" | "CANCEL"; changed?: string[] };

/**
 * The calendar lifecycle (see lifecycle.ts in this folder): given the definition and the planned
 * sends, the calendar updates and cancellations to add, and `commit` to store the new calendar
 * state once they are queued (so a crash in between re-issues them rather than losing them).
 */
export type LifecycleHook = (
  def: EventDefinition,
  sends: readonly Send[],
  now: DateTime,
) => Promise<{ sends: PlannedSend[]; commit(): Promise<void> }>;

export interface SchedulerDeps {
  stores: Stores;
  defs: DefinitionCache;
  queue: Queue<SendJobData>;
  settings: WorkerSettings;
  log: Logger;
  lifecycle?: LifecycleHook;
  now?: () => DateTime;
}

export interface TickSummary {
  event: string;
  planned: number;
  queued: number;
  retimed: number;
  missed: number;
  skipped: number;
  /** Sends whose job was lost (gone, or in the failed set) and that were queued again. */
  requeued: number;
  /** Unplanned skips (removed, then added back before they expired) queued again. */
  replanned: number;
}

/** What one tick does with one planned send, given its ledger record. */
interface Decision {
  move?: TransitionRequest;
  remove?: boolean;
  add?: boolean;
  /** The job it should have is checked for loss (and re-queued). */
  watch?: "scheduled" | "unconfirmed" | "sending";
  retimed?: boolean;
  replanned?: boolean;
}

interface DecisionContext {
  cancelled: boolean;
  nowMs: number;
  staleSending: (rec: LedgerRecord) => boolean;
}

/**
 * The scheduler's rule for one planned send. Every ledger move is a compare-and-set from the
 * state seen here, so a processor that moved the send meanwhile wins and the move is dropped
 * (with its job add, see okIds in tickEvent).
 */
export function decide(
  s: PlannedSend,
  rec: LedgerRecord | undefined,
  c: DecisionContext,
): Decision {
  const st = matchState(rec);
  if (st === "sending") return rec && c.staleSending(rec) ? { watch: "sending" } : {};
  if (isFinal(rec)) return {};
  // unconfirmed: the processor owns it (its re-checks skip or miss it); it must have a job.
  if (st === "unconfirmed") return { watch: "unconfirmed" };
  const from = [st] as const;
  if (c.cancelled)
    return {
      move: {
        id: s.id,
        from,
        patch: { state: "skipped", recipient: s.recipient, reason: "step cancelled" },
      },
      remove: st === "scheduled",
    };
  if (c.nowMs > Date.parse(s.expires)) {
    // Removed and back too late: the removal stands, the send was never due while planned.
    if (st === "unplanned") return {};
    return {
      move: {
        id: s.id,
        from,
        patch: {
          state: "missed",
          recipient: s.recipient,
          reason: `not sent by ${s.expires}, the end of its missed window (due ${s.due})`,
        },
      },
      remove: st === "scheduled",
    };
  }
  const dueMs = Date.parse(s.due);
  if (st === "scheduled" && rec?.due === dueMs) return { watch: "scheduled" };
  const schedule: TransitionRequest = {
    id: s.id,
    from,
    patch: { state: "scheduled", recipient: s.recipient, kind: s.kind, due: dueMs, reason: null },
  };
  // A leftover job (failed, or an old re-time) would block the add of the same id.
  if (st === "unplanned") return { move: schedule, add: true, remove: true, replanned: true };
  if (st === "scheduled") return { move: schedule, add: true, remove: true, retimed: true };
  return { move: schedule, add: true };
}

/**
 * A send `sending` for longer than this many job locks, with no job that will run, was abandoned
 * by a process that died (its lock expired long ago, and the job stalled out or was trimmed).
 */
export const STALE_SENDING_LOCKS = 3;

function isRedisTrouble(e: Error): boolean {
  return isConnectionError(e) || fatalRedisReason(e, "") !== undefined;
}

/** The earliest due time still ahead among sends not decided yet, as ISO in UTC. */
export function nextDue(
  sends: readonly PlannedSend[],
  ledger: ReadonlyMap<string, LedgerRecord>,
  nowMs: number,
  cancelled: (step: string) => boolean,
): string | undefined {
  let best: number | undefined;
  for (const s of sends) {
    const due = Date.parse(s.due);
    if (due <= nowMs || (best !== undefined && due >= best)) continue;
    if (cancelled(s.step) || isFinal(ledger.get(s.id))) continue;
    best = due;
  }
  return best === undefined ? undefined : new Date(best).toISOString();
}

/** "ca-lmi-2017: 787 planned, 787 missed (past their window), next due —": one line a tick. */
export function tickLine(t: TickSummary, next: string | undefined): string {
  const parts = [`${t.planned} planned`];
  const counts: [number, string][] = [
    [t.queued, "queued"],
    [t.retimed, "moved to a new time"],
    [t.requeued, "queued again (job lost)"],
    [t.replanned, "back in the plan"],
    [t.skipped, "skipped"],
    [t.missed, "missed (past their window)"],
  ];
  for (const [n, what] of counts) if (n) parts.push(`${n} ${what}`);
  parts.push(`next due ${next ?? "—"}`);
  return `${t.event}: ${parts.join(", ")}`;
}

export class Scheduler {
  private running: Promise<TickSummary[]> | undefined;

  constructor(
    private readonly deps: SchedulerDeps,
    private readonly paths: string[],
  ) {}

  /** One tick over every event; a tick already running is joined, not doubled. */
  tick(): Promise<TickSummary[]> {
    if (!this.running)
      this.running = this.runTick().finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async runTick(): Promise<TickSummary[]> {
    const out: TickSummary[] = [];
    for (const dir of findEventDirs(this.paths)) {
      try {
        const s = await this.tickEvent(dir);
        if (s) out.push(s);
      } catch (e) {
        // Redis trouble concerns every event: the caller's throttled log reports it once.
        if (isRedisTrouble(e as Error)) throw e;
        // One broken event must not stop the others.
        this.deps.log.error({ dir, err: (e as Error).message }, "scheduler tick failed for event");
      }
    }
    return out;
  }

  async tickEvent(dir: string): Promise<TickSummary | undefined> {
    const { stores, log, settings, queue } = this.deps;
    const { loaded, problems: found, settlingMs } = await this.deps.defs.loadSettled(dir, true);
    const problems = found.filter(isError);
    if (problems.length)
      log.error(
        { dir, problems: problems.slice(0, 20).map(formatProblem), count: problems.length },
        loaded
          ? "definition has problems; keeping the last good version"
          : "definition has problems; nothing scheduled for it",
      );
    if (!loaded) {
      if (settlingMs !== undefined)
        log.info({ dir }, "event files are still being written; scheduling them next tick");
      return undefined;
    }
    const def = loaded.def;
    const ev = def.event.id;
    const clock = this.deps.now ?? (() => DateTime.utc());
    const now = clock();
    const nowMs = now.toMillis();
    const registrations = mergeRegistrations(
      def.registrations,
      await stores.registrations.list(ev),
    );
    const sends: PlannedSend[] = plan(def, registrations, now);
    const lifecycle = this.deps.lifecycle ? await this.deps.lifecycle(def, sends, now) : undefined;
    if (lifecycle) sends.push(...lifecycle.sends);
    const controls = await stores.control.get(ev);
    const horizonEnd = nowMs + settings.horizonMs;

    const candidates = sends.filter(
      (s) => Date.parse(s.due) <= horizonEnd || controls.of(s.step) === "cancelled",
    );
    const ledger = await stores.ledger.getMany(
      ev,
      candidates.map((s) => s.id),
    );
    const moves: TransitionRequest[] = [];
    const adds: PlannedSend[] = [];
    const removals = new Set<string>();
    /** Sends that should have a job (scheduled, unconfirmed, stale sending): checked for loss. */
    const watched: { send: PlannedSend; state: "scheduled" | "unconfirmed" | "sending" }[] = [];
    const summary: TickSummary = {
      event: ev,
      planned: sends.length,
      queued: 0,
      retimed: 0,
      missed: 0,
      skipped: 0,
      requeued: 0,
      replanned: 0,
    };

    for (const s of candidates) {
      const rec = ledger.get(s.id);
      const d = decide(s, rec, {
        cancelled: controls.of(s.step) === "cancelled",
        nowMs,
        staleSending: (r) => Date.now() - r.at > STALE_SENDING_LOCKS * settings.lockMs,
      });
      if (d.move) moves.push(d.move);
      if (d.remove) removals.add(s.id);
      if (d.add) adds.push(s);
      if (d.watch) watched.push({ send: s, state: d.watch });
      if (d.retimed) summary.retimed++;
      if (d.replanned) summary.replanned++;
    }

    const lost = await lostJobs(
      queue,
      watched.map((w) => w.send.id),
    );
    /** Queued without a ledger move: the processor takes `sending` through its crash path. */
    const forced: PlannedSend[] = [];
    for (const { send: s, state } of watched) {
      const why = lost.get(s.id);
      if (!why) continue;
      log.warn({ send: s.id, event: ev, job: why, state }, "send had lost its job; queued again");
      summary.requeued++;
      // A failed job keeps its id; BullMQ ignores an add over it until it is removed.
      if (why === "failed") removals.add(s.id);
      if (state !== "scheduled") {
        // unconfirmed and sending stay as they are: the processor resends them, marked.
        forced.push(s);
        continue;
      }
      moves.push({
        id: s.id,
        from: ["scheduled"],
        patch: { state: "scheduled", recipient: s.recipient, due: Date.parse(s.due) },
      });
      adds.push(s);
    }

    // Sends the ledger holds as scheduled that the plan no longer has: removed from the
    // definition, or a reminder whose team has registered since.
    const plannedIds = new Set(sends.map((s) => s.id));
    const registered = new Set(registrations.map((r) => r.team));
    const pending = await stores.ledger.pending(ev);
    const gone: string[] = [];
    for (const id of pending.keys()) {
      if (plannedIds.has(id)) continue;
      // Calendar updates/cancellations are issued once, not re-planned; their processor checks
      // whether a newer version superseded them.
      const job = await queue.getJob(id);
      if (job && job.data.version > 0 && job.data.method) continue;
      gone.push(id);
    }
    if (gone.length) {
      const recs = await stores.ledger.getMany(ev, gone);
      for (const id of gone) {
        const step = id.slice(ev.length + 1, id.lastIndexOf("."));
        const recipient = recs.get(id)?.recipient ?? "";
        const why = whyNotPlanned(loaded, { step, recipient }, (t) => registered.has(t));
        moves.push({
          id,
          from: ["scheduled"],
          patch: { state: "skipped", reason: why.reason, unplanned: why.unplanned },
        });
        removals.add(id);
      }
    }

    const results = await stores.ledger.transitionMany(ev, moves);
    const okIds = new Set<string>();
    moves.forEach((m, i) => {
      if (!results[i]?.ok) return;
      okIds.add(m.id);
      const state = m.patch.state;
      if (state === "missed") summary.missed++;
      if (state === "skipped") summary.skipped++;
      // Per send only at debug: the tick's summary line counts them (787 lines said nothing more).
      if (state === "missed" || state === "skipped")
        log.debug(
          { send: m.id, event: ev, state, reason: m.patch.reason, recipient: m.patch.recipient },
          `send ${state}`,
        );
    });

    for (const id of removals) {
      // A job that is active right now cannot be removed; its processor re-checks anyway.
      await queue.remove(id).catch(() => 0);
    }
    const toAdd = [...adds.filter((s) => okIds.has(s.id)), ...forced];
    for (let i = 0; i < toAdd.length; i += 500) {
      const chunk = toAdd.slice(i, i + 500);
      await queue.addBulk(
        chunk.map((s) => ({
          name: s.kind,
          data: jobData(s, dir),
          opts: jobOptions(settings, s.id, Date.parse(s.due) - clock().toMillis()),
        })),
      );
    }
    summary.queued = toAdd.length;
    await lifecycle?.commit();
    const next = nextDue(sends, ledger, nowMs, (step) => controls.of(step) === "cancelled");
    log.info({ ...summary, nextDue: next ?? null }, tickLine(summary, next));
    return summary;
  }
}

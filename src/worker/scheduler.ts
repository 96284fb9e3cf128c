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
 * add failed) is queued again by every full tick — that includes the first one at start-up. So
 * is a send left `sending` for longer than STALE_SENDING_LOCKS locks with no job that will run:
 * the processor's crash path decides what becomes of it. The check is two O(1) lookups per
 * send, in one script call per 2,000 sends (lostJobs in store/queue-jobs.ts), and only for
 * sends inside the horizon.
 *
 * Unchanged ticks: a full tick re-plans and reconciles every send inside the horizon, which at
 * 100,000 sends is seconds of CPU and hundreds of thousands of Redis commands, once a minute,
 * while those same sends are being delivered. So when the definition (the same loaded object),
 * the registrations, RSVP answers and controls (a digest) are all as at this process's last full
 * tick, a tick keeps that tick's plan and handles only what time changed: sends newly inside the
 * horizon, sends newly past their missed window, and sends whose job entered BullMQ's failed set
 * since the last tick (scored by finish time, so that is O(new failures)). Those go through the
 * same decide and compare-and-set as any tick. What only a full tick finds — a job hash that
 * vanished, a `sending` send whose job is gone, a send another scheduler changed — waits for the
 * next full one, every `fullTickMs` (CONVENE_FULL_TICK, 5 minutes); a tick that failed is always
 * followed by a full one, and a new process starts with one.
 *
 * Queueing ahead: a new BullMQ job costs Redis about 60 µs, so a tick that queued a 100,000-send
 * step at once held the scheduler (and every sender waiting on that Redis) for 6–10 s, and kept
 * 100,000 jobs in Redis that the senders would reach only minutes later. So a tick queues new
 * sends only while fewer than `queueAhead` (CONVENE_QUEUE_AHEAD) jobs have not run yet, earliest
 * due first, as plan order is (calendar updates and cancellations are never held: see
 * takeRoom). Delayed jobs count: counting only those ready to run let each minute's tick queue
 * `queueAhead` more of a step due in an hour, until all of it sat in Redis. But for a send
 * falling due within QUEUE_LEAD_MS only the jobs due no later than it count, so a later step's
 * jobs never hold back one falling due now (see Room).
 * The sends it holds back have no ledger record yet, exactly like sends beyond the horizon
 * (status counts them as scheduled, a crash loses nothing: the next tick plans them again).
 * Every tick, full or unchanged, takes them up again first. While a held send is
 * due, `topUp` (every second, from the worker) queues as many more as the senders made room for,
 * from the last plan, without re-planning: every processor re-checks its send against the
 * current definition before sending, as it does for any job.
 *
 * Only sends due within the horizon are queued: far-future sends cost no Redis memory and need
 * no re-timing while the organizer still edits; status counts them as scheduled all the same.
 *
 * Late sends: after downtime, a send still inside its missed window (`expires`) is queued with
 * no delay and goes out now; one past it is recorded `missed` — never dropped silently, never
 * sent weeks late.
 */

import { createHash } from "node:crypto";
import { DateTime } from "luxon";
import type { Logger } from "pino";
import { findEventDirs } from "../model/load.js";
import { formatProblem, isError } from "../model/problems.js";
import { isoMillis } from "../model/time.js";
import type { EventDefinition, Registration } from "../model/types.js";
import { plan, registrationsKnownAt } from "../planner/plan.js";
import { parseSendId, type Send } from "../planner/send.js";
import type { Controls } from "../store/control.js";
import type { Stores } from "../store/index.js";
import {
  type FromState,
  isFinal,
  type LedgerRecord,
  matchState,
  type RecordState,
  stateOf,
  type TransitionRequest,
} from "../store/ledger.js";
import type { PlannedSend, RsvpAnswer } from "../types.js";
import type { DefinitionCache, LoadedEvent } from "./definitions.js";
import { fatalRedisReason, isConnectionError } from "./error-log.js";
import { schedulerTickDuration } from "./metrics.js";
import { type EventQueues, jobData, jobOptions, type LostJob } from "./queue.js";
import { mergeRegistrations, rsvpsFor, whyNotPlanned } from "./replan.js";

import type { WorkerSettings } from "./settings.js";
import { completedOccurrences, groupByOccurrence, occurrenceLine } from "./step-report.js";
import { stepsDueSoon, warmTemplates } from "./warm.js";

/** A send plus the iTIP method, for calendar lifecycle sends (updates, cancellations). */
export type { PlannedSend } from "../types.js";

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

/** Runs a whole tick: the CLI holds the heap's growth while one runs (heapGrowthAroundTicks). */
export type AroundTick = <T>(tick: () => Promise<T>) => Promise<T>;

export interface SchedulerDeps {
  stores: Stores;
  defs: DefinitionCache;
  /** Each event's queue (one shared queue on a single Redis). */
  queues: EventQueues;
  settings: WorkerSettings;
  log: Logger;
  lifecycle?: LifecycleHook;
  now?: () => DateTime;
  aroundTick?: AroundTick;
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
  /** Due within the horizon, not queued yet: the queue holds `queueAhead` jobs not yet run. */
  held: number;
}

/** The states whose send should have a job that will run: its loss is checked every tick. */
export type Watched = "scheduled" | "unconfirmed" | "sending";

/**
 * What the tick knows about the sends it decides on: their ledger records, which of the jobs
 * they should have are lost, and the sends the ledger holds as scheduled that the plan no longer
 * has (with the reason, see whyNotPlanned).
 */
export interface LedgerView {
  records: ReadonlyMap<string, LedgerRecord>;
  /** Sends `sending` for so long (wall clock) that their process must have died. */
  stale: ReadonlySet<string>;
  lost: ReadonlyMap<string, LostJob>;
  dropped: readonly { id: string; reason: string; unplanned: boolean }[];
}

/**
 * One ledger move of the tick. `rank` keeps the tick's order (plan order, then lost jobs, then
 * dropped sends) across the lists, so apply issues them as one pass over the plan would.
 */
export interface Move {
  rank: number;
  move: TransitionRequest;
  /** Its job goes too: a leftover (failed, or an old re-time) would block an add of its id. */
  remove: boolean;
}

/** A send that gets a job once its move succeeded. */
export interface Queueing extends Move {
  send: PlannedSend;
}

export interface Requeue {
  rank: number;
  send: PlannedSend;
  state: Watched;
  job: LostJob;
  /** For a scheduled send: the move its add waits on. Unconfirmed and sending keep their state. */
  move?: TransitionRequest;
  remove: boolean;
}

/** One tick's decisions for one event: pure data, carried out by apply. */
export interface TickDecision {
  /** Not queued yet, or an unplanned skip planned again (`replanned`). */
  add: (Queueing & { replanned?: true })[];
  /** Queued at a due time the definition has since moved. */
  retime: Queueing[];
  /** A cancelled step, or a send the plan dropped. */
  skip: Move[];
  /** Past its missed window. */
  miss: Move[];
  /** Its job was lost: queued again. */
  requeue: Requeue[];
}

type One =
  | {
      to: "add" | "retime" | "skip" | "miss";
      move: TransitionRequest;
      remove: boolean;
      replanned?: true;
    }
  | { to: "watch"; state: Watched }
  | undefined;

function moveTo(s: PlannedSend, from: FromState, patch: TransitionRequest["patch"]) {
  return { id: s.id, from: [from], patch: { recipient: s.recipient, ...patch } };
}

/** A send still open in the ledger: cancelled, past its window, or (re)scheduled. */
function decideOpen(s: PlannedSend, st: FromState, cancelled: boolean, nowMs: number): One {
  const remove = st === "scheduled";
  if (cancelled)
    return {
      to: "skip",
      move: moveTo(s, st, { state: "skipped", reason: "step cancelled" }),
      remove,
    };
  if (nowMs > isoMillis(s.expires)) {
    // Removed and back too late: the removal stands, the send was never due while planned.
    if (st === "unplanned") return undefined;
    const reason = `not sent by ${s.expires}, the end of its missed window (due ${s.due})`;
    return { to: "miss", move: moveTo(s, st, { state: "missed", reason }), remove };
  }
  return undefined;
}

function decideSchedule(s: PlannedSend, st: FromState, rec: LedgerRecord | undefined): One {
  const due = isoMillis(s.due);
  if (st === "scheduled" && rec?.due === due) return { to: "watch", state: "scheduled" };
  const move = moveTo(s, st, { state: "scheduled", kind: s.kind, due, reason: null });
  if (st === "unplanned") return { to: "add", move, remove: true, replanned: true };
  if (st === "scheduled") return { to: "retime", move, remove: true };
  return { to: "add", move, remove: false };
}

/**
 * The scheduler's rule for one planned send. Every ledger move is a compare-and-set from the
 * state seen here, so a processor that moved the send meanwhile wins and the move is dropped
 * (with its job add, see apply).
 */
export function decideOne(
  s: PlannedSend,
  rec: LedgerRecord | undefined,
  c: { cancelled: boolean; nowMs: number; stale: boolean },
): One {
  const st = matchState(rec);
  if (st === "sending") return c.stale ? { to: "watch", state: "sending" } : undefined;
  if (isFinal(rec)) return undefined;
  // unconfirmed: the processor owns it (its re-checks skip or miss it); it must have a job.
  if (st === "unconfirmed") return { to: "watch", state: "unconfirmed" };
  if (c.cancelled || c.nowMs > isoMillis(s.expires)) return decideOpen(s, st, c.cancelled, c.nowMs);
  return decideSchedule(s, st, rec);
}

function oneOf(
  s: PlannedSend,
  ledger: Pick<LedgerView, "records" | "stale">,
  controls: Pick<Controls, "of">,
  nowMs: number,
): One {
  return decideOne(s, ledger.records.get(s.id), {
    cancelled: controls.of(s.step) === "cancelled",
    nowMs,
    stale: ledger.stale.has(s.id),
  });
}

/** The sends whose job is checked for loss (see LedgerView.lost). */
export function watchedIds(
  candidates: readonly PlannedSend[],
  ledger: Pick<LedgerView, "records" | "stale">,
  controls: Pick<Controls, "of">,
  nowMs: number,
): string[] {
  return candidates
    .filter((s) => oneOf(s, ledger, controls, nowMs)?.to === "watch")
    .map((s) => s.id);
}

/** A watched send whose job is lost: a scheduled one is moved (to itself) and re-added. */
function requeueOf(rank: number, send: PlannedSend, state: Watched, job: LostJob): Requeue {
  // A failed job keeps its id; BullMQ ignores an add over it until it is removed.
  const remove = job === "failed";
  if (state !== "scheduled") return { rank, send, state, job, remove };
  const move = {
    id: send.id,
    from: ["scheduled"] as const,
    patch: { state: "scheduled" as const, recipient: send.recipient, due: isoMillis(send.due) },
  };
  return { rank, send, state, job, move, remove };
}

function droppedSkip(rank: number, d: LedgerView["dropped"][number]): Move {
  return {
    rank,
    move: {
      id: d.id,
      from: ["scheduled"],
      patch: { state: "skipped", reason: d.reason, unplanned: d.unplanned },
    },
    remove: true,
  };
}

/**
 * One tick for one event, without Redis: what becomes of each candidate (the planned sends
 * inside the horizon, and those of cancelled steps), of each lost job and each dropped send.
 */
export function decide(
  candidates: readonly PlannedSend[],
  ledger: LedgerView,
  controls: Pick<Controls, "of">,
  nowMs: number,
): TickDecision {
  const out: TickDecision = { add: [], retime: [], skip: [], miss: [], requeue: [] };
  const n = candidates.length;
  candidates.forEach((send, rank) => {
    const one = oneOf(send, ledger, controls, nowMs);
    if (!one) return;
    if (one.to === "watch") {
      const job = ledger.lost.get(send.id);
      if (job) out.requeue.push(requeueOf(n + rank, send, one.state, job));
      return;
    }
    const { to, ...move } = one;
    if (to === "add" || to === "retime") out[to].push({ rank, send, ...move });
    else out[to].push({ rank, move: move.move, remove: move.remove });
  });
  ledger.dropped.forEach((d, i) => {
    out.skip.push(droppedSkip(2 * n + i, d));
  });
  return out;
}

/**
 * A send `sending` for longer than this many job locks, with no job that will run, was abandoned
 * by a process that died (its lock expired long ago, and the job stalled out or was trimmed).
 */
export const STALE_SENDING_LOCKS = 3;

/**
 * Jobs added (one addBulk) or removed per batch: big enough that 100,000 sends are 100 round
 * trips, small enough that the job objects of one batch are all that exist at once.
 */
export const JOB_BATCH = 1000;

/** Candidates read, decided and carried out together (see Scheduler.tickBatch). */
export const TICK_BATCH = 5000;

/**
 * Lets timers and I/O run between the tick's CPU-bound passes over 100,000 sends (planning,
 * deciding, sorting): the senders in this process, and BullMQ's lock renewals, must not wait for
 * a whole tick. Awaiting Redis replies alone leaves the passes in between back to back.
 */
function breather(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function isRedisTrouble(e: Error): boolean {
  return isConnectionError(e) || fatalRedisReason(e, "") !== undefined;
}

/** The earliest due time still ahead among sends not decided yet, as ISO in UTC. */
export function nextDue(
  sends: readonly PlannedSend[],
  ledger: ReadonlyMap<string, RecordState>,
  nowMs: number,
  cancelled: (step: string) => boolean,
): string | undefined {
  let best: number | undefined;
  for (const s of sends) {
    const due = isoMillis(s.due);
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
    [t.held, "waiting for room in the queue"],
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

  private toppingUp: Promise<void> | undefined;

  /** One tick over every event; a tick already running is joined, not doubled. */
  tick(): Promise<TickSummary[]> {
    const around = this.deps.aroundTick;
    const run = () => (around ? around(() => this.runTick()) : this.runTick());
    // A top-up under way finishes first: the two must not decide on the same sends at once.
    const after = this.toppingUp?.catch(() => undefined) ?? Promise.resolve();
    if (!this.running)
      this.running = after.then(run).finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** Resolves once no tick and no top-up runs (failed or not): for a clean shutdown. */
  async settled(): Promise<void> {
    await Promise.all([
      this.running?.catch(() => undefined),
      this.toppingUp?.catch(() => undefined),
    ]);
  }

  /** Whether some event holds back sends that are due by now (see "Queueing ahead"). */
  wantsTopUp(): boolean {
    const nowMs = this.clock().toMillis();
    for (const last of this.last.values()) if (last.heldFrom <= nowMs) return true;
    return false;
  }

  /**
   * Queues held-back sends into the room the senders made, for every event with some due. Not
   * while a tick runs: that tick takes them up itself.
   */
  topUp(): Promise<void> {
    if (this.running || this.toppingUp) return Promise.resolve();
    this.toppingUp = this.runTopUp().finally(() => {
      this.toppingUp = undefined;
    });
    return this.toppingUp;
  }

  private async runTopUp(): Promise<void> {
    const nowMs = this.clock().toMillis();
    this.forgetRemoved(findEventDirs(this.paths));
    // A copy: topUpEvent takes each entry out and puts it back.
    for (const [dir, last] of [...this.last]) {
      if (last.heldFrom > nowMs) continue;
      try {
        await this.topUpEvent(dir, last);
      } catch (e) {
        if (isRedisTrouble(e as Error)) throw e;
        this.deps.log.error(
          { dir, err: (e as Error).message },
          "scheduler top-up failed for event",
        );
      }
    }
  }

  /**
   * The earliest held sends that fit, decided and carried out as a tick's candidates are, with
   * the last plan and fresh controls. Forgotten until it succeeds, as a tick is.
   */
  private async topUpEvent(dir: string, last: LastFull): Promise<void> {
    this.last.delete(dir);
    const ev = last.loaded.def.event.id;
    const controls = await this.deps.stores.control.get(ev);
    const taken = await this.fitting(ev, last.held, controls);
    if (!taken.length) {
      // The senders have not made room since: nothing to do, nothing changed.
      this.last.set(dir, last);
      return;
    }
    const chosen = new Set(taken);
    const t: TickInput = {
      ev,
      sends: last.sends,
      candidates: taken,
      controls,
      nowMs: this.clock().toMillis(),
      horizonEnd: last.horizonEnd,
      wallMs: Date.now(),
      records: new Map(),
      report: { sends: [], records: new Map() },
      held: [],
      carried: last.held.filter((s) => !chosen.has(s)),
    };
    const summary = emptySummary(t);
    for (let i = 0; i < taken.length; i += TICK_BATCH)
      await this.tickBatch(dir, t, taken.slice(i, i + TICK_BATCH), summary);
    this.last.set(dir, { ...last, ...heldOf(t) });
    summary.held = t.held.length + t.carried.length;
    this.deps.log.debug({ ...summary }, `${ev}: queued ${summary.queued} held-back sends`);
  }

  /**
   * An event folder removed (or moved away) is no longer ticked, so nothing new of it is queued,
   * as before a restart: its held sends must not be topped up either.
   */
  private forgetRemoved(dirs: readonly string[]): void {
    const found = new Set(dirs);
    for (const dir of [...this.last.keys()]) if (!found.has(dir)) this.last.delete(dir);
  }

  /**
   * What the queue holds that has not run, as `sends` (those that may be queued next, in plan
   * order) are counted against it (see "Queueing ahead" and Room).
   */
  private async roomFor(
    ev: string,
    sends: readonly PlannedSend[],
    controls: Controls,
  ): Promise<Room> {
    const ahead = this.deps.settings.queueAhead || Number.POSITIVE_INFINITY;
    const nowMs = this.clock().toMillis();
    const room: Room = { ahead, ready: 0, delayed: 0, bounds: [], dueBy: [], nearBy: 0, added: 0 };
    room.nearBy = nowMs + QUEUE_LEAD_MS;
    if (!Number.isFinite(ahead)) return room;
    room.bounds = boundsOf(sends, room.nearBy, controls);
    // BullMQ's delayed set is scored by the wall clock, which a test's planning clock may not be,
    // from the job's creation, a few ms after its delay was worked out: hence the slack.
    const toWall = Date.now() - nowMs + DUE_SLACK_MS;
    const p = await this.deps.stores.jobs.pending(
      this.deps.queues.of(ev),
      room.bounds.map((b) => b + toWall),
    );
    return { ...room, ready: p.ready, delayed: p.delayed, dueBy: p.delayedDueBy };
  }

  /** Of the held-back sends, in order, those there is room for now. */
  private async fitting(
    ev: string,
    held: readonly PlannedSend[],
    controls: Controls,
  ): Promise<PlannedSend[]> {
    const head = heldHead(held, this.deps.settings.queueAhead, controls);
    const room = await this.roomFor(ev, head, controls);
    return head.filter((s) => takeRoom(room, s, controls));
  }

  private async runTick(): Promise<TickSummary[]> {
    const started = Date.now();
    const endTimer = schedulerTickDuration.startTimer();
    const out: TickSummary[] = [];
    const dirs = findEventDirs(this.paths);
    this.forgetRemoved(dirs);
    for (const dir of dirs) {
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
    endTimer();
    // In Redis, so /healthz and /metrics of a `convene serve` in another process see it too.
    const at = Date.now();
    await this.deps.stores.ticks.record({
      at,
      durationMs: at - started,
      events: out.map((s) => s.event),
    });
    return out;
  }

  async tickEvent(dir: string): Promise<TickSummary | undefined> {
    // Forgotten until this tick succeeds: a tick that failed half-way is followed by a full one.
    const last = this.last.get(dir);
    this.last.delete(dir);
    const loaded = await this.loadDefinition(dir);
    if (!loaded) return undefined;
    if (!(await this.layoutOk(loaded.def.event.id))) return undefined;
    const now = this.clock();
    const inputs = await this.inputsOf(loaded.def, now);
    const t =
      last && this.unchanged(last, loaded, inputs, now.toMillis())
        ? await this.loadChanged(last, inputs, now)
        : await this.load(loaded, inputs, now);
    const summary = emptySummary(t);
    for (let i = 0; i < t.candidates.length; i += TICK_BATCH)
      await this.tickBatch(dir, t, t.candidates.slice(i, i + TICK_BATCH), summary);
    const dropped = (await t.dropped?.()) ?? [];
    if (dropped.length) {
      const view = { records: new Map(), stale: new Set<string>(), lost: new Map(), dropped };
      await this.apply(dir, t, decide([], view, t.controls, t.nowMs), summary);
    }
    summary.held = t.held.length + t.carried.length;
    await this.finish(t, summary);
    this.last.set(dir, remembered(last, loaded, inputs, t));
    warmTemplates(loaded.def, stepsDueSoon(stillOpen(t), t.nowMs));
    return summary;
  }

  /**
   * Reads, decides and carries out one batch of the tick's candidates: at 100,000 sends only
   * one batch's moves and job objects exist at once, and Redis and the senders get turns in
   * between. Plan order is kept across batches (each batch's lost jobs come after its adds).
   */
  private async tickBatch(
    dir: string,
    t: TickInput,
    batch: readonly PlannedSend[],
    summary: TickSummary,
  ): Promise<void> {
    const view = await this.ledgerOf(t.ev, batch, t.controls, t.nowMs);
    for (const [id, rec] of view.records) t.records.set(id, stateOf(rec));
    await breather();
    const d = decide(batch, { ...view, dropped: [] }, t.controls, t.nowMs);
    await this.apply(dir, t, d, summary);
  }

  /** Per event folder: what its last full tick planned (see "Unchanged ticks" at the top). */
  private readonly last = new Map<string, LastFull>();

  /** Whether this tick may skip the planner: same definition and inputs, full tick recent. */
  private unchanged(last: LastFull, loaded: LoadedEvent, inputs: Inputs, nowMs: number): boolean {
    return (
      last.loaded === loaded &&
      last.digest === inputs.digest &&
      nowMs >= last.nowMs &&
      Date.now() - last.fullAt < this.deps.settings.fullTickMs
    );
  }

  /** Registrations, RSVP answers and controls: with the definition, all the planner reads. */
  private async inputsOf(def: EventDefinition, now: DateTime): Promise<Inputs> {
    const { stores } = this.deps;
    const ev = def.event.id;
    const registrations = mergeRegistrations(
      def.registrations,
      await stores.registrations.list(ev),
    );
    const rsvps = await rsvpsFor(stores, def);
    const controls = await stores.control.get(ev);
    const digest = digestOf(registrationsKnownAt(registrations, now), rsvps, controls);
    return { registrations, rsvps, controls, digest };
  }

  /** Events whose ledger was found where this layout reads it (checked until it is). */
  private readonly layoutChecked = new Set<string>();

  /**
   * On a cluster, false (logged each tick) while the event's ledger sits under its single-Redis
   * name only: planning it would make again every send that ledger records as made.
   */
  private async layoutOk(ev: string): Promise<boolean> {
    if (this.layoutChecked.has(ev)) return true;
    const stranded = await this.deps.stores.layout.strandedLedger(ev);
    if (!stranded) {
      this.layoutChecked.add(ev);
      return true;
    }
    this.deps.log.error(
      { event: ev, found: stranded, expected: this.deps.stores.keys.ledger(ev) },
      `${ev}: its delivery ledger is under the single-Redis name ${stranded}, which convene does not read on a Redis Cluster (it reads ${this.deps.stores.keys.ledger(ev)}). Nothing is scheduled for ${ev}, so that no send it records is made again: copy the event's keys under their cluster names (README, "Redis Cluster"), then the next tick plans it.`,
    );
    return false;
  }

  /** The event's definition, or undefined (logged) while it is broken or being written. */
  private async loadDefinition(dir: string): Promise<LoadedEvent | undefined> {
    const { log } = this.deps;
    const { loaded, problems: found, settlingMs } = await this.deps.defs.loadSettled(dir, true);
    const problems = found.filter(isError);
    if (problems.length)
      log.error(
        { dir, problems: problems.slice(0, 20).map(formatProblem), count: problems.length },
        loaded
          ? "definition has problems; keeping the last good version"
          : "definition has problems; nothing scheduled for it",
      );
    if (!loaded && settlingMs !== undefined)
      log.info({ dir }, "event files are still being written; scheduling them next tick");
    return loaded;
  }

  private clock(): DateTime {
    return (this.deps.now ?? (() => DateTime.utc()))();
  }

  /** Everything decide needs, read from the plan, the ledger and the queue. */
  private async load(loaded: LoadedEvent, inputs: Inputs, now: DateTime): Promise<TickInput> {
    const { settings } = this.deps;
    const def = loaded.def;
    const ev = def.event.id;
    const nowMs = now.toMillis();
    const { registrations, controls } = inputs;
    const sends: PlannedSend[] = plan(def, registrations, now, inputs.rsvps);
    await breather();
    const lifecycle = this.deps.lifecycle ? await this.deps.lifecycle(def, sends, now) : undefined;
    if (lifecycle) sends.push(...lifecycle.sends);
    const horizonEnd = nowMs + settings.horizonMs;
    const candidates = sends.filter(
      (s) => isoMillis(s.due) <= horizonEnd || controls.of(s.step) === "cancelled",
    );
    const registered = new Set(registrations.map((r) => r.team));
    const records = new Map<string, RecordState>();
    return {
      ev,
      sends,
      candidates,
      controls,
      nowMs,
      horizonEnd,
      wallMs: Date.now(),
      records,
      dropped: () => this.dropped(loaded, sends, (t) => registered.has(t)),
      report: { sends: candidates, records },
      held: [],
      carried: [],
      ...(lifecycle ? { commit: lifecycle.commit } : {}),
    };
  }

  /** The records of `candidates`, which of them are stale `sending`, and which lost their job. */
  private async ledgerOf(
    ev: string,
    candidates: readonly PlannedSend[],
    controls: Controls,
    nowMs: number,
  ): Promise<Omit<LedgerView, "dropped">> {
    const { stores, settings } = this.deps;
    const records = await stores.ledger.getMany(
      ev,
      candidates.map((s) => s.id),
    );
    const stale = staleSending(records, Date.now(), STALE_SENDING_LOCKS * settings.lockMs);
    await breather();
    const lost = await this.lostStill(
      ev,
      records,
      await stores.jobs.lost(
        this.deps.queues.of(ev),
        watchedIds(candidates, { records, stale }, controls, nowMs),
      ),
    );
    return { records, stale, lost };
  }

  /**
   * An unchanged tick: the last full tick's plan, and of its sends only those time or a failed
   * job changed since the last tick — due inside the horizon now and not then, past their
   * missed window now and not then, or whose job entered BullMQ's failed set since. No
   * dropped sends (the plan is the same) and no calendar lifecycle (its inputs are the same).
   */
  private async loadChanged(last: LastFull, inputs: Inputs, now: DateTime): Promise<TickInput> {
    const { stores, settings } = this.deps;
    const ev = last.loaded.def.event.id;
    const nowMs = now.toMillis();
    const horizonEnd = nowMs + settings.horizonMs;
    const failed = new Set(
      await stores.jobs.failedSince(this.deps.queues.of(ev), last.wallMs - settings.lockMs),
    );
    // Held-back sends first get what room there is; the others stay held, not even read.
    const fit = last.held.length ? await this.fitting(ev, last.held, inputs.controls) : [];
    const taken = new Set(fit.map((s) => s.id));
    const candidates = last.sends.filter(
      (s, i) => failed.has(s.id) || taken.has(s.id) || timeChanged(last, i, { nowMs, horizonEnd }),
    );
    const chosen = new Set(candidates.map((s) => s.id));
    const inFlight = await this.mayHaveFinished(
      ev,
      last.sends.filter(
        (s, i) => (last.due[i] as number) <= nowMs && !last.complete.has(occurrenceOf(s)),
      ),
      nowMs,
    );
    const inFlightRecords = await stores.ledger.getMany(
      ev,
      inFlight.map((s) => s.id),
    );
    return {
      ev,
      sends: last.sends,
      candidates,
      controls: inputs.controls,
      nowMs,
      horizonEnd,
      wallMs: Date.now(),
      records: new Map(),
      report: { sends: inFlight, records: inFlightRecords },
      held: [],
      carried: last.held.filter((s) => !chosen.has(s.id)),
    };
  }

  /**
   * Of the due sends of occurrences not yet complete, those of the occurrences that may have
   * finished, for the step report. Every unchanged tick read every one of their records, 100,000
   * each minute while a big step was being delivered, for a report that needs them all final.
   * So one record is read per occurrence first: its last send in plan order, which is queued
   * last (sends are queued earliest due first, in plan order). Only an occurrence whose last send
   * is final is read whole; one that is not cannot be complete.
   */
  private async mayHaveFinished(
    ev: string,
    sends: PlannedSend[],
    nowMs: number,
  ): Promise<PlannedSend[]> {
    const all = [...groupByOccurrence(sends, nowMs).values()];
    const probes = all.map((g) => (g[g.length - 1] as PlannedSend).id);
    const probed = await this.deps.stores.ledger.getMany(ev, probes);
    return all.filter((_, i) => isFinal(probed.get(probes[i] as string))).flat();
  }

  /**
   * Of the jobs found lost, those whose send is still open now. The records were read before
   * the queue was asked, so a job that completed in between (its record now final, its job
   * removed) looked lost: on a big tick that was every send of a step being delivered, each
   * logged as "lost its job". The few lost ids are read again; a final one is no longer lost,
   * and its fresh record replaces the stale one.
   */
  private async lostStill(
    ev: string,
    records: Map<string, LedgerRecord>,
    lost: Map<string, LostJob>,
  ): Promise<Map<string, LostJob>> {
    if (!lost.size) return lost;
    const fresh = await this.deps.stores.ledger.getMany(ev, [...lost.keys()]);
    for (const [id, rec] of fresh) {
      records.set(id, rec);
      if (isFinal(rec)) lost.delete(id);
    }
    return lost;
  }

  /**
   * Sends the ledger holds as scheduled that the plan no longer has: removed from the
   * definition, or a reminder whose team has registered since.
   */
  private async dropped(
    loaded: LoadedEvent,
    sends: readonly PlannedSend[],
    registered: (team: string) => boolean,
  ): Promise<LedgerView["dropped"]> {
    const { stores } = this.deps;
    const ev = loaded.def.event.id;
    const queue = this.deps.queues.of(ev);
    const plannedIds = new Set(sends.map((s) => s.id));
    const gone = new Set<string>();
    // A batch at a time: the pending hash holds every scheduled send of the event.
    for await (const batch of stores.ledger.pendingIds(ev)) {
      const unplanned = batch.filter((id) => !plannedIds.has(id) && !gone.has(id));
      if (!unplanned.length) continue;
      // Calendar updates/cancellations are issued once, not re-planned; their processor checks
      // whether a newer version superseded them.
      const calendar = await stores.jobs.calendar(queue, unplanned);
      for (const id of unplanned) if (!calendar.has(id)) gone.add(id);
    }
    if (!gone.size) return [];
    const recs = await stores.ledger.getMany(ev, [...gone]);
    return [...gone].map((id) => {
      const step = parseSendId(id)?.step ?? "";
      const recipient = recs.get(id)?.recipient ?? "";
      return { id, ...whyNotPlanned(loaded, { step, recipient }, registered) };
    });
  }

  /**
   * Carries out decisions: ledger moves, job removals, job adds, counted into `summary`. New
   * sends beyond the room left are held back (not moved, not queued); re-times and lost jobs
   * already have a ledger record that says scheduled, so they are never held.
   */
  private async apply(
    dir: string,
    t: TickInput,
    decided: TickDecision,
    summary: TickSummary,
  ): Promise<void> {
    const { log } = this.deps;
    const ev = t.ev;
    const d = await this.withinRoom(t, decided);
    countDecision(summary, d);
    for (const r of d.requeue)
      log.warn(
        { send: r.send.id, event: ev, job: r.job, state: r.state },
        "send had lost its job; queued again",
      );
    const moves = byRank<Move | Requeue>([
      ...d.add,
      ...d.retime,
      ...d.skip,
      ...d.miss,
      ...d.requeue,
    ]);
    const ok = await this.move(ev, moves, summary);
    await this.removeJobs(ev, moves.filter((m) => m.remove).map(jobIdOf));
    const toAdd = [
      ...byRank([...d.add, ...d.retime, ...d.requeue.filter((r) => r.move)])
        .filter((q) => ok.has(q.send.id))
        .map((q) => q.send),
      // Queued without a ledger move: the processor takes `sending` through its crash path.
      ...d.requeue.filter((r) => !r.move).map((r) => r.send),
    ];
    await this.addJobs(ev, dir, toAdd);
    summary.queued += toAdd.length;
  }

  /** The decision with only the new sends that fit (takeRoom); the others go to `t.held`. */
  private async withinRoom(t: TickInput, d: TickDecision): Promise<TickDecision> {
    if (!d.add.length) return d;
    // Read for each batch (the last batch's jobs are in the queue by now), until one held
    // sends back: the same counts then hold back what comes after in plan order, one read for
    // a 100,000-send step instead of twenty. Kept, they count the batches' adds since (added)
    // and no job that finished meanwhile, and a due time past their bounds counts every
    // delayed job: more held, never fewer, and top-ups take those up.
    const room =
      t.room ??
      (await this.roomFor(
        t.ev,
        d.add.map((a) => a.send),
        t.controls,
      ));
    const fits: TickDecision["add"] = [];
    for (const a of d.add) {
      if (takeRoom(room, a.send, t.controls)) fits.push(a);
      else t.held.push(a.send);
    }
    t.room = fits.length < d.add.length ? room : undefined;
    return fits.length === d.add.length ? d : { ...d, add: fits };
  }

  /** Once every batch is queued: the calendar state, the tick's line, finished occurrences. */
  private async finish(t: TickInput, summary: TickSummary): Promise<void> {
    await t.commit?.();
    await breather();
    const next = nextDue(t.sends, t.records, t.nowMs, (s) => t.controls.of(s) === "cancelled");
    this.deps.log.info({ ...summary, nextDue: next ?? null }, tickLine(summary, next));
    await this.reportCompleted(t);
  }

  /** One line per step occurrence finished since an earlier tick, logged by one scheduler. */
  private async reportCompleted(t: TickInput): Promise<void> {
    const { stores, log } = this.deps;
    await breather();
    for (const r of completedOccurrences(t.report.sends, t.report.records, t.nowMs)) {
      if (!(await stores.reports.claim(t.ev, r.key))) continue;
      log.info(
        {
          event: t.ev,
          step: r.step,
          due: r.due,
          planned: r.planned,
          ...r.counts,
          tookMs: r.tookMs,
        },
        occurrenceLine(r),
      );
    }
  }

  /** The moves that went through (compare-and-set: a processor may have moved first). */
  private async move(
    ev: string,
    moves: readonly { move?: TransitionRequest }[],
    summary: TickSummary,
  ): Promise<Set<string>> {
    const requests = moves.flatMap((m) => (m.move ? [m.move] : []));
    const results = await this.deps.stores.ledger.transitionMany(ev, requests);
    const ok = new Set<string>();
    requests.forEach((m, i) => {
      if (!results[i]?.ok) return;
      ok.add(m.id);
      this.countDecided(ev, m, summary);
    });
    return ok;
  }

  private countDecided(ev: string, m: TransitionRequest, summary: TickSummary): void {
    const state = m.patch.state;
    if (state !== "missed" && state !== "skipped") return;
    summary[state]++;
    // Per send only at debug: the tick's summary line counts them (787 lines said nothing more).
    this.deps.log.debug(
      { send: m.id, event: ev, state, reason: m.patch.reason, recipient: m.patch.recipient },
      `send ${state}`,
    );
  }

  private async removeJobs(ev: string, ids: readonly string[]): Promise<void> {
    const queue = this.deps.queues.of(ev);
    const unique = [...new Set(ids)];
    // Concurrently within a batch (ioredis sends them back to back), not one round trip each:
    // a step re-timed by an edit removes every one of its jobs.
    for (let i = 0; i < unique.length; i += JOB_BATCH) {
      const batch = unique.slice(i, i + JOB_BATCH);
      // A job that is active right now cannot be removed; its processor re-checks anyway.
      await Promise.all(batch.map((id) => queue.remove(id).catch(() => 0)));
    }
  }

  private async addJobs(ev: string, dir: string, sends: readonly PlannedSend[]): Promise<void> {
    const { settings } = this.deps;
    if (!sends.length) return;
    const queue = await this.deps.queues.listed(ev);
    // All chunks of the batch are sent before the first reply is awaited: Redis runs one
    // chunk's scripts while this process builds the next (on one connection, so in order).
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < sends.length; i += JOB_BATCH) {
      const chunk = sends.slice(i, i + JOB_BATCH);
      adds.push(
        queue.addBulk(
          chunk.map((s) => ({
            name: s.kind,
            data: jobData(s, dir),
            opts: jobOptions(settings, s.id, isoMillis(s.due) - this.clock().toMillis()),
          })),
        ),
      );
    }
    await Promise.all(adds);
  }
}

/**
 * How far ahead a send counts as falling due now, for CONVENE_QUEUE_AHEAD (see Room): two
 * minute ticks, so a send held back is queued by one of them before it is due, once there is
 * room; one still held when it falls due is queued by a top-up within a second.
 */
const QUEUE_LEAD_MS = 2 * 60_000;

/** A delayed job due this much after a send still counts as due no later than it (roomFor). */
const DUE_SLACK_MS = 1_000;

/** At most this many due times are counted apart in one read of the queue (see boundsOf). */
const ROOM_BOUNDS = 32;

/**
 * What the queue holds that has not run yet, as read before a batch of sends may be queued,
 * and what the batch added since (see "Queueing ahead"). A send takes a place (takeRoom) while
 * fewer than CONVENE_QUEUE_AHEAD jobs are waiting, or queued since the read, or delayed:
 *  - for a send due later than `nearBy`, or of a paused step: delayed until whenever, so a step
 *    due in an hour is not queued a room's worth more at every minute's tick, and a paused
 *    step's sends are not queued beyond the room while it waits;
 *  - for a send falling due by `nearBy`: delayed until no later than itself, so jobs due after
 *    it never hold it back: a later step's, or a paused step's, which are put back a minute at
 *    a time whenever they come due. Together these never hold more than twice the setting, as
 *    long as jobs are not put back further than `nearBy` (a retry's long backoff).
 * `ahead` is Infinity with CONVENE_QUEUE_AHEAD=0 (no limit; nothing is read).
 */
interface Room {
  ahead: number;
  /** Jobs waiting to run, or running. */
  ready: number;
  /** Delayed jobs, in all. */
  delayed: number;
  /** Due times (planning clock), ascending, and how many delayed jobs are due by each. */
  bounds: number[];
  dueBy: number[];
  /** The planning clock plus QUEUE_LEAD_MS. */
  nearBy: number;
  /** Jobs queued since the read. */
  added: number;
}

/**
 * The due times of the sends that may fall due by `nearBy`, distinct and ascending; past
 * ROOM_BOUNDS, every n-th and the last, so a send between two is counted by the next one
 * (a few more jobs, never fewer).
 */
function boundsOf(sends: readonly PlannedSend[], nearBy: number, controls: Controls): number[] {
  const dues = new Set<number>();
  for (const s of sends) {
    const t = isoMillis(s.due);
    if (t <= nearBy && controls.of(s.step) !== "paused") dues.add(t);
  }
  const sorted = [...dues].sort((a, b) => a - b);
  if (sorted.length <= ROOM_BOUNDS) return sorted;
  const every = Math.ceil(sorted.length / ROOM_BOUNDS);
  const out = sorted.filter((_, i) => (i + 1) % every === 0);
  const last = sorted[sorted.length - 1] as number;
  if (out[out.length - 1] !== last) out.push(last);
  return out;
}

/** Delayed jobs due by `t` or a little later (the first bound at or after it). */
function dueByOf(room: Room, t: number): number {
  const i = room.bounds.findIndex((b) => b >= t);
  return i < 0 ? room.delayed : (room.dueBy[i] as number);
}

/**
 * Takes a place for `s` if there is one (see Room). Calendar updates and cancellations always
 * get one: the lifecycle commits their version as issued at the end of the tick that decides
 * them and never plans them again, so a held one would be lost at the next full tick.
 */
function takeRoom(room: Room, s: PlannedSend, controls: Controls): boolean {
  if (s.method !== undefined) {
    room.added++;
    return true;
  }
  const t = isoMillis(s.due);
  const near = t <= room.nearBy && controls.of(s.step) !== "paused";
  const counted = near ? dueByOf(room, t) : room.delayed;
  const fits = room.ready + counted + room.added < room.ahead;
  if (fits) room.added++;
  return fits;
}

/**
 * The held-back sends a top-up or unchanged tick looks at: in order, until twice
 * CONVENE_QUEUE_AHEAD of them that are not paused (no more can fit: the room counts them, and
 * at most CONVENE_QUEUE_AHEAD more are due later). A paused step's sends are looked at without
 * counting, so that a long paused step cannot hide the steps held behind it.
 */
export function heldHead(
  held: readonly PlannedSend[],
  queueAhead: number,
  controls: Controls,
): readonly PlannedSend[] {
  if (!queueAhead) return held;
  let left = 2 * queueAhead;
  let end = 0;
  while (end < held.length && left > 0) {
    if (controls.of((held[end] as PlannedSend).step) !== "paused") left--;
    end++;
  }
  return held.slice(0, end);
}

/** What one tick read for one event (see Scheduler.load). */
interface TickInput {
  ev: string;
  sends: readonly PlannedSend[];
  candidates: readonly PlannedSend[];
  controls: Controls;
  nowMs: number;
  /** The end of the horizon this tick queued up to. */
  horizonEnd: number;
  /** The wall clock when the tick read the queue (failed jobs are scored by it). */
  wallMs: number;
  /** What the records read for the candidates say, filled batch by batch. */
  records: Map<string, RecordState>;
  /** A full tick's sends the ledger holds as scheduled that the plan no longer has. */
  dropped?: () => Promise<LedgerView["dropped"]>;
  /** The sends whose step occurrences may have finished, and their records (reportCompleted). */
  report: { sends: readonly PlannedSend[]; records: ReadonlyMap<string, RecordState> };
  /** Stores the calendar state once its sends are queued (see LifecycleHook). */
  commit?: () => Promise<void>;
  /** The queue as last read, kept once a batch held sends back for want of room (withinRoom). */
  room?: Room;
  /** New sends this tick decided to queue and held back for want of room, in plan order. */
  held: PlannedSend[];
  /** Sends held back earlier that this tick did not take up (they come after `held`). */
  carried: readonly PlannedSend[];
}

/** What the planner reads besides the definition, and a digest to tell a change by. */
interface Inputs {
  registrations: Registration[];
  rsvps: RsvpAnswer[];
  controls: Controls;
  digest: string;
}

/**
 * The registrations as the planner sees them: those known at the tick's clock (a registration
 * dated later, as a rehearsal's are, changes the plan once the clock passes it).
 */
function digestOf(
  known: ReadonlyMap<string, DateTime>,
  rsvps: RsvpAnswer[],
  controls: Controls,
): string {
  const h = createHash("sha256");
  const regs = [...known].map(([team, at]) => `${team}\t${at.toMillis()}`).sort();
  h.update(JSON.stringify(regs));
  const answers = rsvps.map((a) => `${a.item}\t${a.email}\t${a.partstat}`).sort();
  h.update(JSON.stringify(answers));
  h.update(JSON.stringify(controls.entries().sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  return h.digest("hex");
}

/**
 * What the last full tick of an event planned, kept for the unchanged ticks after it. The due
 * and expiry instants are parsed once, as numbers, in the sends' order.
 */
interface LastFull {
  loaded: LoadedEvent;
  digest: string;
  /** Wall clock of the last full tick: the next one is due `fullTickMs` later. */
  fullAt: number;
  /** The planning clock, horizon end and wall clock of the last tick, full or not. */
  nowMs: number;
  horizonEnd: number;
  wallMs: number;
  sends: readonly PlannedSend[];
  due: Float64Array;
  expires: Float64Array;
  /** Step occurrences seen with every send final: unchanged ticks no longer read them. */
  complete: Set<string>;
  /** Sends held back for want of room (see "Queueing ahead"), in plan order. */
  held: readonly PlannedSend[];
  /** The earliest due time among them, Infinity if none: a top-up is due from then on. */
  heldFrom: number;
}

/**
 * What a tick or top-up leaves held back, for the next one: its own and those it did not take
 * up, merged by due time (each list is in plan order already), so the earliest go first.
 */
function heldOf(t: Pick<TickInput, "held" | "carried">): Pick<LastFull, "held" | "heldFrom"> {
  const a = t.held;
  const b = t.carried;
  if (!a.length) return { held: b, heldFrom: earliestDue(b) };
  const dueA = a.map((s) => isoMillis(s.due));
  const dueB = b.map((s) => isoMillis(s.due));
  const held: PlannedSend[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length)
    if (j >= b.length || (i < a.length && (dueA[i] as number) <= (dueB[j] as number)))
      held.push(a[i++] as PlannedSend);
    else held.push(b[j++] as PlannedSend);
  return { held, heldFrom: earliestDue(held) };
}

/** A scan, not the first one's due: right whatever order the merged lists came in. */
function earliestDue(sends: readonly PlannedSend[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const s of sends) min = Math.min(min, isoMillis(s.due));
  return min;
}

/** Due inside the horizon now and not at the last tick, or past its missed window since. */
function timeChanged(last: LastFull, i: number, now: { nowMs: number; horizonEnd: number }) {
  const due = last.due[i] as number;
  const expires = last.expires[i] as number;
  if (due > last.horizonEnd) return due <= now.horizonEnd;
  return expires >= last.nowMs && expires < now.nowMs;
}

/** A step occurrence: the sends of one step due at one instant (as step-report.ts groups). */
function occurrenceOf(s: PlannedSend): string {
  return `${s.step}@${isoMillis(s.due)}`;
}

/** The occurrences due by now whose every send is final in `records`. */
function completeOccurrences(
  sends: readonly PlannedSend[],
  records: ReadonlyMap<string, RecordState>,
  nowMs: number,
): Set<string> {
  const open = new Set<string>();
  const seen = new Set<string>();
  for (const s of sends) {
    if (isoMillis(s.due) > nowMs) continue;
    const key = occurrenceOf(s);
    seen.add(key);
    if (!isFinal(records.get(s.id))) open.add(key);
  }
  for (const key of open) seen.delete(key);
  return seen;
}

/** The state the next tick starts from: a full tick's plan, or the last one's, moved on. */
function remembered(
  last: LastFull | undefined,
  loaded: LoadedEvent,
  inputs: Inputs,
  t: TickInput,
): LastFull {
  const complete = completeOccurrences(t.report.sends, t.report.records, t.nowMs);
  const clock = { nowMs: t.nowMs, horizonEnd: t.horizonEnd, wallMs: t.wallMs };
  if (last && t.sends === last.sends) {
    for (const key of complete) last.complete.add(key);
    return { ...last, ...clock, ...heldOf(t) };
  }
  return {
    loaded,
    digest: inputs.digest,
    fullAt: t.wallMs,
    ...clock,
    sends: t.sends,
    due: Float64Array.from(t.sends, (s) => isoMillis(s.due)),
    expires: Float64Array.from(t.sends, (s) => isoMillis(s.expires)),
    complete,
    ...heldOf(t),
  };
}

/** The send a decision is about: its job has the send's id. */
/**
 * The planned sends not known to be sent, skipped or missed: only their steps still need a
 * template. An unchanged tick read no records for sends it did not touch; their definition is
 * the one already warmed, so taking them costs nothing.
 */
function stillOpen(t: TickInput): PlannedSend[] {
  return t.sends.filter((s) => !isFinal(t.records.get(s.id)));
}

function jobIdOf(m: Move | Requeue): string {
  return "send" in m ? m.send.id : m.move.id;
}

function byRank<T extends { rank: number }>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => a.rank - b.rank);
}

/** Sends `sending` since longer ago than `afterMs` (by the wall clock, as the ledger's `at`). */
export function staleSending(
  records: ReadonlyMap<string, LedgerRecord>,
  wallMs: number,
  afterMs: number,
): Set<string> {
  const out = new Set<string>();
  for (const [id, r] of records) if (r.state === "sending" && wallMs - r.at > afterMs) out.add(id);
  return out;
}

/** A tick's summary before any batch: missed, skipped and queued are counted as they happen. */
function emptySummary(t: TickInput): TickSummary {
  return {
    event: t.ev,
    planned: t.sends.length,
    queued: 0,
    retimed: 0,
    missed: 0,
    skipped: 0,
    requeued: 0,
    replanned: 0,
    held: 0,
  };
}

/** The counts decide alone knows. */
function countDecision(summary: TickSummary, d: TickDecision): void {
  summary.retimed += d.retime.length;
  summary.requeued += d.requeue.length;
  summary.replanned += d.add.filter((a) => a.replanned).length;
}

/**
 * The shared processor runtime: what happens to one send job, whatever its kind.
 *
 *  1. The ledger decides first. A final state makes the job a no-op (a stale or duplicate job),
 *     except a `sent` send whose after-send step (a calendar delivery record) did not complete:
 *     that step runs again. `sending` means an earlier attempt was cut off (crash, stall, forced
 *     shutdown) between claiming and recording SMTP's answer: it becomes `unconfirmed` (counted
 *     on the record) and is SENT AGAIN. Policy (PRODUCT.md): a crash never loses a send; a
 *     duplicate can only come from an attempt whose acceptance is unknown, and the ledger marks it.
 *  2. Control: a cancelled step skips; a paused one puts the job back to wait (resume wakes it).
 *  3. Re-checks: the kind's own (jobs/<kind>.ts), then the send is re-planned from the current
 *     definition and registrations. Gone → skipped with the reason; moved later → re-delayed;
 *     past its missed window → missed; address suppressed → suppressed.
 *  4. Compose (before claiming, so a template error never leaves a send half-claimed).
 *  5. Wait for an SMTP slot, THEN claim (scheduled/unconfirmed → sending, one atomic Lua step:
 *     only one process wins; the loser leaves the state alone). Claiming after the wait keeps
 *     sends that are only queued for a pooled connection out of `sending`, so a shutdown cannot
 *     strand them there.
 *  6. SMTP. Accepted → sent (reply and Message-ID recorded). Failures, as failureOutcome() in
 *     smtp-errors.ts decides them:
 *     acceptance unknown (a timeout or lost connection after the message went out) →
 *     `unconfirmed` (marked) and retried, `failed` (still marked) on the last attempt; otherwise
 *     by classify(): permanent → failed (+ suppression when the mailbox does not exist);
 *     slow-down → back to scheduled and the whole queue is rate-limited; connection (the server
 *     cannot be reached) → back to scheduled and the whole queue backs off exponentially, no
 *     attempt used; auth → back to scheduled, the queue is paused for every worker and one error
 *     is logged (nothing is retried until a worker restarts); transient → back to scheduled and
 *     BullMQ retries with backoff, until the last attempt, which records failed.
 *
 * Each numbered step is a method of SendAttempt, one per job attempt, sharing its context.
 */
import { Sema } from "async-sema";
import { DelayedError, type Job, UnrecoverableError, Worker } from "bullmq";
import { DateTime } from "luxon";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { redactUrl } from "../config.js";
import type { CheckContext, Kind } from "../kind.js";
import { EventFolderChanged } from "../model/paths.js";
import type { Send } from "../planner/send.js";
import type { Stores } from "../store/index.js";
import {
  CLAIMABLE,
  type FromState,
  isFinal,
  type LedgerRecord,
  type Patch,
  type State,
} from "../store/ledger.js";
import type { SendSnapshot } from "../store/send-checks.js";
import type { Halt } from "../store/smtp-health.js";
import { calendarSeen } from "./calendar-seen.js";
import type { DefinitionCache, LoadedEvent } from "./definitions.js";
import type { Composer, Mailer } from "./deps.js";
import { smtpSendDuration } from "./metrics.js";
import type { EventQueues, SendJobData } from "./queue.js";
import { mergeRegistrations, replanOne, teamOf, usesRsvp, whyNotPlanned } from "./replan.js";
import type { WorkerSettings } from "./settings.js";
import { type FailureOutcome, failureOutcome, type SmtpFailure } from "./smtp-errors.js";

export interface RuntimeDeps {
  stores: Stores;
  defs: DefinitionCache;
  composer: Composer;
  mailer: Mailer;
  config: Config;
  settings: WorkerSettings;
  log: Logger;
  /** Each event's queue (one shared queue on a single Redis). */
  queues: EventQueues;
  kinds: ReadonlyMap<string, Kind>;
  now?: () => DateTime;
}

/** How soon a send held back by an event folder in mid-edit looks again (see EventFolderChanged). */
const FOLDER_RECHECK_MS = 5_000;

/** A send due within this much is sent now: delayed jobs fire a few ms early or late. */
const EARLY_TOLERANCE_MS = 1_000;

/**
 * The longest a send waits in its slot for its SEND_RATE turn on a cluster; a turn further off
 * puts the job back in the delayed set instead (see SendAttempt.pace).
 */
const MAX_PACE_MS = 2_000;

/** nodemailer's default pool size, when SMTP_URL does not set `maxConnections`. */
const NODEMAILER_MAX_CONNECTIONS = 5;

/**
 * How many sends of this process may be claimed and in SMTP at once: the SMTP pool's size, so a
 * claimed send never waits in nodemailer's queue for a connection (where a shutdown would strand
 * it in `sending`). Unlimited for the outbox and for an unpooled transport.
 */
export function smtpSlots(mailer: Pick<Mailer, "kind">, smtpUrl: string | undefined): number {
  if (mailer.kind !== "smtp" || !smtpUrl) return Number.POSITIVE_INFINITY;
  const q = new URL(smtpUrl).searchParams;
  if (q.get("pool") === "false") return Number.POSITIVE_INFINITY;
  const n = Number(q.get("maxConnections"));
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : NODEMAILER_MAX_CONNECTIONS;
}

/**
 * A gate of `size` SMTP slots: waits for one, and gives back its release. async-sema rather than
 * p-limit: the release must come after the ledger records SMTP's answer, not when a wrapped
 * function returns. Unlimited needs no gate (Sema keeps one token object per slot).
 */
function smtpGate(size: number): () => Promise<() => void> {
  if (!Number.isFinite(size)) return async () => () => undefined;
  const sema = new Sema(size);
  return async () => {
    await sema.acquire();
    return () => sema.release();
  };
}

/** The job's own description of its send, when the definition no longer plans it. */
function sendOfJob(d: SendJobData): Send {
  return {
    id: d.id,
    event: d.event,
    step: d.step,
    kind: d.kind,
    recipient: d.recipient,
    name: d.name ?? d.recipient,
    ...(d.team ? { team: d.team } : {}),
    ...(d.item ? { item: d.item } : {}),
    version: d.version,
    due: d.due,
    dueLocal: d.dueLocal ?? d.due,
    zone: d.zone ?? "UTC",
    expires: d.expires,
  };
}

type EventQueue = ReturnType<EventQueues["of"]>;

type CalendarOf = Awaited<ReturnType<NonNullable<Kind["calendar"]>>>;

/**
 * Every call into a kind's hooks (jobs/<kind>.ts), in one place: the kind interface is where
 * kinds differ, so this is the only part of the runtime that knows its shape.
 */
const hooks = {
  async skipReason(kind: Kind, ctx: CheckContext): Promise<string | undefined> {
    for (const check of kind.checks) {
      const reason = await check(ctx);
      if (reason) return reason;
    }
    return undefined;
  },
  /** The send as the current definition has it (a kind may rebuild it from the job). */
  sendOf(kind: Kind, ctx: CheckContext): Send | undefined {
    return (
      kind.fromJob?.(ctx) ??
      replanOne(ctx.loaded, ctx.data, ctx.registrations, ctx.now, ctx.rsvps ?? [])
    );
  },
  async calendar(kind: Kind, ctx: CheckContext, send: Send) {
    return kind.calendar ? await kind.calendar({ ...ctx, send }) : undefined;
  },
  hasAfterSent(kind: Kind): boolean {
    return kind.afterSent !== undefined;
  },
  async afterSent(kind: Kind, ctx: CheckContext, send: Send, calendar?: CalendarOf) {
    await kind.afterSent?.({ ...ctx, send, ...(calendar ? { calendar } : {}) });
  },
};

/** What every attempt of this process shares. */
interface Shared {
  deps: RuntimeDeps;
  clock: () => DateTime;
  slot: () => Promise<() => void>;
  smtpTrouble: ReturnType<typeof smtpTroubleOf>;
}

interface Composed {
  message: Awaited<ReturnType<Composer>>;
  calendar: CalendarOf | undefined;
}

/**
 * Where a send may be decided from: not yet sent, including a resend of an unconfirmed one and
 * an unplanned skip that the current definition plans again.
 */
const OPEN: readonly FromState[] = CLAIMABLE;

/** Ends the attempt: the job waits in BullMQ's delayed set and runs again after `ms`. */
async function delayJob(
  job: Job<SendJobData>,
  token: string | undefined,
  ms: number,
): Promise<never> {
  await job.moveToDelayed(Date.now() + ms, token);
  throw new DelayedError();
}

/**
 * One attempt at one send job, as named steps in order (see the file's header): decide from
 * the ledger, control, re-check, compose, claim, deliver, record. A step that decides the send
 * records it and answers false (or undefined); one that makes the job wait throws BullMQ's
 * DelayedError or RateLimitError, as BullMQ expects.
 */
class SendAttempt {
  private readonly d: SendJobData;
  private readonly now: DateTime;
  private readonly deps: RuntimeDeps;

  constructor(
    private readonly shared: Shared,
    private readonly job: Job<SendJobData>,
    private readonly token: string | undefined,
  ) {
    this.d = job.data;
    this.now = shared.clock();
    this.deps = shared.deps;
  }

  async run(): Promise<void> {
    // The definition first: it names the recipient's team, whose registration is read with the
    // ledger record, the controls and the rest in one round trip (store/send-checks.ts).
    const loaded = await this.definition();
    const kind = this.deps.kinds.get(this.d.kind);
    const snap = await this.snapshot(loaded, kind);
    if (!(await this.decideFromLedger(snap))) return;
    if (!loaded)
      throw new Error(`event ${this.d.event}: definition at ${this.dir} could not be loaded`);
    if (!(await this.control(snap))) return;
    const ctx = this.context(loaded, snap);
    if (!kind) throw new UnrecoverableError(`no processor for message kind "${this.d.kind}"`);
    const send = await this.recheck(kind, ctx, snap);
    if (!send) return;
    const composed = await this.compose(kind, ctx, send);
    if (!(await this.claimAndDeliver(kind, send, composed))) return;
    if (!hooks.hasAfterSent(kind)) return;
    await hooks.afterSent(kind, ctx, send, composed.calendar);
    await this.afterSentDone();
  }

  private get queue() {
    return this.deps.queues.of(this.d.event);
  }

  private get dir(): string {
    return this.deps.defs.dirOf(this.d.event) ?? this.d.dir;
  }

  private async definition(): Promise<LoadedEvent | undefined> {
    return (await this.deps.defs.loadSettled(this.dir)).loaded;
  }

  /**
   * Everything of Redis the steps up to the claim decide with, read at once. Without a
   * definition only the ledger record matters (a decided send is still a no-op).
   */
  private snapshot(loaded: LoadedEvent | undefined, kind: Kind | undefined): Promise<SendSnapshot> {
    const d = this.d;
    const team = loaded ? teamOf(loaded, d) : undefined;
    const item = kind?.invites && d.item ? d.item : undefined;
    return this.deps.stores.sendChecks.read({
      event: d.event,
      id: d.id,
      recipient: d.recipient,
      ...(team ? { team } : {}),
      ...(item ? { item } : {}),
      rsvp: loaded ? usesRsvp(loaded.def) : false,
    });
  }

  /** The one context the re-checks, the composer and every kind hook see. */
  private context(loaded: LoadedEvent, snap: SendSnapshot): CheckContext {
    const d = this.d;
    const registrations = mergeRegistrations(
      loaded.def.registrations,
      snap.registrations,
      teamOf(loaded, d),
    );
    const rsvps = snap.rsvps;
    return { data: d, loaded, registrations, rsvps, now: this.now, stores: this.storesSeen(snap) };
  }

  /** The stores, with the calendar reads the snapshot already made answered from it. */
  private storesSeen(snap: SendSnapshot): Stores {
    const { stores } = this.deps;
    const d = this.d;
    if (!snap.calendar || !d.item) return stores;
    const seen = { event: d.event, item: d.item, recipient: d.recipient };
    const { item: state, delivered } = snap.calendar;
    return { ...stores, calendar: calendarSeen(stores.calendar, { ...seen, state, delivered }) };
  }

  /** Moves the send in the ledger (compare-and-set from `from`) and logs the move it made. */
  private async record(
    state: State,
    reason: string | undefined,
    from: readonly FromState[] = OPEN,
    extra: Partial<Patch> = {},
  ) {
    const d = this.d;
    const r = await this.deps.stores.ledger.transition(d.event, d.id, from, {
      state,
      recipient: d.recipient,
      kind: d.kind,
      ...(reason !== undefined ? { reason } : {}),
      ...extra,
    });
    if (r.ok) this.logRecorded(state, reason, extra.response);
    else this.deps.log.debug({ send: d.id, state: r.from }, "send already decided; job is a no-op");
    return r;
  }

  private logRecorded(state: State, reason: string | undefined, response?: string | null) {
    const d = this.d;
    this.deps.log[state === "sent" || state === "skipped" ? "info" : "warn"](
      {
        send: d.id,
        step: d.step,
        kind: d.kind,
        recipient: d.recipient,
        state,
        ...(reason ? { reason } : {}),
        ...(response ? { response } : {}),
        attempt: this.job.attemptsMade + 1,
      },
      `send ${state}`,
    );
  }

  private delay(ms: number): Promise<never> {
    return delayJob(this.job, this.token, ms);
  }

  /** Step 1: whether the ledger leaves this send to be sent (see the file's header). */
  private async decideFromLedger(snap: SendSnapshot): Promise<boolean> {
    const current: LedgerRecord | undefined = snap.ledger;
    if (current?.state === "sent" && current.afterSentPending !== undefined) {
      await this.redoAfterSent(current.afterSentPending, snap);
      return false;
    }
    if (current && isFinal(current)) {
      this.deps.log.debug(
        { send: this.d.id, state: current.state },
        "stale job: send already decided",
      );
      return false;
    }
    if (current?.state === "sending") await this.cutOff();
    return true;
  }

  /**
   * Cut off between claim and SMTP's answer (crash, stall, forced shutdown). Never lost: it is
   * marked and sent again; if the first attempt did reach the server, this is the one duplicate
   * the policy allows, and the marker says so.
   */
  private async cutOff(): Promise<void> {
    await this.record(
      "unconfirmed",
      "an earlier attempt was cut off after it was claimed (crash, stall or forced shutdown); the server may have received it, so it is sent again and marked",
      ["sending"],
      { unconfirmed: true },
    );
  }

  /** Step 2: a cancelled step skips; a paused one waits. */
  private async control(snap: SendSnapshot): Promise<boolean> {
    const control = snap.controls.of(this.d.step);
    if (control === "cancelled") {
      await this.record("skipped", "step cancelled");
      return false;
    }
    if (control === "paused") await this.delay(this.deps.settings.pauseRecheckMs);
    return true;
  }

  /** Step 3: the kind's checks, then the send as planned now; undefined once it is decided. */
  private async recheck(
    kind: Kind,
    ctx: CheckContext,
    snap: SendSnapshot,
  ): Promise<Send | undefined> {
    const reason = await hooks.skipReason(kind, ctx);
    if (reason) {
      await this.record("skipped", reason);
      return undefined;
    }
    const send = hooks.sendOf(kind, ctx);
    if (!send) return this.unplanned(ctx);
    if (await this.missed(send)) return undefined;
    await this.delayIfMovedLater(send);
    if (await this.suppressed(snap)) return undefined;
    return send;
  }

  private async unplanned(ctx: CheckContext): Promise<undefined> {
    // The cached definition may be up to a second old; a skip is worth a fresh look, since a
    // recipient added back is why a skipped send gets queued again.
    if ((await this.deps.defs.loadSettled(this.dir, true)).changed) await this.delay(1);
    const registeredTeams = new Set(ctx.registrations.map((r) => r.team));
    const why = whyNotPlanned(ctx.loaded, this.d, (t) => registeredTeams.has(t));
    await this.record("skipped", why.reason, OPEN, { unplanned: why.unplanned });
    return undefined;
  }

  private async missed(send: Send): Promise<boolean> {
    if (this.now.toMillis() <= Date.parse(send.expires)) return false;
    await this.record(
      "missed",
      `not sent by ${send.expires}, the end of its missed window (due ${send.due})`,
    );
    return true;
  }

  /** The definition moved this send later since the job was queued: it waits for the new time. */
  private async delayIfMovedLater(send: Send): Promise<void> {
    const d = this.d;
    const dueMs = Date.parse(send.due);
    const aheadMs = dueMs - this.now.toMillis();
    if (aheadMs <= EARLY_TOLERANCE_MS) return;
    await this.deps.stores.ledger.transition(d.event, d.id, OPEN, {
      state: "scheduled",
      recipient: d.recipient,
      due: dueMs,
    });
    await this.job.updateData({ ...d, due: send.due, expires: send.expires });
    this.deps.log.info({ send: d.id, due: send.due }, "send moved later by a definition change");
    // BullMQ timestamps are real time; the clock may be shifted (tests), so delay relatively.
    await this.delay(aheadMs);
  }

  private async suppressed(snap: SendSnapshot): Promise<boolean> {
    const s = snap.suppression;
    if (!s) return false;
    await this.record("suppressed", `address suppressed since ${s.at}: ${s.reason}`);
    return true;
  }

  /** Step 4, before the claim: a template error never leaves a send half-claimed. */
  private async compose(kind: Kind, ctx: CheckContext, send: Send): Promise<Composed> {
    try {
      const calendar = await hooks.calendar(kind, ctx, send);
      const message = await this.deps.composer(ctx.loaded.def, send, {
        config: this.deps.config,
        ...(calendar ? { calendar } : {}),
        now: this.now,
      });
      return { message, calendar };
    } catch (e) {
      return this.composeFailed(e);
    }
  }

  private async composeFailed(e: unknown): Promise<never> {
    if (e instanceof EventFolderChanged) {
      this.deps.log.warn(
        { send: this.d.id, reason: e.message, retryMs: FOLDER_RECHECK_MS },
        "a file of the event changed since it was validated; the send waits for it",
      );
      return this.delay(FOLDER_RECHECK_MS);
    }
    await this.record("failed", `could not build the message: ${(e as Error).message}`);
    throw new UnrecoverableError((e as Error).message);
  }

  /** Steps 5–7 inside one SMTP slot: claim, deliver, record. True once the ledger says sent. */
  private async claimAndDeliver(kind: Kind, send: Send, composed: Composed): Promise<boolean> {
    const release = await this.shared.slot();
    try {
      await this.stillClearToSend();
      if (!(await this.claim())) return false;
      const info = await this.deliver(composed.message, send);
      await this.recordSent(
        info,
        hooks.hasAfterSent(kind) ? (composed.calendar?.sequence ?? 0) : undefined,
      );
      return true;
    } finally {
      release();
    }
  }

  /** What may have happened while this send waited for a slot; each makes it wait unclaimed. */
  private async stillClearToSend(): Promise<void> {
    // A shutdown began: leave it unclaimed for the restart.
    if (this.queue.closing) throw new Error("worker shutting down; send not started");
    // The halt, the queue-wide wait and the SEND_RATE turn: one script on the global slot.
    const clear = await this.deps.stores.smtp.clearance(this.paceAsked());
    // Sending stopped (AUTH failure): back to the paused queue. On a cluster this event's queue
    // may be newer than the halt (its first sends were queued after it), so nobody paused it.
    if (this.shared.smtpTrouble.stillHalted(clear.halt)) {
      if (this.deps.stores.keys.cluster) await this.queue.pause();
      throw Worker.RateLimitError();
    }
    // The server asked to slow down, or cannot be reached: the queue is waiting, so this send
    // waits with it instead of trying anyway. With a queue per event (a cluster) the reply came
    // through another event's queue, so this one is made to wait too, for what is left.
    if (clear.waitingMs > 0) {
      if (this.deps.stores.keys.cluster) await this.queue.rateLimit(clear.waitingMs);
      throw Worker.RateLimitError();
    }
    if (clear.turn !== undefined) await this.pace(clear.turn);
  }

  /**
   * SEND_RATE on a cluster, where BullMQ's limiter sees only this event's queue: a turn from the
   * one global bucket (store/send-rate.ts), taken before the claim so a send waiting for its
   * turn is never `sending`. On one Redis BullMQ's limiter on the one queue keeps the rate.
   */
  private paceAsked(): { perSecond: number; maxWaitMs: number } | undefined {
    const { stores, settings } = this.deps;
    if (!stores.keys.cluster || !(settings.sendRate > 0)) return undefined;
    return { perSecond: settings.sendRate, maxWaitMs: MAX_PACE_MS };
  }

  /** Waits for the SEND_RATE turn, or, when none was reserved (< 0), comes back later. */
  private async pace(wait: number): Promise<void> {
    if (wait < 0) await this.delay(-wait);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (this.queue.closing) throw new Error("worker shutting down; send not started");
  }

  /** Step 5. Only one attempt wins; the loser leaves the state alone. */
  private async claim(): Promise<boolean> {
    const d = this.d;
    const claim = await this.deps.stores.ledger.claim(d.event, d.id, d.recipient);
    if (claim.ok) return true;
    // Lost the race: the winner's `sending` (live or not) is left alone. If the winner died, its
    // job's next attempt finds `sending` and handles it.
    this.deps.log.debug(
      { send: d.id, state: claim.from },
      "claimed by another attempt; job is a no-op",
    );
    return false;
  }

  /** Step 6: SMTP. A failure is recorded and ends the attempt (see onFailure). */
  private async deliver(message: Composed["message"], send: Send) {
    // The outbox is a file write, not SMTP: only real SMTP answers are timed.
    const timer = this.deps.mailer.kind === "smtp" ? smtpSendDuration.startTimer() : undefined;
    try {
      const info = await this.deps.mailer.send(message);
      timer?.({ outcome: "accepted" });
      return info;
    } catch (e) {
      timer?.({ outcome: "failed" });
      return this.onFailure(e, send);
    }
  }

  /** Step 7. `afterSentPending`: the SEQUENCE an after-send step must still record. */
  private async recordSent(
    info: Awaited<ReturnType<Mailer["send"]>>,
    afterSentPending: number | undefined,
  ): Promise<void> {
    // From any open state: the server accepted it, whatever a concurrent attempt recorded.
    const done = await this.record("sent", undefined, ["sending", "unconfirmed", "scheduled"], {
      response: info.response,
      messageId: info.messageId,
      ...(afterSentPending !== undefined ? { afterSentPending } : {}),
    });
    if (!done.ok)
      this.deps.log.error(
        { send: this.d.id, state: done.from },
        "sent, but the ledger had moved on",
      );
    await this.shared.smtpTrouble.reachable();
  }

  private async afterSentDone(): Promise<void> {
    await this.deps.stores.ledger.transition(this.d.event, this.d.id, ["sent"], {
      state: "sent",
      afterSentPending: null,
    });
  }

  /** A retry of a send SMTP accepted whose after-send step did not complete: run it again. */
  private async redoAfterSent(sequence: number, snap: SendSnapshot): Promise<void> {
    const loaded = await this.definition();
    const kind = this.deps.kinds.get(this.d.kind);
    if (!loaded || !kind || !hooks.hasAfterSent(kind)) return this.afterSentDone();
    const ctx = this.context(loaded, snap);
    const send = hooks.sendOf(kind, ctx) ?? sendOfJob(this.d);
    const calendar = await hooks.calendar(kind, ctx, send);
    // The SEQUENCE recorded is the one that was sent, not the item's current one.
    await hooks.afterSent(kind, ctx, send, calendar ? { ...calendar, sequence } : undefined);
    this.deps.log.info({ send: this.d.id }, "after-send step completed on retry");
    await this.afterSentDone();
  }

  /** Carries out failureOutcome (smtp-errors.ts): the ledger, the queue, the job's end. */
  private async onFailure(e: unknown, send: Send): Promise<never> {
    const attempts = this.job.opts.attempts ?? 1;
    const o = failureOutcome(e, { attempts, last: this.job.attemptsMade + 1 >= attempts });
    if (o.state === "unconfirmed") {
      await this.record("unconfirmed", o.reason, ["sending"], {
        unconfirmed: true,
        response: o.reply,
      });
      return rethrow(e);
    }
    if (o.state === "failed") return this.failed(o);
    // Nothing went out: the send waits, unclaimed, for its next attempt.
    await this.deps.stores.ledger.transition(this.d.event, this.d.id, ["sending"], {
      state: "scheduled",
      due: Date.parse(send.due),
      ...("response" in o ? { response: o.response } : {}),
    });
    return this.wait(o, e, attempts);
  }

  private async failed(o: Extract<FailureOutcome, { state: "failed" }>): Promise<never> {
    await this.record("failed", o.reason, ["sending"], {
      ...(o.unconfirmed ? { unconfirmed: true } : {}),
      ...(o.response !== undefined ? { response: o.response } : {}),
    });
    if (o.suppress)
      await this.deps.stores.suppressions.add(
        this.d.recipient,
        `SMTP ${o.suppress.code} for send ${this.d.id}: ${o.reply}`.slice(0, 500),
      );
    throw new UnrecoverableError(o.reply);
  }

  /** How an unclaimed send waits: its own retry, or the whole queue's. */
  private async wait(
    o: Extract<FailureOutcome, { state: "unclaim" }>,
    e: unknown,
    attempts: number,
  ): Promise<never> {
    const { log, settings, stores } = this.deps;
    const queue = this.queue;
    const trouble = this.shared.smtpTrouble;
    if (o.waits === "restart") return rethrow(e);
    if (o.waits === "retry") {
      log.warn(
        { send: this.d.id, attempt: this.job.attemptsMade + 1, of: attempts, response: o.reply },
        "send failed temporarily; will retry",
      );
      return rethrow(e);
    }
    if (o.waits === "slow-down") {
      log.warn(
        { send: this.d.id, code: o.code, response: o.reply, pauseMs: settings.slowDownMs },
        "mail server asks to slow down; pausing the queue",
      );
      await queue.rateLimit(settings.slowDownMs);
      await stores.smtp.slowDown(settings.slowDownMs);
    }
    if (o.waits === "unreachable") await trouble.unreachable(o.failure, this.d.id, queue);
    if (o.waits === "halt") await trouble.halt(o.failure);
    throw Worker.RateLimitError();
  }
}

function rethrow(e: unknown): never {
  throw e instanceof Error ? e : new Error((e as Error)?.message ?? String(e));
}

export function createProcessor(deps: RuntimeDeps) {
  const shared: Shared = {
    deps,
    clock: deps.now ?? (() => DateTime.utc()),
    slot: smtpGate(smtpSlots(deps.mailer, deps.config.smtpUrl)),
    smtpTrouble: smtpTroubleOf(deps),
  };
  return async function processSend(job: Job<SendJobData>, token?: string): Promise<void> {
    await new SendAttempt(shared, job, token).run();
  };
}

/**
 * The queue-wide reactions to SMTP trouble that every send shares. A connection failure backs
 * the whole queue off (growing while it lasts, see store/smtp-health.ts) without using the
 * send's attempts: the send is not at fault, and it still goes missed once its window passes.
 * An AUTH failure pauses the BullMQ queue, which every worker honours, and is logged once.
 */
function smtpTroubleOf(deps: RuntimeDeps) {
  const { stores, log, settings, queues } = deps;
  let failing = false;
  let halted = false;
  const trouble = {
    /**
     * `halt` is what Redis holds now (read with the queue-wide wait, SmtpHealth.clearance). On
     * one Redis it counts only once this process saw the halt (another worker's start may have
     * lifted it): the halt paused the one queue, so no other send gets here. On a cluster a
     * queue opened after the halt was not paused, and this process may never have seen the
     * reply: every send goes by it, rather than try the refused credentials again.
     */
    stillHalted(halt: Halt | undefined): boolean {
      if (halted || stores.keys.cluster) halted = halt !== undefined;
      return halted;
    },
    async unreachable(f: SmtpFailure, send: string, queue: EventQueue): Promise<void> {
      failing = true;
      const waitMs = await stores.smtp.connectionFailed(
        settings.connectBackoffMs,
        settings.connectBackoffMaxMs,
      );
      log.warn(
        { send, response: f.reply, waitMs },
        "cannot reach the mail server; the whole queue waits before trying again",
      );
      await queue.rateLimit(waitMs);
    },
    async reachable(): Promise<void> {
      if (!failing) return;
      failing = false;
      await stores.smtp.connectionOk();
    },
    async halt(f: SmtpFailure): Promise<void> {
      halted = true;
      const server = deps.config.smtpUrl ? redactUrl(deps.config.smtpUrl) : "(no SMTP_URL)";
      const first = await stores.smtp.halt({
        at: new Date().toISOString(),
        reply: f.reply,
        server,
      });
      // Every event's queue: on a cluster each event has its own.
      for (const q of new Set([...queues.all(), ...(await queues.discover())])) await q.pause();
      if (first)
        log.error(
          { smtpUrl: server, response: f.reply },
          `the mail server refused convene's credentials (SMTP_URL ${server}): ${f.reply}. Sending has stopped in every worker; nothing is lost (the sends stay scheduled). Fix SMTP_URL and restart the worker to continue.`,
        );
    },
  };
  return trouble;
}

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
 *  6. SMTP. Accepted → sent (reply and Message-ID recorded). Failures:
 *     acceptance unknown (a timeout or lost connection after the message went out) →
 *     `unconfirmed` (marked) and retried, `failed` (still marked) on the last attempt; otherwise
 *     by classify(): permanent → failed (+ suppression when the mailbox does not exist);
 *     slow-down → back to scheduled and the whole queue is rate-limited; connection (the server
 *     cannot be reached) → back to scheduled and the whole queue backs off exponentially, no
 *     attempt used; auth → back to scheduled, the queue is paused for every worker and one error
 *     is logged (nothing is retried until a worker restarts); transient → back to scheduled and
 *     BullMQ retries with backoff, until the last attempt, which records failed.
 */
import { DelayedError, type Job, type Queue, UnrecoverableError, Worker } from "bullmq";
import { DateTime } from "luxon";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { redactUrl } from "../config.js";
import type { CheckContext, Kind } from "../kind.js";
import { EventFolderChanged } from "../model/paths.js";
import type { Send } from "../planner/send.js";
import type { Stores } from "../store/index.js";
import { CLAIMABLE, type FromState, isFinal, type Patch, type State } from "../store/ledger.js";
import type { DefinitionCache, LoadedEvent } from "./definitions.js";
import type { Composer, Mailer } from "./deps.js";
import type { SendJobData } from "./queue.js";
import { mergeRegistrations, replanOne } from "./replan.js";
import type { WorkerSettings } from "./settings.js";
import { acceptanceUnknown, classify, type Failure, poolClosed } from "./smtp-errors.js";

export interface RuntimeDeps {
  stores: Stores;
  defs: DefinitionCache;
  composer: Composer;
  mailer: Mailer;
  config: Config;
  settings: WorkerSettings;
  log: Logger;
  queue: Queue<SendJobData>;
  kinds: ReadonlyMap<string, Kind>;
  now?: () => DateTime;
}

/** How soon a send held back by an event folder in mid-edit looks again (see EventFolderChanged). */
const FOLDER_RECHECK_MS = 5_000;

/** A send due within this much is sent now: delayed jobs fire a few ms early or late. */
const EARLY_TOLERANCE_MS = 1_000;

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
 * A counting semaphore. Hand-written (a dozen lines) because none of the installed packages has
 * one and p-limit-style wrappers would hide the release point, which here must come after the
 * ledger records SMTP's answer.
 */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  async acquire(): Promise<() => void> {
    if (this.used >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    else this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.used--;
    };
  }
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

export function createProcessor(deps: RuntimeDeps) {
  const { stores, log } = deps;
  const clock = deps.now ?? (() => DateTime.utc());
  const slots = new Slots(smtpSlots(deps.mailer, deps.config.smtpUrl));
  /**
   * Where a send may be decided from: not yet sent, including a resend of an unconfirmed one and
   * an unplanned skip that the current definition plans again.
   */
  const OPEN: readonly FromState[] = CLAIMABLE;
  const smtpTrouble = smtpTroubleOf(deps);

  return async function processSend(job: Job<SendJobData>, token?: string): Promise<void> {
    const d = job.data;
    const now = clock();

    const record = async (
      state: State,
      reason: string | undefined,
      from: readonly FromState[] = OPEN,
      extra: Partial<Patch> = {},
    ) => {
      const r = await stores.ledger.transition(d.event, d.id, from, {
        state,
        recipient: d.recipient,
        kind: d.kind,
        ...(reason !== undefined ? { reason } : {}),
        ...extra,
      });
      if (r.ok)
        log[state === "sent" || state === "skipped" ? "info" : "warn"](
          {
            send: d.id,
            step: d.step,
            kind: d.kind,
            recipient: d.recipient,
            state,
            ...(reason ? { reason } : {}),
            ...(extra.response ? { response: extra.response } : {}),
            attempt: job.attemptsMade + 1,
          },
          `send ${state}`,
        );
      else log.debug({ send: d.id, state: r.from }, "send already decided; job is a no-op");
      return r;
    };

    const current = await stores.ledger.get(d.event, d.id);
    if (current?.state === "sent" && current.afterSentPending !== undefined) {
      await redoAfterSent(current.afterSentPending);
      return;
    }
    if (current && isFinal(current)) {
      log.debug({ send: d.id, state: current.state }, "stale job: send already decided");
      return;
    }
    if (current?.state === "sending") {
      // Cut off between claim and SMTP's answer (crash, stall, forced shutdown). Never lost: it is
      // marked and sent again; if the first attempt did reach the server, this is the one
      // duplicate the policy allows, and the marker says so.
      await record(
        "unconfirmed",
        "an earlier attempt was cut off after it was claimed (crash, stall or forced shutdown); the server may have received it, so it is sent again and marked",
        ["sending"],
        { unconfirmed: true },
      );
    }

    const dir = deps.defs.dirOf(d.event) ?? d.dir;
    const { loaded } = await deps.defs.loadSettled(dir);
    if (!loaded) throw new Error(`event ${d.event}: definition at ${dir} could not be loaded`);

    const control = (await stores.control.get(d.event)).of(d.step);
    if (control === "cancelled") {
      await record("skipped", "step cancelled");
      return;
    }
    if (control === "paused") {
      await job.moveToDelayed(Date.now() + deps.settings.pauseRecheckMs, token);
      throw new DelayedError();
    }

    const team = teamOf(loaded, d);
    const registrations = mergeRegistrations(
      loaded.def.registrations,
      team ? await stores.registrations.forTeam(d.event, team) : [],
      team,
    );
    const kind = deps.kinds.get(d.kind);
    if (!kind) throw new UnrecoverableError(`no processor for message kind "${d.kind}"`);
    const ctx: CheckContext = { data: d, loaded, registrations, now, stores };
    for (const check of kind.checks) {
      const reason = await check(ctx);
      if (reason) {
        await record("skipped", reason);
        return;
      }
    }

    const send = kind.fromJob?.(ctx) ?? replanOne(loaded, d, registrations, now);
    if (!send) {
      // The cached definition may be up to a second old; a skip is worth a fresh look, since a
      // recipient added back is why a skipped send gets queued again.
      if ((await deps.defs.loadSettled(dir, true)).changed) {
        await job.moveToDelayed(Date.now() + 1, token);
        throw new DelayedError();
      }
      const registeredTeams = new Set(registrations.map((r) => r.team));
      const why = whyNotPlanned(loaded, d, (t) => registeredTeams.has(t));
      await record("skipped", why.reason, OPEN, { unplanned: why.unplanned });
      return;
    }
    if (now.toMillis() > Date.parse(send.expires)) {
      await record(
        "missed",
        `not sent by ${send.expires}, the end of its missed window (due ${send.due})`,
      );
      return;
    }
    const dueMs = Date.parse(send.due);
    if (dueMs - now.toMillis() > EARLY_TOLERANCE_MS) {
      // The definition moved this send later since the job was queued.
      await stores.ledger.transition(d.event, d.id, OPEN, {
        state: "scheduled",
        recipient: d.recipient,
        due: dueMs,
      });
      await job.updateData({ ...d, due: send.due, expires: send.expires });
      // BullMQ timestamps are real time; the clock may be shifted (tests), so delay relatively.
      await job.moveToDelayed(Date.now() + (dueMs - now.toMillis()), token);
      log.info({ send: d.id, due: send.due }, "send moved later by a definition change");
      throw new DelayedError();
    }

    const suppressed = await stores.suppressions.get(d.recipient);
    if (suppressed) {
      await record("suppressed", `address suppressed since ${suppressed.at}: ${suppressed.reason}`);
      return;
    }

    let message: Awaited<ReturnType<Composer>>;
    let calendar: Awaited<ReturnType<NonNullable<Kind["calendar"]>>> | undefined;
    try {
      calendar = kind.calendar ? await kind.calendar({ ...ctx, send }) : undefined;
      message = await deps.composer(loaded.def, send, {
        config: deps.config,
        ...(calendar ? { calendar } : {}),
        now,
      });
    } catch (e) {
      if (e instanceof EventFolderChanged) {
        log.warn(
          { send: d.id, reason: e.message, retryMs: FOLDER_RECHECK_MS },
          "a file of the event changed since it was validated; the send waits for it",
        );
        await job.moveToDelayed(Date.now() + FOLDER_RECHECK_MS, token);
        throw new DelayedError();
      }
      await record("failed", `could not build the message: ${(e as Error).message}`);
      throw new UnrecoverableError((e as Error).message);
    }

    const release = await slots.acquire();
    let info: Awaited<ReturnType<Mailer["send"]>>;
    try {
      // A shutdown began while this send waited for a slot: leave it unclaimed for the restart.
      if (deps.queue.closing) throw new Error("worker shutting down; send not started");
      // Sending stopped (AUTH failure) while this send waited: back to the paused queue.
      if (await smtpTrouble.stillHalted()) throw Worker.RateLimitError();
      // The server asked to slow down, or cannot be reached, while this send waited for a
      // connection: the queue is waiting, so this send waits with it instead of trying anyway.
      if ((await stores.smtp.waitingMs()) > 0) throw Worker.RateLimitError();
      const claim = await stores.ledger.claim(d.event, d.id, d.recipient);
      if (!claim.ok) {
        // Lost the race: the winner's `sending` (live or not) is left alone. If the winner died,
        // its job's next attempt finds `sending` and handles it.
        log.debug({ send: d.id, state: claim.from }, "claimed by another attempt; job is a no-op");
        return;
      }
      try {
        info = await deps.mailer.send(message);
      } catch (e) {
        await onFailure(e, send);
        return;
      }
      // From any open state: the server accepted it, whatever a concurrent attempt recorded.
      const done = await record("sent", undefined, ["sending", "unconfirmed", "scheduled"], {
        response: info.response,
        messageId: info.messageId,
        ...(kind.afterSent ? { afterSentPending: calendar?.sequence ?? 0 } : {}),
      });
      if (!done.ok)
        log.error({ send: d.id, state: done.from }, "sent, but the ledger had moved on");
      await smtpTrouble.reachable();
    } finally {
      release();
    }
    if (kind.afterSent) {
      await kind.afterSent({ ...ctx, send, ...(calendar ? { calendar } : {}) });
      await afterSentDone();
    }

    async function afterSentDone(): Promise<void> {
      await stores.ledger.transition(d.event, d.id, ["sent"], {
        state: "sent",
        afterSentPending: null,
      });
    }

    /** A retry of a send SMTP accepted whose after-send step did not complete: run it again. */
    async function redoAfterSent(sequence: number): Promise<void> {
      const dir = deps.defs.dirOf(d.event) ?? d.dir;
      const { loaded } = await deps.defs.loadSettled(dir);
      const kind = deps.kinds.get(d.kind);
      if (!loaded || !kind?.afterSent) return afterSentDone();
      const team = teamOf(loaded, d);
      const registrations = mergeRegistrations(
        loaded.def.registrations,
        team ? await stores.registrations.forTeam(d.event, team) : [],
        team,
      );
      const ctx: CheckContext = { data: d, loaded, registrations, now, stores };
      const send = kind.fromJob?.(ctx) ?? replanOne(loaded, d, registrations, now) ?? sendOfJob(d);
      // The SEQUENCE recorded is the one that was sent, not the item's current one.
      const calendar = kind.calendar
        ? { ...(await kind.calendar({ ...ctx, send })), sequence }
        : undefined;
      await kind.afterSent({ ...ctx, send, ...(calendar ? { calendar } : {}) });
      log.info({ send: d.id }, "after-send step completed on retry");
      await afterSentDone();
    }

    async function onFailure(e: unknown, s: Send): Promise<never> {
      const attempts = job.opts.attempts ?? 1;
      const lastAttempt = job.attemptsMade + 1 >= attempts;
      const reply = (e as Error)?.message ?? String(e);
      const rethrow = (): never => {
        throw e instanceof Error ? e : new Error(reply);
      };
      /** Nothing went out: the send waits, unclaimed, for its next attempt. */
      const unclaim = (response?: string) =>
        stores.ledger.transition(d.event, d.id, ["sending"], {
          state: "scheduled",
          due: Date.parse(s.due),
          ...(response !== undefined ? { response } : {}),
        });
      if (acceptanceUnknown(e)) {
        if (lastAttempt) {
          // Decided: retrying forever would mail it again and again if the server does store it.
          await record(
            "failed",
            `gave up after ${attempts} attempts; the last got no answer after the message was handed over, so it may have been delivered`,
            ["sending"],
            { unconfirmed: true, response: reply },
          );
          throw new UnrecoverableError(reply);
        }
        await record(
          "unconfirmed",
          "no answer from the mail server after the message was handed over; it may have been delivered, so it is sent again and marked",
          ["sending"],
          { unconfirmed: true, response: reply },
        );
        rethrow();
      }
      if (poolClosed(e)) {
        // Never handed to a connection (shutdown): nothing went out; the restart sends it.
        await unclaim();
        rethrow();
      }
      const f = classify(e);
      switch (f.kind) {
        case "permanent": {
          await record("failed", `rejected by the mail server (${f.code})`, ["sending"], {
            response: f.reply,
          });
          if (f.suppress)
            await stores.suppressions.add(
              d.recipient,
              `SMTP ${f.code} for send ${d.id}: ${f.reply}`.slice(0, 500),
            );
          throw new UnrecoverableError(f.reply);
        }
        case "slow-down": {
          // Back to scheduled so the next attempt can claim it; the queue waits for everyone.
          await unclaim(f.reply);
          log.warn(
            { send: d.id, code: f.code, response: f.reply, pauseMs: deps.settings.slowDownMs },
            "mail server asks to slow down; pausing the queue",
          );
          await deps.queue.rateLimit(deps.settings.slowDownMs);
          await stores.smtp.slowDown(deps.settings.slowDownMs);
          throw Worker.RateLimitError();
        }
        case "connection": {
          await unclaim(f.reply);
          await smtpTrouble.unreachable(f, d.id);
          throw Worker.RateLimitError();
        }
        case "auth": {
          await unclaim(f.reply);
          await smtpTrouble.halt(f);
          throw Worker.RateLimitError();
        }
        case "transient": {
          if (lastAttempt) {
            await record("failed", `gave up after ${attempts} attempts`, ["sending"], {
              response: f.reply,
            });
            throw new UnrecoverableError(f.reply);
          }
          await unclaim(f.reply);
          log.warn(
            { send: d.id, attempt: job.attemptsMade + 1, of: attempts, response: f.reply },
            "send failed temporarily; will retry",
          );
          return rethrow();
        }
        default: {
          await record("failed", f.reply, ["sending"]);
          throw new UnrecoverableError(f.reply);
        }
      }
    }
  };
}

/**
 * The queue-wide reactions to SMTP trouble that every send shares. A connection failure backs
 * the whole queue off (growing while it lasts, see store/smtp-health.ts) without using the
 * send's attempts: the send is not at fault, and it still goes missed once its window passes.
 * An AUTH failure pauses the BullMQ queue, which every worker honours, and is logged once.
 */
function smtpTroubleOf(deps: RuntimeDeps) {
  const { stores, log, settings, queue } = deps;
  let failing = false;
  let halted = false;
  const trouble = {
    /** Only asks Redis once this process saw the halt: another worker's start may have lifted it. */
    async stillHalted(): Promise<boolean> {
      if (halted) halted = (await stores.smtp.halted()) !== undefined;
      return halted;
    },
    async unreachable(f: Failure, send: string): Promise<void> {
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
    async halt(f: Failure): Promise<void> {
      halted = true;
      const server = deps.config.smtpUrl ? redactUrl(deps.config.smtpUrl) : "(no SMTP_URL)";
      const first = await stores.smtp.halt({
        at: new Date().toISOString(),
        reply: f.reply,
        server,
      });
      await queue.pause();
      if (first)
        log.error(
          { smtpUrl: server, response: f.reply },
          `the mail server refused convene's credentials (SMTP_URL ${server}): ${f.reply}. Sending has stopped in every worker; nothing is lost (the sends stay scheduled). Fix SMTP_URL and restart the worker to continue.`,
        );
    },
  };
  return trouble;
}

function teamOf(loaded: LoadedEvent, d: SendJobData): string | undefined {
  const step = loaded.def.campaign.steps.find((s) => s.id === d.step);
  return step ? loaded.byEmail.get(step.audience)?.get(d.recipient.toLowerCase())?.team : undefined;
}

/**
 * The reason a once-planned send is no longer in the plan, in an organizer's words, and whether
 * it is `unplanned`: removed (recipient, step) or otherwise no longer planned, which a later
 * edit can undo before the send expires. A team that registered stays decided.
 */
export function whyNotPlanned(
  loaded: LoadedEvent,
  d: { step: string; recipient: string },
  registered: (team: string) => boolean,
): { reason: string; unplanned: boolean } {
  const step = loaded.def.campaign.steps.find((s) => s.id === d.step);
  if (!step) return { reason: `step ${d.step} was removed from the campaign`, unplanned: true };
  const r = loaded.byEmail.get(step.audience)?.get(d.recipient.toLowerCase());
  if (!r)
    return { reason: `${d.recipient} was removed from audience ${step.audience}`, unplanned: true };
  if (step.when?.registered === false && r.team && registered(r.team))
    return { reason: `team ${r.team} registered`, unplanned: false };
  return { reason: "no longer planned (the definition changed)", unplanned: true };
}

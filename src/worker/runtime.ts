/**
 * The shared processor runtime: what happens to one send job, whatever its kind.
 *
 *  1. The ledger decides first. A final state makes the job a no-op (a stale or duplicate job).
 *     `sending` means an earlier attempt died between claiming and recording SMTP's answer: the
 *     message may have gone out, so it becomes `unconfirmed` and is NOT sent again (policy: a
 *     possible duplicate is worse for an official letter than a reported gap; status --failures
 *     lists it for a person to decide).
 *  2. Control: a cancelled step skips; a paused one puts the job back to wait (resume wakes it).
 *  3. Re-checks: the kind's own (jobs/<kind>.ts), then the send is re-planned from the current
 *     definition and registrations. Gone → skipped with the reason; moved later → re-delayed;
 *     past its missed window → missed; address suppressed → suppressed.
 *  4. Compose (before claiming, so a template error never leaves a send half-claimed).
 *  5. Claim scheduled → sending in one atomic Lua step: only one process wins it.
 *  6. SMTP. Accepted → sent (reply and Message-ID recorded). Failures by classify():
 *     permanent → failed (+ suppression); slow-down → back to scheduled and the whole queue is
 *     rate-limited; transient → back to scheduled and BullMQ retries with backoff, until the
 *     last attempt, which records failed.
 */
import { DelayedError, type Job, type Queue, UnrecoverableError, Worker } from "bullmq";
import { DateTime } from "luxon";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Send } from "../planner/send.js";
import type { Stores } from "../store/index.js";
import { FINAL, type Patch, type State, type StateOrNone } from "../store/ledger.js";
import type { DefinitionCache, LoadedEvent } from "./definitions.js";
import type { Composer, Mailer } from "./deps.js";
import type { CheckContext, KindProcessor } from "./kind.js";
import type { SendJobData } from "./queue.js";
import { mergeRegistrations, replanOne } from "./replan.js";
import type { WorkerSettings } from "./settings.js";
import { classify } from "./smtp-errors.js";

export interface RuntimeDeps {
  stores: Stores;
  defs: DefinitionCache;
  composer: Composer;
  mailer: Mailer;
  config: Config;
  settings: WorkerSettings;
  log: Logger;
  queue: Queue<SendJobData>;
  kinds: ReadonlyMap<string, KindProcessor>;
  now?: () => DateTime;
}

/** A send due within this much is sent now: delayed jobs fire a few ms early or late. */
const EARLY_TOLERANCE_MS = 1_000;

export function createProcessor(deps: RuntimeDeps) {
  const { stores, log } = deps;
  const clock = deps.now ?? (() => DateTime.utc());

  return async function processSend(job: Job<SendJobData>, token?: string): Promise<void> {
    const d = job.data;
    const now = clock();

    const record = async (
      state: State,
      reason: string | undefined,
      from: readonly StateOrNone[] = ["none", "scheduled"],
      extra: Partial<Patch> = {},
    ) => {
      const r = await stores.ledger.transition(d.event, d.id, from, {
        state,
        recipient: d.recipient,
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
    if (current && FINAL.has(current.state)) {
      log.debug({ send: d.id, state: current.state }, "stale job: send already decided");
      return;
    }
    if (current?.state === "sending") {
      await record(
        "unconfirmed",
        "an earlier attempt was interrupted during SMTP; the message may have been delivered, so it is not resent",
        ["sending"],
      );
      return;
    }

    const dir = deps.defs.dirOf(d.event) ?? d.dir;
    const { loaded } = deps.defs.load(dir);
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
      const registeredTeams = new Set(registrations.map((r) => r.team));
      await record(
        "skipped",
        whyNotPlanned(loaded, d, (t) => registeredTeams.has(t)),
      );
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
      await stores.ledger.transition(d.event, d.id, ["none", "scheduled"], {
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
    let calendar: Awaited<ReturnType<NonNullable<KindProcessor["calendar"]>>> | undefined;
    try {
      calendar = kind.calendar ? await kind.calendar({ ...ctx, send }) : undefined;
      message = await deps.composer(loaded.def, send, {
        config: deps.config,
        ...(calendar ? { calendar } : {}),
        now,
      });
    } catch (e) {
      await record("failed", `could not build the message: ${(e as Error).message}`);
      throw new UnrecoverableError((e as Error).message);
    }

    const claim = await stores.ledger.claim(d.event, d.id, d.recipient);
    if (!claim.ok) {
      if (claim.from === "sending")
        await record("unconfirmed", "another attempt was already sending it; not sent twice", [
          "sending",
        ]);
      return;
    }

    let info: Awaited<ReturnType<Mailer["send"]>>;
    try {
      info = await deps.mailer.send(message);
    } catch (e) {
      await onFailure(e, send);
      return;
    }
    const done = await record("sent", undefined, ["sending", "unconfirmed"], {
      response: info.response,
      messageId: info.messageId,
    });
    if (!done.ok) log.error({ send: d.id, state: done.from }, "sent, but the ledger had moved on");
    await kind.afterSent?.({ ...ctx, send, ...(calendar ? { calendar } : {}) });

    async function onFailure(e: unknown, s: Send): Promise<never> {
      const f = classify(e);
      const attempts = job.opts.attempts ?? 1;
      const lastAttempt = job.attemptsMade + 1 >= attempts;
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
          await stores.ledger.transition(d.event, d.id, ["sending"], {
            state: "scheduled",
            due: Date.parse(s.due),
            response: f.reply,
          });
          log.warn(
            { send: d.id, code: f.code, response: f.reply, pauseMs: deps.settings.slowDownMs },
            "mail server asks to slow down; pausing the queue",
          );
          await deps.queue.rateLimit(deps.settings.slowDownMs);
          throw Worker.RateLimitError();
        }
        case "transient": {
          if (lastAttempt) {
            await record("failed", `gave up after ${attempts} attempts`, ["sending"], {
              response: f.reply,
            });
            throw new UnrecoverableError(f.reply);
          }
          await stores.ledger.transition(d.event, d.id, ["sending"], {
            state: "scheduled",
            due: Date.parse(s.due),
            response: f.reply,
          });
          log.warn(
            { send: d.id, attempt: job.attemptsMade + 1, of: attempts, response: f.reply },
            "send failed temporarily; will retry",
          );
          throw e instanceof Error ? e : new Error(f.reply);
        }
        default: {
          await record("failed", f.reply, ["sending"]);
          throw new UnrecoverableError(f.reply);
        }
      }
    }
  };
}

function teamOf(loaded: LoadedEvent, d: SendJobData): string | undefined {
  const step = loaded.def.campaign.steps.find((s) => s.id === d.step);
  return step ? loaded.byEmail.get(step.audience)?.get(d.recipient.toLowerCase())?.team : undefined;
}

/** The reason a once-planned send is no longer in the plan, in an organizer's words. */
export function whyNotPlanned(
  loaded: LoadedEvent,
  d: { step: string; recipient: string },
  registered: (team: string) => boolean,
): string {
  const step = loaded.def.campaign.steps.find((s) => s.id === d.step);
  if (!step) return `step ${d.step} was removed from the campaign`;
  const r = loaded.byEmail.get(step.audience)?.get(d.recipient.toLowerCase());
  if (!r) return `${d.recipient} was removed from audience ${step.audience}`;
  if (step.when?.registered === false && r.team && registered(r.team))
    return `team ${r.team} registered`;
  return "no longer planned (the definition changed)";
}

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
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DateTime } from "luxon";
import { type Config, redactUrl } from "../config.js";
import type { KindRegistry } from "../kind.js";
import { composeMessage } from "../mail/compose.js";
import { addressList, localTime, Outbox, type OutboxEntry, outboxName } from "../mail/outbox.js";
import { dueText, type OutboxReport, type ReportRow, writeReport } from "../mail/outbox-report.js";
import type { Mailer } from "../mail/transport.js";
import { loadEventOrThrow } from "../model/load.js";
import type { EventDefinition } from "../model/types.js";
import { plan } from "../planner/plan.js";
import { parseSendId, type Send } from "../planner/send.js";
import type { Controls } from "../store/control.js";
import { type LedgerRecord, STATES } from "../store/ledger.js";
import { checkWritable, deletePrefix } from "../store/prefix.js";
import { withRedis } from "../store/redis.js";
import type { Logger } from "./logger.js";
import { untilNoJobs } from "./queue.js";
import { mergeRegistrations } from "./replan.js";
import type { Scheduler } from "./scheduler.js";
import type { WorkerSettings } from "./settings.js";
import { computeStatus, type EventStatus } from "./status.js";
import { startWorker } from "./worker.js";

/** Where a rehearsal is, for a progress display: reported at the start, after each moment, at the end. */
export interface RehearsalProgress {
  phase: "start" | "moment" | "end";
  /** The simulated time. */
  at: DateTime;
  /** Moments done, of all: each is one instant at which something is due. */
  moment: number;
  moments: number;
  steps: StepProgress[];
}

export interface StepProgress {
  step: string;
  kind: string;
  planned: number;
  /** Messages written to the outbox so far. */
  sent: number;
  /** Epoch ms of the step's last due send: once the clock has passed it, the step is done. */
  lastDue: number;
}

export interface RehearsalOptions {
  path: string;
  kinds: KindRegistry;
  config: Config;
  settings: WorkerSettings;
  log: Logger;
  /** Stop the simulated clock here; default: after the last planned send. */
  until?: DateTime;
  onProgress?: (p: RehearsalProgress) => void;
}

export interface RehearsalResult {
  def: EventDefinition;
  prefix: string;
  outboxDir: string;
  status: EventStatus;
  ticks: number;
  report: OutboxReport;
}

export function rehearsalPrefix(config: Config, eventId: string): string {
  return `${config.prefix}-rehearsal-${eventId}`;
}

async function wipePrefix(redisUrl: string, prefix: string): Promise<void> {
  await withRedis(redisUrl, async (redis) => {
    // A Redis that cannot be written (a read-only replica, a full disk) is named here, once,
    // before the worker starts and every one of its connections reports the same error.
    await checkWritable(redis, prefix).catch((e: Error) => {
      throw new Error(`cannot write to Redis at ${redactUrl(redisUrl)}: ${e.message}`);
    });
    await deletePrefix(redis, prefix);
  });
}

function stepProgress(def: EventDefinition, sends: readonly Send[]): StepProgress[] {
  return def.campaign.steps.map((st) => {
    const mine = sends.filter((s) => s.step === st.id);
    return {
      step: st.id,
      kind: st.kind,
      planned: mine.length,
      sent: 0,
      lastDue: Math.max(0, ...mine.map((s) => Date.parse(s.due))),
    };
  });
}

/**
 * The outbox, with message pages dated in the event's zone, counting what it writes per step
 * for the progress display. Always the outbox: a rehearsal never mails anyone.
 */
function countingOutbox(dir: string, zone: string, counted: (step: string) => void): Mailer {
  const outbox = new Outbox(dir, zone);
  return {
    kind: "outbox",
    async send(msg) {
      const { entry } = await outbox.write(msg);
      counted(entry.step);
      return {
        messageId: entry.messageId,
        response: `250 written to ${dir}/${entry.eml}`,
        accepted: addressList([msg.to, msg.cc, msg.bcc]).map((a) => a.address),
        rejected: [],
      };
    },
    close: () => outbox.close(),
  };
}

/**
 * One scheduler tick that fails loudly: the worker's own tick logs an error and carries on
 * (right for a long-running process), but a rehearsal that could not schedule has nothing to
 * show, so its reason ends the run.
 */
async function tickOrThrow(scheduler: Scheduler, dir: string, at: DateTime, zone: string) {
  try {
    await scheduler.tickEvent(dir);
  } catch (e) {
    throw new Error(
      `the rehearsal stopped at ${localTime(at.toISO() as string, zone)}: scheduling failed: ${(e as Error).message}`,
    );
  }
}

function stateOf(s: Send, rec: LedgerRecord | undefined, controls: Controls, nowMs: number) {
  if (rec) return rec.state;
  if (controls.of(s.step) === "cancelled") return "skipped";
  return nowMs > Date.parse(s.expires) ? "missed" : "scheduled";
}

function reasonOf(state: string, rec: LedgerRecord | undefined, s: Send | undefined, zone: string) {
  if (state === "sent" || state === "scheduled") return undefined;
  if (rec?.reason) return rec.reason;
  if (state === "missed" && s)
    return `not sent by ${localTime(s.expires, zone)}, the end of its missed window`;
  return rec?.response;
}

/** The outbox files of a send, found by the name the outbox gave its Message-ID. */
function filesOf(entry: OutboxEntry | undefined): Partial<ReportRow> {
  if (!entry) return {};
  return {
    subject: entry.subject,
    eml: entry.eml,
    ...(entry.html ? { html: entry.html } : {}),
    ...(entry.text ? { text: entry.text } : {}),
    ...(entry.ics ? { ics: entry.ics } : {}),
  };
}

/**
 * Every planned send in one row, plus those only the ledger knows (a reminder skipped because
 * the team registered, a calendar update): the same sends `convene status` counts.
 */
export function buildReport(
  def: EventDefinition,
  sends: readonly Send[],
  ledger: ReadonlyMap<string, LedgerRecord>,
  controls: Controls,
  now: DateTime,
  entries: readonly OutboxEntry[],
): OutboxReport {
  const zone = def.event.timezone;
  const byName = new Map(entries.map((e) => [e.name, e]));
  const entryOf = (id: string, rec: LedgerRecord | undefined) =>
    byName.get(outboxName(rec?.messageId ?? `<${id}@x>`)) ?? byName.get(outboxName(`<${id}@x>`));
  const rows: ReportRow[] = [];
  const seen = new Set<string>();
  const kindOf = new Map(def.campaign.steps.map((s) => [s.id, s.kind as string]));
  for (const s of sends) {
    seen.add(s.id);
    const rec = ledger.get(s.id);
    const state = stateOf(s, rec, controls, now.toMillis());
    const reason = reasonOf(state, rec, s, zone);
    rows.push({
      id: s.id,
      step: s.step,
      kind: s.kind,
      recipient: s.recipient,
      ...(s.name ? { name: s.name } : {}),
      due: s.due,
      dueLocal: localTime(s.due, zone),
      state,
      ...(reason ? { reason } : {}),
      ...filesOf(entryOf(s.id, rec)),
    });
  }
  for (const [id, rec] of ledger) {
    const parsed = parseSendId(id);
    if (seen.has(id) || parsed?.event !== def.event.id) continue;
    const step = parsed.step;
    const due = new Date(rec.due ?? rec.firstAt).toISOString();
    const reason = reasonOf(rec.state, rec, undefined, zone);
    rows.push({
      id,
      step,
      kind: kindOf.get(step) ?? "",
      recipient: rec.recipient,
      due,
      dueLocal: localTime(due, zone),
      state: rec.state,
      ...(reason ? { reason } : {}),
      ...filesOf(entryOf(id, rec)),
    });
  }
  return { event: def.event.id, title: def.event.title, zone, groups: groupsOf(def, rows, zone) };
}

function groupsOf(def: EventDefinition, rows: ReportRow[], zone: string): OutboxReport["groups"] {
  const order = def.campaign.steps.map((s) => s.id);
  for (const r of rows) if (!order.includes(r.step)) order.push(r.step);
  return order.flatMap((step) => {
    const mine = rows
      .filter((r) => r.step === step)
      .sort(
        (a, b) =>
          (a.due ?? "").localeCompare(b.due ?? "") || a.recipient.localeCompare(b.recipient),
      );
    if (!mine.length) return [];
    const counts = Object.fromEntries(
      STATES.map((st) => [st, mine.filter((r) => r.state === st).length]),
    );
    return [
      {
        step,
        kind: mine[0]?.kind ?? "",
        dueText: dueText(
          mine.flatMap((r) => (r.due ? [r.due] : [])),
          zone,
        ),
        counts,
        rows: mine,
      },
    ];
  });
}

/** The moment every registration in the files is known: the latest of them, or now. */
function allKnownAt(def: EventDefinition): DateTime {
  const times = def.registrations.map((r) => Date.parse(r.registeredAt)).filter(Number.isFinite);
  return DateTime.fromMillis(Math.max(Date.now(), ...times), { zone: "utc" });
}

export async function rehearse(o: RehearsalOptions): Promise<RehearsalResult> {
  const def = loadEventOrThrow(o.path, o.kinds);
  const ev = def.event.id;
  const zone = def.event.timezone;
  const prefix = rehearsalPrefix(o.config, ev);
  const outboxDir = join(o.config.outboxDir, `${ev}-rehearsal`);
  const config: Config = { ...o.config, prefix, outboxDir };
  await wipePrefix(config.redisUrl, prefix);
  rmSync(outboxDir, { recursive: true, force: true });

  // Every instant something is due, from the plan as it would look once all is known: as of
  // the last registration in the files, not of today, or a campaign dated after today would
  // miss the invites of teams that register "later".
  const until = o.until?.toMillis() ?? Number.POSITIVE_INFINITY;
  const all = plan(def, def.registrations, allKnownAt(def)).filter(
    (s) => Date.parse(s.due) <= until,
  );
  const instants = [...new Set(all.map((s) => Date.parse(s.due)))].sort((a, b) => a - b);
  let simulated = instants[0] ?? Date.now();
  const clock = () => DateTime.fromMillis(simulated, { zone: "utc" });
  const steps = stepProgress(def, all);
  const progress = (phase: RehearsalProgress["phase"], moment: number) =>
    o.onProgress?.({ phase, at: clock(), moment, moments: instants.length, steps });
  const countSent = (step: string) => {
    const st = steps.find((x) => x.step === step);
    if (st) st.sent++;
  };

  const running = startWorker({
    paths: [o.path],
    kinds: o.kinds,
    config,
    // Horizon 0: only what is due at the simulated instant is queued, with no real delay; and
    // all of it at once (queueAhead 0), since the rehearsal waits for the queue to empty.
    settings: { ...o.settings, horizonMs: 0, queueAhead: 0 },
    log: o.log,
    scheduler: true,
    processors: true,
    // Ticks are driven below; the cron schedule must not fire on its own.
    cron: "0 0 1 1 *",
    composer: composeMessage,
    mailer: () => countingOutbox(outboxDir, zone, countSent),
    clock,
  });
  let result: Omit<RehearsalResult, "report"> & {
    sends: Send[];
    ledger: Map<string, LedgerRecord>;
    controls: Controls;
  };
  try {
    await running.ready;
    const scheduler = running.scheduler as Scheduler;
    progress("start", 0);
    for (const [i, t] of instants.entries()) {
      simulated = t;
      await tickOrThrow(scheduler, def.dir, clock(), zone);
      // Everything due at this instant is done: no job waiting, active or delayed.
      await untilNoJobs(running.queues.of(ev), {
        delayed: true,
        timeoutMs: 120_000,
        what: "rehearsal stalled with jobs left",
      });
      progress("moment", i + 1);
    }
    const now = clock();
    const regs = mergeRegistrations(def.registrations, await running.stores.registrations.list(ev));
    const sends = plan(def, regs, now);
    const ledger = await running.stores.ledger.all(ev);
    const controls = await running.stores.control.get(ev);
    const { status } = computeStatus(def, sends, ledger, controls, now);
    result = { def, prefix, outboxDir, status, ticks: instants.length, sends, ledger, controls };
  } finally {
    await running.close();
  }
  // After close: the outbox has finished its own index rebuilds, so the report is the last word.
  mkdirSync(outboxDir, { recursive: true });
  const entries = new Outbox(outboxDir, zone).rebuild();
  const report = buildReport(def, result.sends, result.ledger, result.controls, clock(), entries);
  writeReport(outboxDir, report);
  progress("end", instants.length);
  const { sends: _s, ledger: _l, controls: _c, ...rest } = result;
  return { ...rest, report };
}

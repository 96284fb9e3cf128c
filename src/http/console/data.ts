/**
 * What the console pages and the JSON API show, computed the way `convene status --json` does
 * (the planner's sends, the ledger, the controls, through src/worker/status.ts's computeStatus),
 * so the browser, the API and the terminal always agree. Reads go through the stores; this
 * module opens no connection of its own.
 */
import { DateTime } from "luxon";
import type Mail from "nodemailer/lib/mailer/index.js";
import { previewSend } from "../../cli/preview.js";
import type { Config } from "../../config.js";
import type { KindRegistry } from "../../kind.js";
import { composeWith, recipientOf } from "../../mail/compose.js";
import { itemsOf } from "../../model/items.js";
import { formatProblem, isError } from "../../model/problems.js";
import type { EventDefinition } from "../../model/types.js";
import { plan } from "../../planner/plan.js";
import { parseSendId, type Send } from "../../planner/send.js";
import type { ControlState, Controls } from "../../store/control.js";
import { WHOLE_EVENT } from "../../store/control.js";
import type { Stores } from "../../store/index.js";
import type { LedgerRecord, State } from "../../store/ledger.js";
import type { Suppression } from "../../store/suppressions.js";
import { DefinitionCache } from "../../worker/definitions.js";
import { mergeRegistrations } from "../../worker/replan.js";
import {
  computeStatus,
  type EventStatus,
  type FailureRow,
  plannedState,
  type StepStatus,
} from "../../worker/status.js";

/** One event as the status function sees it at one instant. */
export interface Snapshot {
  def: EventDefinition;
  now: DateTime;
  sends: Send[];
  ledger: Map<string, LedgerRecord>;
  controls: Controls;
  status: EventStatus;
  failures: FailureRow[];
}

/** A send as the step and recipient pages list it. Times are epoch ms; the pages localise them. */
export interface SendRow {
  id: string;
  event: string;
  step: string;
  recipient: string;
  name?: string;
  state: State;
  /** When it is (or was) due. */
  due?: number;
  /** The last change in the ledger. */
  at?: number;
  /** End of its missed window (planned sends only). */
  expires?: number;
  reason?: string;
  response?: string;
  attempts: number;
}

export interface TimelineStep extends StepStatus {
  audience?: string;
  audienceSize: number;
  /** The earliest and latest due time of its sends (epoch ms); absent when it has none. */
  firstDue?: number;
  lastDue?: number;
  /** The control that applies to it (the event's or its own). */
  control: ControlState | null;
  /** Still in the campaign (a deleted step is known only from its ledger records). */
  defined: boolean;
}

export interface CalendarItemRow {
  id: string;
  title: string;
  sequence: number;
  cancelled: boolean;
  /** How many recipients were last delivered each SEQUENCE, highest first. */
  holders: { sequence: number; count: number }[];
}

export interface RenderedMessage {
  sendId: string;
  subject: string;
  from: string;
  to: string;
  html: string;
  text: string;
  /** Whether it is the planner's own send (else a stand-in for someone not planned now). */
  planned: boolean;
}

export interface DirProblems {
  dir: string;
  /** Set when an earlier version loaded: that one is what the pages show. */
  event?: string;
  problems: string[];
}

export type ControlAction = "pause" | "resume" | "cancel";

export interface ConsoleData {
  /** The clock the pages say "in 3 days" against. */
  now(): DateTime;
  events(): Promise<EventDefinition[]>;
  /** Event folders whose files do not load now (an edit with a mistake), with what is wrong. */
  problems(): Promise<DirProblems[]>;
  event(id: string): Promise<EventDefinition | undefined>;
  snapshot(def: EventDefinition): Promise<Snapshot>;
  timeline(s: Snapshot): TimelineStep[];
  sends(s: Snapshot, step?: string): SendRow[];
  recipient(email: string): Promise<{ suppression?: Suppression; sends: SendRow[] }>;
  calendar(def: EventDefinition): Promise<CalendarItemRow[]>;
  message(def: EventDefinition, step: string, recipient: string): Promise<RenderedMessage>;
  /** Returns false for a resume of something cancelled; `released`: waiting sends woken. */
  control(
    def: EventDefinition,
    action: ControlAction,
    step?: string,
  ): Promise<{ ok: boolean; released?: number }>;
  suppress(email: string): Promise<void>;
  unsuppress(email: string): Promise<boolean>;
}

export interface ConsoleDataDeps {
  dirs: readonly string[];
  kinds: KindRegistry;
  stores: Stores;
  /** For composing previews (unsubscribe URL, organizer); nothing is ever sent. */
  config: Config;
  /** After a resume: release the waiting jobs now, as `convene resume` does. */
  wake: (event: string, step: string | undefined) => Promise<number>;
  now?: () => DateTime;
}

/** The reason an organizer's console gives for a suppression it made. */
export const CONSOLE_SUPPRESS_REASON = "suppressed by an organizer in the console";

function ms(iso: string | undefined): number | undefined {
  return iso ? Date.parse(iso) : undefined;
}

function plannedRow(s: Send, rec: LedgerRecord | undefined, state: State): SendRow {
  const due = rec?.due ?? ms(s.due);
  return {
    id: s.id,
    event: s.event,
    step: s.step,
    recipient: s.recipient,
    name: s.name,
    state,
    ...(due !== undefined ? { due } : {}),
    ...(rec ? { at: rec.at } : {}),
    expires: Date.parse(s.expires),
    ...(rec?.reason ? { reason: rec.reason } : {}),
    ...(rec?.response ? { response: rec.response } : {}),
    attempts: rec?.attempts ?? 0,
  };
}

function rememberedRow(event: string, id: string, step: string, rec: LedgerRecord): SendRow {
  return {
    id,
    event,
    step,
    recipient: rec.recipient,
    state: rec.state,
    ...(rec.due !== undefined ? { due: rec.due } : {}),
    at: rec.at,
    ...(rec.reason ? { reason: rec.reason } : {}),
    ...(rec.response ? { response: rec.response } : {}),
    attempts: rec.attempts,
  };
}

/** Every send of the event (or of one step): the plan's, then the ledger's the plan no longer has. */
export function sendRows(s: Snapshot, step?: string): SendRow[] {
  const nowMs = s.now.toMillis();
  const seen = new Set<string>();
  const rows: SendRow[] = [];
  for (const send of s.sends) {
    seen.add(send.id);
    if (step && send.step !== step) continue;
    const rec = s.ledger.get(send.id);
    rows.push(plannedRow(send, rec, plannedState(send, rec, s.controls, nowMs)));
  }
  const ev = s.def.event.id;
  for (const [id, rec] of s.ledger) {
    const parsed = parseSendId(id);
    if (seen.has(id) || parsed?.event !== ev || (step && parsed.step !== step)) continue;
    rows.push(rememberedRow(ev, id, parsed.step, rec));
  }
  return rows.sort((a, b) => (a.due ?? 0) - (b.due ?? 0) || a.recipient.localeCompare(b.recipient));
}

function dueRange(rows: readonly SendRow[]): { firstDue?: number; lastDue?: number } {
  const dues = rows.map((r) => r.due).filter((d): d is number => d !== undefined);
  if (!dues.length) return {};
  return { firstDue: Math.min(...dues), lastDue: Math.max(...dues) };
}

/** The steps in time order (by their first due send; steps with none last, in campaign order). */
export function timelineOf(s: Snapshot): TimelineStep[] {
  const rows = sendRows(s);
  const specs = new Map(s.def.campaign.steps.map((st) => [st.id, st]));
  const steps = s.status.steps.map((st): TimelineStep => {
    const spec = specs.get(st.step);
    const audience = spec?.audience;
    return {
      ...st,
      ...(audience ? { audience } : {}),
      audienceSize: audience ? (s.def.audiences[audience]?.length ?? 0) : 0,
      ...dueRange(rows.filter((r) => r.step === st.step)),
      control: s.controls.of(st.step) ?? null,
      defined: !!spec,
    };
  });
  const order = (t: TimelineStep) => t.firstDue ?? Number.MAX_SAFE_INTEGER;
  return steps
    .map((t, i) => ({ t, i }))
    .sort((a, b) => order(a.t) - order(b.t) || a.i - b.i)
    .map(({ t }) => t);
}

function addressOf(a: Mail.Options["from"]): string {
  if (!a) return "";
  if (typeof a === "string") return a;
  const one = Array.isArray(a) ? a[0] : a;
  if (!one) return "";
  if (typeof one === "string") return one;
  return "address" in one ? `${one.name} <${one.address}>` : "";
}

function holders(
  recipients: Record<string, { delivered?: { sequence: number } }>,
): CalendarItemRow["holders"] {
  const counts = new Map<number, number>();
  for (const r of Object.values(recipients))
    if (r.delivered) counts.set(r.delivered.sequence, (counts.get(r.delivered.sequence) ?? 0) + 1);
  return [...counts.entries()]
    .map(([sequence, count]) => ({ sequence, count }))
    .sort((a, b) => b.sequence - a.sequence);
}

export function consoleData(deps: ConsoleDataDeps): ConsoleData {
  const cache = new DefinitionCache({ kinds: deps.kinds });
  const clock = deps.now ?? (() => DateTime.utc());
  const { stores } = deps;

  const loadAll = async () => {
    const defs: EventDefinition[] = [];
    const problems: DirProblems[] = [];
    for (const dir of deps.dirs) {
      const r = await cache.loadSettled(dir);
      if (r.loaded) defs.push(r.loaded.def);
      const errors = r.problems.filter(isError);
      if (errors.length)
        problems.push({
          dir,
          ...(r.loaded ? { event: r.loaded.def.event.id } : {}),
          problems: errors.map(formatProblem),
        });
    }
    return { defs, problems };
  };
  const events = async () => (await loadAll()).defs;

  const snapshot = async (def: EventDefinition): Promise<Snapshot> => {
    const ev = def.event.id;
    const now = clock();
    const regs = mergeRegistrations(def.registrations, await stores.registrations.list(ev));
    const sends = plan(def, regs, now);
    const ledger = await stores.ledger.all(ev);
    const controls = await stores.control.get(ev);
    const { status, failures } = computeStatus(def, sends, ledger, controls, now);
    return { def, now, sends, ledger, controls, status, failures };
  };

  return {
    now: clock,
    events,
    problems: async () => (await loadAll()).problems,
    event: async (id) => (await events()).find((d) => d.event.id === id),
    snapshot,
    timeline: timelineOf,
    sends: sendRows,

    async recipient(email) {
      const wanted = email.trim().toLowerCase();
      const sends: SendRow[] = [];
      for (const def of await events())
        sends.push(
          ...sendRows(await snapshot(def)).filter((r) => r.recipient.toLowerCase() === wanted),
        );
      const suppression = await stores.suppressions.get(wanted);
      return { ...(suppression ? { suppression } : {}), sends };
    },

    async calendar(def) {
      const state = await stores.calendar.load(def.event.id);
      const titles = new Map(itemsOf(def.event).map((i) => [i.id, i.title]));
      const ids = new Set([...titles.keys(), ...Object.keys(state.items)]);
      return [...ids].map((id) => {
        const item = state.items[id];
        return {
          id,
          title: titles.get(id) ?? "(no longer defined)",
          sequence: item?.sequence ?? 0,
          cancelled: item?.cancelled ?? false,
          holders: item ? holders(item.recipients) : [],
        };
      });
    },

    async message(def, stepId, recipient) {
      const step = def.campaign.steps.find((s) => s.id === stepId);
      if (!step) throw new NotFound(`no step "${stepId}" in ${def.event.id}`);
      const snap = await snapshot(def);
      const wanted = recipient.toLowerCase();
      const planned = snap.sends.find(
        (s) => s.step === stepId && s.recipient.toLowerCase() === wanted,
      );
      let send = planned;
      try {
        send ??= previewSend(def, step, { recipient, now: snap.now });
        const msg = await composeWith(
          def,
          send,
          { config: deps.config },
          recipientOf(def, step, send),
        );
        return {
          sendId: send.id,
          subject: String(msg.subject ?? ""),
          from: addressOf(msg.from),
          to: addressOf(msg.to),
          html: String(msg.html ?? ""),
          text: String(msg.text ?? ""),
          planned: !!planned,
        };
      } catch (e) {
        throw new NotFound((e as Error).message);
      }
    },

    async control(def, action, step) {
      writable(stores);
      const ev = def.event.id;
      const target = step ?? WHOLE_EVENT;
      if (action === "pause") await stores.control.pause(ev, target);
      if (action === "cancel") await stores.control.cancel(ev, target);
      if (action !== "resume") return { ok: true };
      if (!(await stores.control.resume(ev, target))) return { ok: false };
      return { ok: true, released: await deps.wake(ev, step) };
    },

    suppress: async (email) => {
      writable(stores);
      await stores.suppressions.add(email.trim(), CONSOLE_SUPPRESS_REASON);
    },
    unsuppress: async (email) => {
      writable(stores);
      return stores.suppressions.remove(email.trim());
    },
  };
}

/**
 * An organizer's change is made now or not at all: sent while Redis is away, it would wait in
 * the connection's offline queue past the request's 503 and land whenever Redis came back (a
 * pause, a cancel or an unsuppress the organizer was told had failed).
 */
function writable(stores: Pick<Stores, "connected">): void {
  if (stores.connected()) return;
  throw Object.assign(
    new Error("Redis is not connected, so nothing was changed; try again once it is back"),
    { statusCode: 503 },
  );
}

/** Something the organizer asked for that is not there: a 404 with this message. */
export class NotFound extends Error {
  override name = "NotFound";
  readonly statusCode = 404;
}

/** The earliest next due send of any step of the event, as ISO, if one is due at all. */
export function nextDueOf(s: Snapshot): string | undefined {
  return s.status.steps
    .map((st) => st.nextDue)
    .filter((d): d is string => !!d)
    .sort()[0];
}

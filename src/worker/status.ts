/**
 * Delivery status of an event: per step, how many sends are in each ledger state.
 *
 * A step's sends are those the planner plans now plus those the ledger recorded for the step
 * earlier and the plan no longer has (a reminder skipped because the team registered, a send
 * made before an edit). So the states of a step always add up to its `planned` count, and a
 * send is never counted twice or lost from the report.
 *
 * A planned send not yet in the ledger (due beyond the scheduler's horizon, or the worker has
 * not ticked yet) counts as `scheduled`, or `missed` once its missed window has passed, or
 * `skipped` when its step is cancelled.
 */
import type { DateTime } from "luxon";
import type { MessageKind } from "../model/schema.js";
import type { EventDefinition } from "../model/types.js";
import { parseSendId, type Send } from "../planner/send.js";
import type { Controls } from "../store/control.js";
import { type LedgerRecord, STATES, type State } from "../store/ledger.js";

export interface StepStatus {
  step: string;
  kind: MessageKind | typeof UNKNOWN_KIND;
  planned: number;
  states: Record<State, number>;
  nextDue: string | null;
}

export interface FailureRow {
  id: string;
  step: string;
  recipient: string;
  /**
   * failed, missed or unconfirmed; or any other state (usually sent) for a send with an earlier
   * unconfirmed attempt, which the recipient may have received twice.
   */
  state: State;
  due?: string;
  at?: string;
  reason: string;
  response?: string;
  attempts: number;
  /** Attempts whose SMTP acceptance was unknown; present when above 0. */
  unconfirmed?: number;
}

const POSSIBLY_TWICE = "an earlier attempt was unconfirmed";

/** Whether a send belongs in the failures list, and the reason shown for a marked one. */
function attention(state: State, rec: LedgerRecord | undefined): boolean {
  return (
    state === "failed" ||
    state === "missed" ||
    state === "unconfirmed" ||
    state === "bounced" ||
    !!rec?.unconfirmed
  );
}

function markedReason(state: State, rec: LedgerRecord | undefined, reason: string): string {
  if (!rec?.unconfirmed || state === "unconfirmed") return reason;
  if (state === "sent") return `sent, possibly twice (${POSSIBLY_TWICE})`;
  // The reason may already say so (a last attempt without an answer); say it once.
  if (/may have been delivered/.test(reason)) return reason;
  return `${reason} (${POSSIBLY_TWICE}, so the recipient may already have it)`;
}

export interface EventStatus {
  event: string;
  steps: StepStatus[];
}

function emptyStates(): Record<State, number> {
  return Object.fromEntries(STATES.map((s) => [s, 0])) as Record<State, number>;
}

/**
 * The kind shown for a deleted step none of whose sends recorded one (ledger records written
 * before each send kept its kind): said as unknown rather than guessed.
 */
export const UNKNOWN_KIND = "unknown";

/** The step's sends, counted per state as they are met. */
class StepTally {
  private readonly byStep = new Map<string, StepStatus>();

  constructor(private readonly def: EventDefinition) {
    for (const step of def.campaign.steps) this.byStep.set(step.id, emptyStep(step.id, step.kind));
  }

  count(stepId: string, kind: StepStatus["kind"], state: State, due: string | undefined): void {
    let st = this.byStep.get(stepId);
    if (!st) {
      // A step removed from the campaign whose sends the ledger still remembers.
      st = emptyStep(stepId, kind);
      this.byStep.set(stepId, st);
    }
    st.planned++;
    st.states[state]++;
    if (state === "scheduled" && due && (st.nextDue === null || due < st.nextDue)) st.nextDue = due;
  }

  /** In campaign order; deleted steps after, by id. */
  steps(): StepStatus[] {
    const order = new Map(this.def.campaign.steps.map((s, i) => [s.id, i]));
    return [...this.byStep.values()].sort(
      (a, b) =>
        (order.get(a.step) ?? 1e9) - (order.get(b.step) ?? 1e9) || a.step.localeCompare(b.step),
    );
  }
}

function emptyStep(step: string, kind: StepStatus["kind"]): StepStatus {
  return { step, kind, planned: 0, states: emptyStates(), nextDue: null };
}

/** A planned send's state: its ledger record's, or what it will be when there is none yet. */
export function plannedState(
  s: Send,
  rec: LedgerRecord | undefined,
  controls: Controls,
  nowMs: number,
) {
  if (rec) return rec.state;
  if (controls.of(s.step) === "cancelled") return "skipped";
  if (nowMs > Date.parse(s.expires)) return "missed";
  return "scheduled";
}

function plannedFailure(s: Send, rec: LedgerRecord | undefined, state: State): FailureRow {
  const fallback =
    state === "missed"
      ? `not sent by ${s.expires}, the end of its missed window`
      : "no reason recorded";
  return {
    id: s.id,
    step: s.step,
    recipient: s.recipient,
    state,
    due: s.due,
    ...(rec ? { at: new Date(rec.at).toISOString() } : {}),
    reason: markedReason(state, rec, rec?.reason ?? fallback),
    ...(rec?.response ? { response: rec.response } : {}),
    attempts: rec?.attempts ?? 0,
    ...(rec?.unconfirmed ? { unconfirmed: rec.unconfirmed } : {}),
  };
}

function rememberedFailure(id: string, step: string, rec: LedgerRecord): FailureRow {
  return {
    id,
    step,
    recipient: rec.recipient,
    state: rec.state,
    at: new Date(rec.at).toISOString(),
    reason: markedReason(rec.state, rec, rec.reason ?? "no reason recorded"),
    ...(rec.response ? { response: rec.response } : {}),
    attempts: rec.attempts,
    ...(rec.unconfirmed ? { unconfirmed: rec.unconfirmed } : {}),
  };
}

/** Ledger records of this event that the plan no longer has, with their step. */
function remembered(
  ev: string,
  ledger: ReadonlyMap<string, LedgerRecord>,
  seen: ReadonlySet<string>,
): { id: string; step: string; rec: LedgerRecord }[] {
  const out: { id: string; step: string; rec: LedgerRecord }[] = [];
  for (const [id, rec] of ledger) {
    const parsed = parseSendId(id);
    if (!seen.has(id) && parsed?.event === ev) out.push({ id, step: parsed.step, rec });
  }
  return out;
}

/**
 * A deleted step is known only from its sends: the kind each recorded, or the kind another
 * send of the same step recorded, else unknown.
 */
function kindsOf(
  def: EventDefinition,
  left: readonly { step: string; rec: LedgerRecord }[],
): (step: string, rec: LedgerRecord) => StepStatus["kind"] {
  const defined = new Map(def.campaign.steps.map((s) => [s.id, s.kind]));
  const recorded = new Map<string, MessageKind>();
  for (const { step, rec } of left)
    if (rec.kind && !recorded.has(step)) recorded.set(step, rec.kind);
  return (step, rec) => defined.get(step) ?? rec.kind ?? recorded.get(step) ?? UNKNOWN_KIND;
}

export function computeStatus(
  def: EventDefinition,
  sends: readonly Send[],
  ledger: ReadonlyMap<string, LedgerRecord>,
  controls: Controls,
  now: DateTime,
): { status: EventStatus; failures: FailureRow[] } {
  const ev = def.event.id;
  const nowMs = now.toMillis();
  const tally = new StepTally(def);
  const failures: FailureRow[] = [];
  const seen = new Set<string>();

  for (const s of sends) {
    seen.add(s.id);
    const rec = ledger.get(s.id);
    const state = plannedState(s, rec, controls, nowMs);
    tally.count(s.step, s.kind, state, s.due);
    if (attention(state, rec)) failures.push(plannedFailure(s, rec, state));
  }

  const left = remembered(ev, ledger, seen);
  const kindOf = kindsOf(def, left);
  for (const { id, step, rec } of left) {
    tally.count(
      step,
      kindOf(step, rec),
      rec.state,
      rec.due ? new Date(rec.due).toISOString() : undefined,
    );
    if (attention(rec.state, rec)) failures.push(rememberedFailure(id, step, rec));
  }

  failures.sort((a, b) => a.step.localeCompare(b.step) || a.recipient.localeCompare(b.recipient));
  return { status: { event: ev, steps: tally.steps() }, failures };
}

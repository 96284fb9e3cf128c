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
import type { Send } from "../planner/send.js";
import type { Controls } from "../store/control.js";
import { type LedgerRecord, STATES, type State } from "../store/ledger.js";

export interface StepStatus {
  step: string;
  kind: MessageKind;
  planned: number;
  states: Record<State, number>;
  nextDue: string | null;
}

export interface Failure {
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
  return state === "failed" || state === "missed" || state === "unconfirmed" || !!rec?.unconfirmed;
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

export function computeStatus(
  def: EventDefinition,
  sends: readonly Send[],
  ledger: ReadonlyMap<string, LedgerRecord>,
  controls: Controls,
  now: DateTime,
): { status: EventStatus; failures: Failure[] } {
  const ev = def.event.id;
  const nowMs = now.toMillis();
  const byStep = new Map<string, StepStatus>();
  for (const step of def.campaign.steps)
    byStep.set(step.id, {
      step: step.id,
      kind: step.kind,
      planned: 0,
      states: emptyStates(),
      nextDue: null,
    });
  const failures: Failure[] = [];
  const seen = new Set<string>();

  const count = (
    stepId: string,
    kind: MessageKind | undefined,
    state: State,
    due: string | undefined,
  ) => {
    let st = byStep.get(stepId);
    if (!st) {
      // A step removed from the campaign whose sends the ledger still remembers; "announcement"
      // only for records written before the ledger kept each send's kind.
      st = {
        step: stepId,
        kind: kind ?? "announcement",
        planned: 0,
        states: emptyStates(),
        nextDue: null,
      };
      byStep.set(stepId, st);
    }
    st.planned++;
    st.states[state]++;
    if (state === "scheduled" && due && (st.nextDue === null || due < st.nextDue)) st.nextDue = due;
  };

  for (const s of sends) {
    seen.add(s.id);
    const rec = ledger.get(s.id);
    let state: State;
    if (rec) state = rec.state;
    else if (controls.of(s.step) === "cancelled") state = "skipped";
    else if (nowMs > Date.parse(s.expires)) state = "missed";
    else state = "scheduled";
    count(s.step, s.kind, state, s.due);
    if (attention(state, rec))
      failures.push({
        id: s.id,
        step: s.step,
        recipient: s.recipient,
        state,
        due: s.due,
        ...(rec ? { at: new Date(rec.at).toISOString() } : {}),
        reason: markedReason(
          state,
          rec,
          rec?.reason ??
            (state === "missed"
              ? `not sent by ${s.expires}, the end of its missed window`
              : "no reason recorded"),
        ),
        ...(rec?.response ? { response: rec.response } : {}),
        attempts: rec?.attempts ?? 0,
        ...(rec?.unconfirmed ? { unconfirmed: rec.unconfirmed } : {}),
      });
  }

  for (const [id, rec] of ledger) {
    if (seen.has(id) || !id.startsWith(`${ev}.`)) continue;
    const stepId = id.slice(ev.length + 1, id.lastIndexOf("."));
    // A deleted step is known only from its sends: the kind each recorded.
    const kind = def.campaign.steps.find((s) => s.id === stepId)?.kind ?? rec.kind;
    count(stepId, kind, rec.state, rec.due ? new Date(rec.due).toISOString() : undefined);
    if (attention(rec.state, rec))
      failures.push({
        id,
        step: stepId,
        recipient: rec.recipient,
        state: rec.state,
        at: new Date(rec.at).toISOString(),
        reason: markedReason(rec.state, rec, rec.reason ?? "no reason recorded"),
        ...(rec.response ? { response: rec.response } : {}),
        attempts: rec.attempts,
        ...(rec.unconfirmed ? { unconfirmed: rec.unconfirmed } : {}),
      });
  }

  const order = new Map(def.campaign.steps.map((s, i) => [s.id, i]));
  const steps = [...byStep.values()].sort(
    (a, b) =>
      (order.get(a.step) ?? 1e9) - (order.get(b.step) ?? 1e9) || a.step.localeCompare(b.step),
  );
  failures.sort((a, b) => a.step.localeCompare(b.step) || a.recipient.localeCompare(b.recipient));
  return { status: { event: ev, steps }, failures };
}

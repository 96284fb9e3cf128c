/** What the templates are given: the console data with its times said in the event's zone. */
import type { DateTime } from "luxon";
import type { EventDefinition } from "../../model/types.js";
import { WHOLE_EVENT } from "../../store/control.js";
import type { State } from "../../store/ledger.js";
import type { StepStatus } from "../../worker/status.js";
import {
  type CalendarItemRow,
  nextDueOf,
  type SendRow,
  type Snapshot,
  type TimelineStep,
} from "./data.js";
import { localReason, when } from "./format.js";

/** The order states are drawn in: done first, then waiting, then what needs a look. */
export const SHOWN_STATES: readonly State[] = [
  "sent",
  "scheduled",
  "sending",
  "skipped",
  "suppressed",
  "failed",
  "bounced",
  "missed",
  "unconfirmed",
];

export function progress(st: Pick<StepStatus, "planned" | "states">) {
  const counts = SHOWN_STATES.map((state) => ({ state, count: st.states[state] }));
  const total = st.planned || 1;
  return {
    planned: st.planned,
    counts,
    segments: counts
      .filter((c) => c.count > 0)
      .map((c) => ({ ...c, pct: Math.round((c.count / total) * 10_000) / 100 })),
    label: `${st.planned} planned: ${
      counts
        .filter((c) => c.count > 0)
        .map((c) => `${c.count} ${c.state}`)
        .join(", ") || "none"
    }`,
  };
}

const iso = (s: string | null) => (s ? Date.parse(s) : undefined);

export function eventCard(s: Snapshot) {
  const zone = s.def.event.timezone;
  const next = nextDueOf(s);
  return {
    id: s.def.event.id,
    title: s.def.event.title,
    zone,
    nextDue: when(iso(next ?? null), zone, s.now),
    steps: s.status.steps.map((st) => ({
      step: st.step,
      kind: st.kind,
      control: s.controls.of(st.step) ?? null,
      progress: progress(st),
    })),
  };
}

/**
 * `own`: the flag set on this target itself; `effective`: what applies (the whole event's flag
 * wins). A step of a paused event can still be paused on its own, but only the event resumes it.
 */
function buttons(
  eventId: string,
  step: string | undefined,
  own: string | null,
  effective: string | null,
) {
  return {
    eventId,
    ...(step ? { step } : {}),
    canPause: own === null && effective !== "cancelled",
    canResume: own === "paused" && effective !== "cancelled",
    canCancel: effective !== "cancelled",
  };
}

export function timelineView(s: Snapshot, steps: TimelineStep[], message?: string) {
  const zone = s.def.event.timezone;
  const id = s.def.event.id;
  const raw = new Map(s.controls.entries());
  const eventControl = raw.get(WHOLE_EVENT) ?? null;
  return {
    id,
    zone,
    ...(message ? { message } : {}),
    eventControl,
    eventButtons: buttons(id, undefined, eventControl, eventControl),
    steps: steps.map((t) => ({
      ...t,
      firstDue: when(t.firstDue, zone, s.now),
      lastDue: t.lastDue !== t.firstDue ? when(t.lastDue, zone, s.now) : undefined,
      // "Next" only says something when it is not the first due time already shown.
      nextDue: iso(t.nextDue) !== t.firstDue ? when(iso(t.nextDue), zone, s.now) : undefined,
      oneRecipient: t.audienceSize === 1,
      progress: progress(t),
      buttons: buttons(id, t.step, raw.get(t.step) ?? null, t.control),
    })),
  };
}

export function sendView(
  r: SendRow,
  zone: string,
  now: DateTime,
  o: { withEvent?: boolean; messageUrl?: string } = {},
) {
  const missedFallback =
    r.state === "missed" && !r.reason && r.expires !== undefined
      ? `not sent by ${when(r.expires, zone, now)?.local}, the end of its missed window`
      : undefined;
  const reason = r.reason ? localReason(r.reason, zone) : missedFallback;
  return {
    id: r.id,
    recipient: r.recipient,
    ...(r.name ? { name: r.name } : {}),
    state: r.state,
    step: r.step,
    ...(o.withEvent ? { eventId: r.event } : {}),
    due: when(r.due, zone, now),
    at: when(r.at, zone, now),
    ...(reason ? { reason } : {}),
    ...(r.response ? { response: r.response } : {}),
    attempts: r.attempts,
    ...(o.messageUrl ? { messageUrl: o.messageUrl } : {}),
  };
}

export function messageUrl(event: string, step: string, recipient: string, html = false): string {
  return `/console/events/${encodeURIComponent(event)}/steps/${encodeURIComponent(step)}/message${html ? ".html" : ""}?recipient=${encodeURIComponent(recipient)}`;
}

export function stepFilters(event: string, step: string, current: string | undefined) {
  const base = `/console/events/${encodeURIComponent(event)}/steps/${encodeURIComponent(step)}`;
  return [
    { label: "all", url: base, current: !current },
    ...SHOWN_STATES.map((s) => ({ label: s, url: `${base}?state=${s}`, current: current === s })),
  ];
}

export function calendarView(def: EventDefinition, items: CalendarItemRow[]) {
  return { eventId: def.event.id, eventTitle: def.event.title, items };
}

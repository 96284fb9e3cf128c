/**
 * "reminder-7d: 91/91 sent in 4.2 s": one line when a step occurrence is done, so an operator
 * sees a campaign step finish without reading a line per message. An occurrence is the sends of
 * one step due at one instant (a `zone: recipient` step has one per zone, a registration-anchored
 * step one per team). It is done when the ledger holds every one of its sends in a final state.
 * Pure: the scheduler feeds it the plan and the ledger it already read for its tick.
 */

import { createHash } from "node:crypto";
import { isoMillis } from "../model/time.js";
import { isFinal, type RecordState, type State } from "../store/ledger.js";

export interface OccurrenceReport {
  /**
   * `<step>@<digest of its send ids>`: what the store remembers as reported. Not the due time:
   * a step re-timed after it went out keeps its sends (ids do not include the due time), and
   * must not be reported again at its new time.
   */
  key: string;
  step: string;
  due: string;
  planned: number;
  counts: Partial<Record<State, number>>;
  /** From the due time to the last state change of a send in it. */
  tookMs: number;
}

interface PlannedRef {
  id: string;
  step: string;
  due: string;
}

/** Sends due by `nowMs`, by step occurrence (`<step>@<due ms>`), each group in the order given. */
export function groupByOccurrence<T extends PlannedRef>(sends: readonly T[], nowMs: number) {
  const groups = new Map<string, T[]>();
  for (const s of sends) {
    if (isoMillis(s.due) > nowMs) continue;
    const key = `${s.step}@${isoMillis(s.due)}`;
    const g = groups.get(key);
    if (g) g.push(s);
    else groups.set(key, [s]);
  }
  return groups;
}

/** How long after its last send a finished occurrence is still reported. */
export const RECENT_MS = 15 * 60_000;

function occurrenceKey(step: string, group: readonly PlannedRef[]): string {
  const ids = group.map((s) => s.id).sort();
  return `${step}@${createHash("sha256").update(ids.join("\n")).digest("hex").slice(0, 16)}`;
}

function reportOf(
  group: readonly PlannedRef[],
  records: ReadonlyMap<string, RecordState>,
  nowMs: number,
): OccurrenceReport | undefined {
  const counts: Partial<Record<State, number>> = {};
  let last = 0;
  for (const s of group) {
    const rec = records.get(s.id);
    if (!rec || !isFinal(rec)) return undefined;
    counts[rec.state] = (counts[rec.state] ?? 0) + 1;
    last = Math.max(last, rec.at);
  }
  // Only delivery is news: an occurrence that was all missed or skipped is in the tick's line.
  if (!counts.sent && !counts.failed) return undefined;
  const first = group[0] as PlannedRef;
  const dueMs = isoMillis(first.due);
  // Sends decided before this due time were moved here after they went out (a step re-timed
  // once sent): nothing happened at this occurrence. And an occurrence finished long ago (a
  // worker upgraded or restarted mid-campaign) is history, not news.
  if (last < dueMs || nowMs - last > RECENT_MS) return undefined;
  return {
    key: occurrenceKey(first.step, group),
    step: first.step,
    due: first.due,
    planned: group.length,
    counts,
    tookMs: last - dueMs,
  };
}

/** The occurrences, due by now, whose every send is final and at least one was delivered or failed. */
export function completedOccurrences(
  sends: readonly PlannedRef[],
  records: ReadonlyMap<string, RecordState>,
  nowMs: number,
): OccurrenceReport[] {
  const out: OccurrenceReport[] = [];
  for (const group of groupByOccurrence(sends, nowMs).values()) {
    const r = reportOf(group, records, nowMs);
    if (r) out.push(r);
  }
  return out;
}

const OTHER: readonly [State, string][] = [
  ["failed", "failed"],
  ["bounced", "bounced"],
  ["suppressed", "suppressed"],
  ["skipped", "skipped"],
  ["missed", "missed"],
];

/** "reminder-7d: 91/91 sent in 4.2 s, 1 failed" */
export function occurrenceLine(r: OccurrenceReport): string {
  const parts = [
    `${r.step}: ${r.counts.sent ?? 0}/${r.planned} sent in ${(r.tookMs / 1000).toFixed(1)} s`,
  ];
  for (const [state, word] of OTHER) if (r.counts[state]) parts.push(`${r.counts[state]} ${word}`);
  return parts.join(", ");
}

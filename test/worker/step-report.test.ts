/**
 * Issue 11: "A per-step line when a step occurrence completes": the pure rule on hand-made ledger
 * records (step-report-worker.test.ts has the real worker).
 */
import { describe, expect, it } from "vitest";
import type { LedgerRecord, State } from "../../src/store/ledger.js";
import { completedOccurrences, occurrenceLine, RECENT_MS } from "../../src/worker/step-report.js";

const DUE = "2026-03-02T09:00:00.000Z";
const DUE_MS = Date.parse(DUE);

function rec(state: State, atOffsetMs = 0): LedgerRecord {
  return { state, attempts: 1, recipient: "x@y.test", firstAt: DUE_MS, at: DUE_MS + atOffsetMs };
}

const sends = (n: number, step = "reminder", due = DUE) =>
  Array.from({ length: n }, (_, i) => ({ id: `${step}-${due}-${i}`, step, due }));

describe("completedOccurrences (pure)", () => {
  it("reports an occurrence once every send is final, with its counts and how long it took", () => {
    const s = sends(4);
    const records = new Map<string, LedgerRecord>([
      [s[0]?.id as string, rec("sent", 1_000)],
      [s[1]?.id as string, rec("sent", 4_200)],
      [s[2]?.id as string, rec("failed", 2_000)],
      [s[3]?.id as string, rec("suppressed", 0)],
    ]);
    const [r, ...more] = completedOccurrences(s, records, DUE_MS + 60_000);
    expect(more).toEqual([]);
    expect(r?.key).toMatch(/^reminder@[0-9a-f]{16}$/);
    expect(occurrenceLine(r as NonNullable<typeof r>)).toBe(
      "reminder: 2/4 sent in 4.2 s, 1 failed, 1 suppressed",
    );
  });

  it("says nothing while a send is open, for an occurrence not yet due, or one only missed", () => {
    const s = sends(2);
    const open = new Map([
      [s[0]?.id as string, rec("sent")],
      [s[1]?.id as string, rec("scheduled")],
    ]);
    expect(completedOccurrences(s, open, DUE_MS + 60_000)).toEqual([]);
    const unplanned = new Map([
      [s[0]?.id as string, rec("sent")],
      [s[1]?.id as string, { ...rec("skipped"), unplanned: true as const }],
    ]);
    expect(completedOccurrences(s, unplanned, DUE_MS + 60_000)).toEqual([]);
    const sent = new Map(s.map((x) => [x.id, rec("sent")]));
    expect(completedOccurrences(s, sent, DUE_MS - 1)).toEqual([]);
    const missed = new Map(s.map((x) => [x.id, rec("missed")]));
    expect(completedOccurrences(s, missed, DUE_MS + 60_000)).toEqual([]);
  });

  it("keeps occurrences of one step at different instants apart", () => {
    const LATER = 10 * 60_000;
    const later = new Date(DUE_MS + LATER).toISOString();
    const s = [...sends(2), ...sends(3, "reminder", later)];
    const records = new Map(
      s.map((x) => [x.id, rec("sent", x.due === later ? LATER + 500 : 1_500)]),
    );
    const lines = completedOccurrences(s, records, DUE_MS + LATER + 60_000).map(occurrenceLine);
    expect(lines.sort()).toEqual(["reminder: 2/2 sent in 1.5 s", "reminder: 3/3 sent in 0.5 s"]);
  });

  it("says nothing of sends that went out before this due time (a step re-timed once sent)", () => {
    const s = sends(3);
    const records = new Map(s.map((x) => [x.id, rec("sent", -60_000)]));
    expect(completedOccurrences(s, records, DUE_MS + 60_000)).toEqual([]);
  });

  it("says nothing of an occurrence finished long ago (a worker restarted mid-campaign)", () => {
    const s = sends(3);
    const records = new Map(s.map((x) => [x.id, rec("sent", 2_000)]));
    expect(completedOccurrences(s, records, DUE_MS + 2_000 + RECENT_MS)).toHaveLength(1);
    expect(completedOccurrences(s, records, DUE_MS + 2_001 + RECENT_MS)).toEqual([]);
  });
});

/**
 * The scheduler's pure half, without Redis: decide() turns the plan, the ledger and the controls
 * into add / retime / skip / miss / requeue. The Redis half (apply) is covered by
 * scheduling.test.ts and edits.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Controls } from "../../src/store/control.js";
import type { LedgerRecord, State } from "../../src/store/ledger.js";
import {
  decide,
  heldHead,
  type LedgerView,
  type PlannedSend,
  staleSending,
  type TickDecision,
  watchedIds,
} from "../../src/worker/scheduler.js";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const HOUR = 3_600_000;

function send(n: number, o: Partial<PlannedSend> = {}): PlannedSend {
  return {
    id: `ev.step-a.${String(n).padStart(16, "0")}`,
    event: "ev",
    step: "step-a",
    kind: "announcement",
    recipient: `r${n}@example.org`,
    name: `R ${n}`,
    version: 0,
    due: new Date(NOW + HOUR).toISOString(),
    dueLocal: new Date(NOW + HOUR).toISOString(),
    zone: "UTC",
    expires: new Date(NOW + 24 * HOUR).toISOString(),
    ...o,
  };
}

function rec(state: State, o: Partial<LedgerRecord> = {}): LedgerRecord {
  return { state, attempts: 0, recipient: "r@example.org", firstAt: NOW, at: NOW, ...o };
}

function view(records: [string, LedgerRecord][] = [], o: Partial<LedgerView> = {}): LedgerView {
  return { records: new Map(records), stale: new Set(), lost: new Map(), dropped: [], ...o };
}

const open = { of: (_step: string) => undefined };
const cancelled = { of: (_step: string) => "cancelled" as const };

/** Every list empty: the tick has nothing to do. */
function nothing(d: TickDecision): boolean {
  return Object.values(d).every((xs) => xs.length === 0);
}

/** The ledger after apply's moves, each a compare-and-set from its `from` states. */
function applied(ledger: LedgerView, d: TickDecision): LedgerView {
  const records = new Map(ledger.records);
  const moves = [...d.add, ...d.retime, ...d.skip, ...d.miss, ...d.requeue];
  for (const m of moves) {
    if (!m.move) continue;
    const p = m.move.patch;
    records.set(m.move.id, {
      ...(records.get(m.move.id) ?? rec(p.state)),
      state: p.state,
      ...(p.due != null ? { due: p.due } : {}),
      ...(p.unplanned ? { unplanned: true as const } : {}),
    });
  }
  return { ...ledger, records, lost: new Map(), dropped: [] };
}

describe("decide: one tick's decisions, without Redis", () => {
  it("add: a send the ledger has never seen is scheduled from none and queued", () => {
    const s = send(1);
    const d = decide([s], view(), open, NOW);
    expect(d.add).toHaveLength(1);
    expect(d.add[0]?.send).toBe(s);
    expect(d.add[0]?.move).toMatchObject({
      id: s.id,
      from: ["none"],
      patch: { state: "scheduled", due: Date.parse(s.due), kind: s.kind, reason: null },
    });
    expect(d.add[0]?.remove).toBe(false);
    expect([d.retime, d.skip, d.miss, d.requeue].flat()).toEqual([]);
  });

  it("retime: a scheduled send whose due time moved is re-added over its old job", () => {
    const s = send(1);
    const d = decide([s], view([[s.id, rec("scheduled", { due: NOW + 2 * HOUR })]]), open, NOW);
    expect(d.retime.map((r) => r.send.id)).toEqual([s.id]);
    expect(d.retime[0]?.remove).toBe(true);
    expect(d.retime[0]?.move.patch.due).toBe(Date.parse(s.due));
    expect(d.add).toEqual([]);
  });

  it("skip: a cancelled step's open sends are skipped, a scheduled one's job removed", () => {
    const a = send(1);
    const b = send(2);
    const d = decide(
      [a, b],
      view([[a.id, rec("scheduled", { due: Date.parse(a.due) })]]),
      cancelled,
      NOW,
    );
    expect(d.skip.map((m) => [m.move.id, m.move.from, m.move.patch.reason, m.remove])).toEqual([
      [a.id, ["scheduled"], "step cancelled", true],
      [b.id, ["none"], "step cancelled", false],
    ]);
    expect(d.add).toEqual([]);
  });

  it("skip: a send the plan dropped is skipped with its reason, as re-plannable", () => {
    const d = decide(
      [],
      view([], { dropped: [{ id: "ev.gone.1", reason: "r was removed", unplanned: true }] }),
      open,
      NOW,
    );
    expect(d.skip).toHaveLength(1);
    expect(d.skip[0]?.move).toEqual({
      id: "ev.gone.1",
      from: ["scheduled"],
      patch: { state: "skipped", reason: "r was removed", unplanned: true },
    });
    expect(d.skip[0]?.remove).toBe(true);
  });

  it("miss: a send past its missed window is recorded missed, not queued", () => {
    const s = send(1, { expires: new Date(NOW - 1).toISOString() });
    const d = decide([s], view(), open, NOW);
    expect(d.miss.map((m) => m.move.patch.state)).toEqual(["missed"]);
    expect(d.miss[0]?.move.patch.reason).toContain("end of its missed window");
    expect(d.add).toEqual([]);
  });

  it("requeue: a watched send whose job was lost is queued again; a failed job is removed first", () => {
    const a = send(1);
    const b = send(2);
    const c = send(3);
    const ledger = view(
      [
        [a.id, rec("scheduled", { due: Date.parse(a.due) })],
        [b.id, rec("unconfirmed")],
        [c.id, rec("sending")],
      ],
      {
        stale: new Set([c.id]),
        lost: new Map([
          [a.id, "failed"],
          [b.id, "missing"],
          [c.id, "missing"],
        ]),
      },
    );
    expect(watchedIds([a, b, c], ledger, open, NOW)).toEqual([a.id, b.id, c.id]);
    const d = decide([a, b, c], ledger, open, NOW);
    expect(d.requeue.map((r) => [r.send.id, r.state, r.remove, !!r.move])).toEqual([
      [a.id, "scheduled", true, true],
      // unconfirmed and sending keep their state: the processor resends them, marked.
      [b.id, "unconfirmed", false, false],
      [c.id, "sending", false, false],
    ]);
    expect(d.add).toEqual([]);
  });

  it("a send still `sending` but not stale belongs to a live process: nothing is done", () => {
    const s = send(1);
    const ledger = view([[s.id, rec("sending")]], { lost: new Map([[s.id, "missing"]]) });
    expect(watchedIds([s], ledger, open, NOW)).toEqual([]);
    expect(nothing(decide([s], ledger, open, NOW))).toBe(true);
  });

  it("staleSending: only `sending` records older than the limit, by the wall clock", () => {
    const records = new Map([
      ["old", rec("sending", { at: NOW - 10_000 })],
      ["new", rec("sending", { at: NOW - 10 })],
      ["done", rec("sent", { at: NOW - 10_000 })],
    ]);
    expect([...staleSending(records, NOW, 1_000)]).toEqual(["old"]);
  });

  it("unplanned skip: a send planned again before it expires is re-added as back in the plan", () => {
    const s = send(1);
    const d = decide([s], view([[s.id, rec("skipped", { unplanned: true })]]), open, NOW);
    expect(d.add).toHaveLength(1);
    expect(d.add[0]?.replanned).toBe(true);
    expect(d.add[0]?.move.from).toEqual(["unplanned"]);
    // A leftover job of the same id would block the add.
    expect(d.add[0]?.remove).toBe(true);
  });

  it("unplanned skip back too late: the removal stands (neither missed nor queued)", () => {
    const s = send(1, { expires: new Date(NOW - 1).toISOString() });
    const d = decide([s], view([[s.id, rec("skipped", { unplanned: true })]]), open, NOW);
    expect(nothing(d)).toBe(true);
  });

  it("a final send (sent, failed, a decided skip) is never touched", () => {
    const states: State[] = ["sent", "failed", "missed", "suppressed", "skipped"];
    const sends = states.map((_, i) => send(i));
    const ledger = view(sends.map((s, i) => [s.id, rec(states[i] as State)]));
    expect(nothing(decide(sends, ledger, cancelled, NOW))).toBe(true);
  });

  it("idempotent: deciding again on the applied result adds nothing", () => {
    const fresh = send(1);
    const moved = send(2);
    const back = send(3);
    const late = send(4, { expires: new Date(NOW - 1).toISOString() });
    const sends = [fresh, moved, back, late];
    const ledger = view([
      [moved.id, rec("scheduled", { due: NOW + 5 * HOUR })],
      [back.id, rec("skipped", { unplanned: true })],
    ]);
    const first = decide(sends, ledger, open, NOW);
    expect(first.add).toHaveLength(2);
    expect(first.retime).toHaveLength(1);
    expect(first.miss).toHaveLength(1);
    expect(nothing(decide(sends, applied(ledger, first), open, NOW))).toBe(true);
  });

  it("ranks keep plan order first, then lost jobs, then dropped sends", () => {
    const a = send(1);
    const b = send(2);
    const d = decide(
      [a, b],
      view([[a.id, rec("scheduled", { due: Date.parse(a.due) })]], {
        lost: new Map([[a.id, "missing"]]),
        dropped: [{ id: "ev.gone.1", reason: "gone", unplanned: true }],
      }),
      open,
      NOW,
    );
    const ranks = [d.add[0]?.rank, d.requeue[0]?.rank, d.skip[0]?.rank];
    expect(ranks).toEqual([1, 2, 4]);
  });
});

describe("the held-back sends a top-up looks at", () => {
  it("are twice the room's worth of sends not paused, however many paused ones come first", () => {
    const paused = Array.from({ length: 10 }, (_, i) => send(i, { step: "long-paused" }));
    const others = Array.from({ length: 6 }, (_, i) => send(100 + i, { step: "sending" }));
    const controls = new Controls({ "long-paused": "paused" });
    const head = heldHead([...paused, ...others], 2, controls);
    // A paused step held first must not hide the steps held behind it.
    expect(head.filter((s) => s.step === "sending")).toHaveLength(4);
    expect(head).toHaveLength(14);
    expect(heldHead([...paused, ...others], 0, controls)).toHaveLength(16);
    expect(heldHead(others, 2, new Controls({}))).toHaveLength(4);
  });
});

/** Lifecycle rules on the pure function alone (the Redis-backed run is lifecycle.test.ts). */
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import {
  type CalendarState,
  emptyState,
  type ItemState,
  isSuperseded,
  reconcile,
} from "../../src/calendar/lifecycle.js";
import type { EventDefinition } from "../../src/model/types.js";
import { plan } from "../../src/planner/plan.js";
import { miniDef, recipient } from "./fixture.js";

const NOW = DateTime.fromISO("2017-02-01T12:00:00Z");

function def(start: string, people = ["a@example.com", "b@example.com"]): EventDefinition {
  const d = miniDef({ days: [{ id: "d1", date: "2017-06-21", start, end: "17:00" }] });
  d.audiences.people = people.map((e) => recipient(e, e.split("@")[0] as string));
  return d;
}

/** The worker's part: mark sends delivered with the SEQUENCE they carried. */
function deliver(
  state: CalendarState,
  sends: {
    item?: string;
    recipient: string;
    step: string;
    version: number;
    method?: "REQUEST" | "CANCEL";
  }[],
  sequence?: number,
) {
  for (const s of sends) {
    const item = state.items[s.item as string];
    if (!item) throw new Error("no item state");
    item.recipients[s.recipient] = {
      ...item.recipients[s.recipient],
      delivered: { step: s.step, sequence: sequence ?? s.version, method: s.method ?? "REQUEST" },
    };
  }
}

describe("reconcile rules", () => {
  it("edits before anyone received the item keep SEQUENCE at 0", () => {
    const d1 = def("09:00");
    const r1 = reconcile(d1, plan(d1, [], NOW), emptyState(), NOW);
    const d2 = def("10:00");
    const r2 = reconcile(d2, plan(d2, [], NOW), r1.state, NOW);
    expect(r2.updates).toEqual([]);
    expect(r2.state.items.d1?.sequence).toBe(0);
  });

  it("a first invite rendered before a change and delivered after it gets the update", () => {
    const d1 = def("09:00");
    const s1 = plan(d1, [], NOW);
    const r1 = reconcile(d1, s1, emptyState(), NOW);
    // b's invite is delivered at SEQUENCE 0; a's was rendered at 0 but is still in flight
    deliver(
      r1.state,
      s1.filter((s) => s.recipient === "b@example.com"),
      0,
    );
    const d2 = def("10:00");
    const r2 = reconcile(d2, plan(d2, [], NOW), r1.state, NOW);
    expect(r2.updates.map((s) => [s.recipient, s.version])).toEqual([["b@example.com", 1]]);
    deliver(r2.state, r2.updates);
    deliver(
      r2.state,
      s1.filter((s) => s.recipient === "a@example.com"),
      0,
    ); // late delivery
    const r3 = reconcile(d2, plan(d2, [], NOW), r2.state, NOW);
    expect(r3.updates.map((s) => [s.recipient, s.version, s.method])).toEqual([
      ["a@example.com", 1, "REQUEST"],
    ]);
    expect(r3.changes).toEqual([]);
  });

  it("a recipient who left the audience gets a CANCEL; the others nothing", () => {
    const d1 = def("09:00");
    const s1 = plan(d1, [], NOW);
    const r1 = reconcile(d1, s1, emptyState(), NOW);
    deliver(r1.state, s1);
    const d2 = def("09:00", ["a@example.com"]);
    const r2 = reconcile(d2, plan(d2, [], NOW), r1.state, NOW);
    expect(r2.updates).toEqual([]);
    expect(r2.cancellations.map((s) => [s.recipient, s.version, s.method])).toEqual([
      ["b@example.com", 1, "CANCEL"],
    ]);
    // an update superseded by a newer SEQUENCE must not go out
    expect(isSuperseded({ version: 1 }, { ...(r2.state.items.d1 as ItemState), sequence: 2 })).toBe(
      true,
    );
    expect(isSuperseded({ version: 0 }, r2.state.items.d1)).toBe(false);
  });

  it("a day going back to TBD-like removal cancels, with the last snapshot kept", () => {
    const d1 = def("09:00");
    const s1 = plan(d1, [], NOW);
    const r1 = reconcile(d1, s1, emptyState(), NOW);
    deliver(r1.state, s1);
    const d2 = miniDef({ days: [{ id: "other", date: "2017-06-22" }] });
    d2.audiences.people = d1.audiences.people ?? [];
    const r2 = reconcile(d2, plan(d2, [], NOW), r1.state, NOW);
    expect(r2.cancellations.map((s) => s.recipient).sort()).toEqual([
      "a@example.com",
      "b@example.com",
    ]);
    expect(r2.changes).toEqual([{ item: "d1", reason: "removed", fields: [], from: 0, to: 1 }]);
    expect(r2.state.items.d1?.snapshot?.when).toEqual({
      type: "timed",
      start: "2017-06-21T16:00:00.000Z",
      end: "2017-06-22T00:00:00.000Z",
    });
  });
});

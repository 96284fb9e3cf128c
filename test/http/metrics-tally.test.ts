/**
 * The counting behind /metrics' convene_sends, without Redis: records grouped by step, kind and
 * state, every state present, a record without a kind named by its step's kind, and no
 * recipient address anywhere in the exposition.
 */
import { describe, expect, it } from "vitest";
import { registryOf, tallyLedger } from "../../src/http/metrics.js";
import { type LedgerRecord, STATES } from "../../src/store/ledger.js";
import { Exposition } from "../support/metrics-text.js";

function rec(state: LedgerRecord["state"], recipient: string, kind?: string): LedgerRecord {
  return { state, attempts: 0, recipient, firstAt: 0, at: 0, ...(kind ? { kind } : {}) };
}

async function* entries(xs: [string, LedgerRecord][]) {
  yield* xs;
}

const ID = (step: string, n: number) => `ev-1.${step}.${n.toString(16).padStart(16, "0")}`;

describe("tallyLedger", () => {
  it("counts per step, kind and state, with zeros for the other states", async () => {
    const counts = await tallyLedger(
      "ev-1",
      entries([
        [ID("letter", 1), rec("sent", "a@x.test", "invitation-letter")],
        [ID("letter", 2), rec("sent", "b@x.test", "invitation-letter")],
        [ID("letter", 3), rec("failed", "c@x.test", "invitation-letter")],
        // Recorded missed by the scheduler before any job: no kind on the record.
        [ID("reminder", 4), rec("missed", "d@x.test")],
        [ID("reminder", 5), rec("scheduled", "e@x.test", "deadline-reminder")],
        ["not-a-send-id", rec("skipped", "f@x.test")],
      ]),
      new Map([["reminder", "deadline-reminder"]]),
    );
    const get = (step: string, kind: string, state: string) =>
      counts.find((c) => c.step === step && c.kind === kind && c.state === state)?.count;
    expect(get("letter", "invitation-letter", "sent")).toBe(2);
    expect(get("letter", "invitation-letter", "failed")).toBe(1);
    expect(get("letter", "invitation-letter", "missed")).toBe(0);
    expect(get("reminder", "deadline-reminder", "missed")).toBe(1);
    expect(get("reminder", "deadline-reminder", "scheduled")).toBe(1);
    expect(get("unknown", "unknown", "skipped")).toBe(1);
    // Three groups, each with every state.
    expect(counts).toHaveLength(3 * STATES.length);
    expect(counts.reduce((n, c) => n + c.count, 0)).toBe(6);

    const text = await registryOf({ redis: true, sends: counts, queue: { delayed: 4 } }).metrics();
    const m = new Exposition(text);
    expect(m.value("convene_sends", { step: "letter", state: "sent" })).toBe(2);
    expect(m.value("convene_queue_jobs", { state: "delayed" })).toBe(4);
    expect(text).not.toMatch(/@/);
  });
});

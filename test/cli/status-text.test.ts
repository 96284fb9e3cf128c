import { describe, expect, it } from "vitest";
import { statusText } from "../../src/cli/status.js";
import { STATES, type State } from "../../src/store/ledger.js";
import type { EventStatus } from "../../src/worker/status.js";

function states(o: Partial<Record<State, number>>): Record<State, number> {
  return Object.fromEntries(STATES.map((s) => [s, o[s] ?? 0])) as Record<State, number>;
}

const status: EventStatus = {
  event: "demo",
  steps: [
    {
      step: "invitation-letter",
      kind: "invitation-letter",
      planned: 104,
      states: states({ sent: 100, skipped: 2, suppressed: 1, failed: 1 }),
      nextDue: null,
    },
    {
      step: "a-step-with-a-very-long-identifier-indeed",
      kind: "deadline-reminder",
      planned: 91,
      states: states({ scheduled: 80, missed: 5, unconfirmed: 3, sending: 2, failed: 1 }),
      nextDue: "2017-05-19T16:00:00.000Z",
    },
  ],
};

describe("the status table", () => {
  it("fits 80 columns, every count still shown", () => {
    const text = statusText(status, "America/Los_Angeles", 80);
    for (const line of text.trimEnd().split("\n"))
      expect(line.length, line).toBeLessThanOrEqual(80);
    expect(text).toMatch(/^STEP\s+PLANNED\s+SENT\s+OTHER STATES\s+NEXT DUE/);
    expect(text).toMatch(/invitation-letter\s+104\s+100\s+1 failed,/);
    for (const part of ["2 skipped", "1 suppressed"]) expect(text).toContain(part);
    for (const part of ["80 scheduled", "2 sending", "1 failed", "5 missed", "3 unconfirmed"])
      expect(text).toContain(part);
    expect(text).toContain("2017-05-19 09:00 PDT");
  });

  it("is the full table without a width limit (--wide, scripts)", () => {
    const text = statusText(status, "America/Los_Angeles");
    expect(text).toMatch(/^STEP\s+KIND\s+PLANNED\s+SCHEDULED\s+SENDING\s+SENT/);
  });
});

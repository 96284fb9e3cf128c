/**
 * What a full tick keeps of each record once it has decided on its send (issue 12: a whole
 * record per candidate, reply and Message-ID included, was 30 MB of a 100,000-send tick).
 */
import { describe, expect, it } from "vitest";
import { isFinal, type LedgerRecord, STATES, stateOf } from "../../src/store/ledger.js";

const sent: LedgerRecord = {
  state: "sent",
  attempts: 1,
  recipient: "pat@district.test",
  firstAt: 1_700_000_000_000,
  at: 1_700_000_060_000,
  response: "250 2.0.0 Ok: queued as 4Fz1xY0abc",
  messageId: "<ca-lmi-2017.invitation-letter.fe39775430630156@organizer.test>",
};

describe("stateOf", () => {
  it("keeps the state and when it changed, and none of the rest", () => {
    expect(stateOf(sent)).toEqual({ state: "sent", at: sent.at });
    expect(Object.keys(stateOf(sent)).sort()).toEqual(["at", "state"]);
  });

  it("says final exactly where the whole record does, for every state", () => {
    for (const state of STATES)
      for (const unplanned of [undefined, true] as const) {
        const rec: LedgerRecord = { ...sent, state, ...(unplanned ? { unplanned } : {}) };
        expect(isFinal(stateOf(rec)), `${state} ${unplanned ?? ""}`).toBe(isFinal(rec));
      }
  });
});

import { describe, expect, it } from "vitest";
import { parseSendId, sendId } from "../../src/planner/send.js";

describe("parseSendId", () => {
  it("gives back the event and step sendId put in, for any recipient, item and version", () => {
    for (const k of [
      { event: "ca-lmi-2017", step: "invitation-letter", recipient: "A@B.org", version: 0 },
      { event: "e", step: "reminder-7d", recipient: "x@y.z", item: "day-1", version: 3 },
    ]) {
      const id = sendId(k);
      expect(parseSendId(id)).toEqual({ event: k.event, step: k.step, hash: id.slice(-16) });
    }
  });

  it("refuses what is not a send id", () => {
    for (const id of [
      "",
      "ev.step",
      "ev.step.123",
      "Ev.step.0123456789abcdef",
      "a.b.c.0123456789abcdef",
    ])
      expect(parseSendId(id), id).toBeUndefined();
  });
});

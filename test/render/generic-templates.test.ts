/**
 * convene's own templates read right for any event (issue 9, items 5 and 7): the Berlin example
 * uses them for all six kinds and none of the CA LMI event's words may appear, while the CA LMI
 * messages keep their wording, which now comes from that event's own templates and values.
 */

import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { BERLIN, CA_LMI, messagesOf } from "./messages.js";

const CA_WORDS = [
  "California",
  "CA LMI",
  "Labor Management Initiative",
  "statewide",
  "superintendent",
  "Torlakson",
  "Honowitz",
  "Noguera",
  "Fullan",
  "San Diego",
  "Doubletree",
  "School Board President",
  "Certificated",
  "school districts",
];

describe("the Berlin example with convene's default templates", async () => {
  const messages = await messagesOf(BERLIN);

  // Derived from its campaign, so a kind added to convene (and not to Berlin) changes nothing here.
  it("sends every kind its campaign names", () => {
    const named = loadEventOrThrow(BERLIN, KINDS).campaign.steps.map((s) => s.kind);
    expect(new Set(messages.map((m) => m.send.kind))).toEqual(new Set(named));
  });

  it("has none of the first event's words in any message", () => {
    for (const m of messages)
      for (const w of CA_WORDS) {
        const found = `${m.parsed.subject}\n${m.text}\n${m.html}`
          .toLowerCase()
          .includes(w.toLowerCase());
        expect(found, `${m.send.step}: "${w}"`).toBe(false);
      }
  });

  it("uses the step's values where the letter names whom to forward it to", () => {
    const letter = messages.find((m) => m.send.kind === "invitation-letter");
    expect(letter?.text).toContain(
      "Please forward this invitation to the teachers who coordinate your partnerships",
    );
  });
});

describe("the CA LMI example keeps its own wording", async () => {
  const messages = await messagesOf(CA_LMI);
  const of = (kind: string) => messages.find((m) => m.send.kind === kind)?.text ?? "";

  it("in the letter, the reminders and the press-release prompt", () => {
    expect(of("invitation-letter")).toContain("critical to the success of California’s schools");
    expect(of("invitation-letter")).toContain("CA Labor Management Initiative Web page");
    expect(of("deadline-reminder")).toContain("All interested school districts are invited");
    expect(of("press-release-prompt")).toContain("team joins statewide labor-management institute");
    expect(of("press-release-prompt")).toContain("from across California");
  });
});

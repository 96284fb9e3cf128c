/** A session whose title names its speaker shows the affiliation only (issue 9, item 10). */
import { describe, expect, it } from "vitest";
import { CA_LMI, messagesOf } from "./messages.js";

describe("a speaker named in the session title", async () => {
  const messages = await messagesOf(CA_LMI);
  const day2 = messages.find((m) => m.send.item === "day-2017-06-21");

  it("is not repeated in the mail's agenda", () => {
    expect(day2?.text).toContain("Keynote Presentation: Pedro Noguera · UCLA");
    expect(day2?.text).not.toMatch(/Pedro Noguera · Pedro Noguera/);
    // Speakers not in the title keep their name.
    expect(day2?.text).toContain(
      "Introduction and Warm-up · Shelly Masur (Californians Dedicated to Education Foundation (CDEF))",
    );
  });

  it("is not repeated in the invite's agenda", () => {
    const ics = (day2?.calendars[0] ?? "").replace(/\r\n[ \t]/g, "");
    expect(ics).toContain("Keynote Presentation: Pedro Noguera — UCLA");
    expect(ics).not.toContain("Pedro Noguera — Pedro Noguera");
  });
});

/**
 * Times in message bodies come from the same instants as the calendar (issue 9, items 3 and 4):
 * on the Berlin DST night 02:30 does not exist, so the mail says 3:30 AM as the .ics does, and a
 * range across the change labels each end with its own offset.
 */

import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { itemsOf } from "../../src/model/items.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { BERLIN, type Message, messagesOf } from "./messages.js";

function byItem(messages: Message[], item: string): Message {
  const m = messages.find((x) => x.send.item === item);
  if (!m) throw new Error(`no message for ${item}`);
  return m;
}

describe("times on the Berlin DST night (2026-03-29, 02:00 CET → 03:00 CEST)", async () => {
  const messages = await messagesOf(BERLIN);

  it("shows the 02:30 session at 3:30 AM in the day's agenda, as the calendar does", () => {
    const { text } = byItem(messages, "day-2026-03-29");
    expect(text).toMatch(/3:30 AM – 4:00 AM.*Stargazing/);
    expect(text).not.toContain("2:30 AM");
  });

  it("labels both ends of a range that crosses the change", () => {
    const { text } = byItem(messages, "day-2026-03-29");
    expect(text).toContain("Sunday, March 29, 2026, 1:00 AM GMT+1 – 12:00 PM GMT+2");
    const day1 = byItem(messages, "day-2026-03-28").text;
    expect(day1).toContain("Saturday, March 28, 2026, 9:00 AM – 6:00 PM GMT+1");
  });

  it("describes the session's own invite at 3:30 AM", () => {
    const { text } = byItem(messages, "day-2026-03-29-stargazing");
    expect(text).toContain("Sunday, March 29, 2026, 3:30 AM – 4:00 AM GMT+2");
  });

  it("names the zone of each agenda line in the invite's DESCRIPTION", () => {
    const ics = byItem(messages, "day-2026-03-29").calendars[0] ?? "";
    const description = ics
      .replace(/\r\n[ \t]/g, "")
      .split("\r\n")
      .find((l) => l.startsWith("DESCRIPTION"))
      ?.replace(/\\n/g, "\n")
      .replace(/\\,/g, ",");
    expect(description).toContain("Central European Standard Time");
    expect(description).toMatch(/03:30–04:00 \(Central European Summer Time\)\s+Stargazing/);
    expect(description).toMatch(/01:00–01:50\s+Night walk/);
  });
});

describe("a cohort with its own time zone", () => {
  it("puts a Tokyo cohort's 10:00 at 10:00 in Tokyo", () => {
    const def = loadEventOrThrow(BERLIN, KINDS);
    const item = itemsOf(def.event).find((i) => i.id === "partnership-workshops-tokyo-1");
    expect(item?.when.type).toBe("timed");
    if (item?.when.type !== "timed") return;
    expect(item.when.start.toUTC().toISO()).toBe("2026-04-25T01:00:00.000Z");
    expect(item.when.end.toUTC().toISO()).toBe("2026-04-25T07:00:00.000Z");
  });

  it("shows cohort session times with a zone label in the announcement", async () => {
    const messages = await messagesOf(BERLIN);
    const text = messages.find((m) => m.send.kind === "announcement")?.text ?? "";
    expect(text).toMatch(/Session 1: April 25, 2026, 10:00 AM – 4:00 PM GMT\+9/);
    expect(text).toMatch(/Session 2: April 22, 2026, 9:00 AM – 4:00 PM GMT\+2/);
  });
});

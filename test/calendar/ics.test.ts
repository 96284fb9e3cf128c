import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { buildIcs } from "../../src/calendar/build.js";
import { buildInvite } from "../../src/calendar/invite.js";
import { buildAgenda, buildSaveTheDate, publishFiles } from "../../src/calendar/publish.js";
import { itemUid } from "../../src/calendar/uid.js";
import { calendarItems } from "../../src/model/items.js";
import { caLmi, miniDef, recipient } from "./fixture.js";
import { expectChecklist, expectLayout, instantOf, parseIcs } from "./ics-checklist.js";

const STAMP = DateTime.fromISO("2017-05-16T08:12:00", { zone: "America/Los_Angeles" });
const TRICKY = "Mission Valley – Brickstones, Room “A”; 2nd floor";
const ORGANIZER = "lmi@cdefoundation.org";

describe("CA LMI: every calendar convene produces passes the checklist", () => {
  const def = caLmi();
  const member = def.audiences["team-members"]?.[0];
  if (!member) throw new Error("fixture has no team members");
  const items = calendarItems(def.event);

  it("PUBLISH files: agenda, days, series, save-the-date", () => {
    const files = publishFiles(def, { stamp: STAMP });
    expect(files.map((f) => f.filename)).toEqual([
      "ca-lmi-2017.ics",
      "day-2017-06-19.ics",
      "day-2017-06-20.ics",
      "day-2017-06-21.ics",
      "regional-cohort-training.ics",
      "abc-west-coast-lmi-2017.ics",
    ]);
    for (const f of files) expectChecklist(f.ics, { method: "PUBLISH" });
  });

  it("Day 2 agenda: every session as its own VEVENT at its Pacific time, in its room", () => {
    const { events } = parseIcs(buildAgenda(def, { stamp: STAMP, day: "day-2017-06-21" }));
    const byUid = new Map(events.map((e) => [String(e.getFirstPropertyValue("uid")), e]));
    const la = (t: string) =>
      DateTime.fromISO(`2017-06-21T${t}`, { zone: "America/Los_Angeles" }).toMillis();
    const keynote = byUid.get("day-2017-06-21-keynote.ca-lmi-2017@cdefoundation.org");
    expect(keynote && instantOf(keynote, "dtstart")).toBe(la("09:20"));
    expect(keynote && instantOf(keynote, "dtend")).toBe(la("10:30"));
    // the six breakout rooms and the five regional rooms, each its own VEVENT
    const rooms = (prefix: string) =>
      events
        .filter((e) => String(e.getFirstPropertyValue("uid")).startsWith(prefix))
        .map((e) => String(e.getFirstPropertyValue("location")).split(", DoubleTree")[0]);
    expect(rooms("day-2017-06-21-breakout-3-")).toEqual([
      "The Gallery (Main Room)",
      "Shutters East 1",
      "Shutters East 2",
      "Shutters West 1",
      "Shutters West 2",
      "Brickstones",
    ]);
    expect(rooms("day-2017-06-21-regional-discussions-")).toEqual([
      "The Gallery (Main Room)",
      "Brickstones",
      "Shutters East 2",
      "Shutters East 1",
      "Shutters West 1 & 2",
    ]);
    const families = byUid.get("day-2017-06-21-breakout-3-families.ca-lmi-2017@cdefoundation.org");
    expect(families?.getFirstPropertyValue("summary")).toBe(
      "Breakout Session 3: Families as Resources, Parents as Partners",
    );
    expect(instantOf(families as never, "dtstart")).toBe(la("10:40"));
    expect(events).toHaveLength(21);
  });

  it("the ABC save-the-date is a two-day all-day tentative item", () => {
    const { events, cal } = parseIcs(
      buildSaveTheDate(def, "abc-west-coast-lmi-2017", { stamp: STAMP }),
    );
    expect(cal.getFirstPropertyValue("method")).toBe("PUBLISH");
    const e = events[0];
    const start = e?.getFirstPropertyValue("dtstart") as { isDate: boolean; toString(): string };
    const end = e?.getFirstPropertyValue("dtend") as { isDate: boolean; toString(): string };
    expect([start.isDate, start.toString()]).toEqual([true, "2017-10-25"]);
    expect([end.isDate, end.toString()]).toEqual([true, "2017-10-27"]);
    expect(e?.getFirstPropertyValue("status")).toBe("TENTATIVE");
    expect(e?.getFirstPropertyValue("location")).toBe(
      "Holiday Inn, 7000 Beach Blvd., Buena Park, California 90620",
    );
  });

  it("Day 2 invite carries the agenda (times, speakers, rooms) and the venue", () => {
    const inv = buildInvite(def, {
      itemId: "day-2017-06-21",
      recipient: member,
      sequence: 0,
      method: "REQUEST",
      stamp: STAMP,
    });
    const e = expectChecklist(inv.ics, {
      method: "REQUEST",
      organizer: ORGANIZER,
      attendee: member.email,
    }).events[0];
    const desc = String(e?.getFirstPropertyValue("description"));
    expect(desc).toContain(
      // The title names the speaker: only the affiliation follows (issue 9, item 10).
      "09:20–10:30  Keynote Presentation: Pedro Noguera — UCLA — The Gallery",
    );
    expect(desc).toContain("    • Families as Resources, Parents as Partners — Shutters East 1");
    expect(desc).toContain("    • Los Angeles — Brickstones");
    expect(desc).toContain("15:30  Adjourn");
    expect(e?.getFirstPropertyValue("location")).toBe(
      "The Gallery, DoubleTree by Hilton San Diego – Mission Valley",
    );
  });

  it("REQUEST and CANCEL for every dated item: same UID, checklist holds", () => {
    const invitable = items.filter((i) => i.when.type !== "tbd" && i.status !== "cancelled");
    expect(invitable.length).toBeGreaterThan(25);
    for (const item of invitable) {
      const req = buildInvite(def, {
        itemId: item.id,
        recipient: member,
        sequence: 0,
        method: "REQUEST",
        stamp: STAMP,
      });
      const can = buildInvite(def, {
        itemId: item.id,
        recipient: member,
        sequence: 1,
        method: "CANCEL",
        stamp: STAMP,
      });
      const uid = itemUid(def.event, item.id);
      expect(req.uid).toBe(uid);
      expect(can.uid).toBe(uid);
      const r = expectChecklist(req.ics, {
        method: "REQUEST",
        organizer: ORGANIZER,
        attendee: member.email,
      });
      const c = expectChecklist(can.ics, {
        method: "CANCEL",
        organizer: ORGANIZER,
        attendee: member.email,
      });
      expect(r.events[0]?.getFirstPropertyValue("uid")).toBe(uid);
      expect(c.events[0]?.getFirstPropertyValue("uid")).toBe(uid);
      expect(c.events[0]?.getFirstPropertyValue("sequence")).toBeGreaterThan(
        Number(r.events[0]?.getFirstPropertyValue("sequence")),
      );
    }
  });

  it("TBD items produce nothing and cannot be invited", () => {
    const tbd = items.filter((i) => i.when.type === "tbd").map((i) => i.id);
    expect(tbd).toContain("regional-cohort-training-sacramento-1");
    const all = publishFiles(def, { stamp: STAMP })
      .map((f) => f.ics)
      .join("");
    for (const id of tbd) expect(all).not.toContain(`UID:${id}.`);
    expect(() =>
      buildInvite(def, {
        itemId: tbd[0] as string,
        recipient: member,
        sequence: 0,
        method: "REQUEST",
        stamp: STAMP,
      }),
    ).toThrow(/TBD/);
  });
});

describe("TEXT escaping and folding", () => {
  const nasty = `${TRICKY} \\ and a backslash\nand a second line`;

  it("round-trips , ; \\ newline and non-ASCII through SUMMARY, LOCATION, DESCRIPTION", () => {
    const ics = buildIcs({
      method: "PUBLISH",
      zone: "America/Los_Angeles",
      stamp: STAMP,
      events: [
        {
          uid: "x.mini-event@events.example.org",
          sequence: 0,
          summary: nasty,
          location: nasty,
          description: `${nasty}\n${"Überlänge “quoted” 🎉 ".repeat(12)}`,
          status: "CONFIRMED",
          when: { type: "all-day", startDate: "2017-06-21", endDate: "2017-06-22" },
          organizer: { name: "Org", email: "org@events.example.org" },
        },
      ],
    });
    const { events } = expectChecklist(ics, { method: "PUBLISH" });
    const e = events[0];
    expect(e?.getFirstPropertyValue("summary")).toBe(nasty);
    expect(e?.getFirstPropertyValue("location")).toBe(nasty);
    expect(e?.getFirstPropertyValue("description")).toBe(
      `${nasty}\n${"Überlänge “quoted” 🎉 ".repeat(12)}`,
    );
  });

  it("through a definition: title, venue and description", () => {
    const def = miniDef({
      title: `${TRICKY} \\ x`,
      venue: { name: TRICKY, address: "Room \\ 7; Floor 2, Wing B" },
      days: [{ id: "d1", date: "2017-06-21", description: nasty }],
    });
    const inv = buildInvite(def, {
      itemId: "d1",
      recipient: recipient("pat@example.com", 'Pat "PJ" O\'Brien'),
      sequence: 0,
      method: "REQUEST",
      stamp: STAMP,
    });
    const { events, lines } = expectChecklist(inv.ics, {
      method: "REQUEST",
      organizer: "organizer@events.example.org",
      attendee: "pat@example.com",
    });
    expect(events[0]?.getFirstPropertyValue("summary")).toBe(`${TRICKY} \\ x`);
    expect(events[0]?.getFirstPropertyValue("location")).toBe(
      `${TRICKY}, Room \\ 7; Floor 2, Wing B`,
    );
    expect(String(events[0]?.getFirstPropertyValue("description"))).toContain(nasty);
    // CN never carries a raw or backslash-escaped double quote
    const org = lines.find((l) => l.startsWith("ORGANIZER"));
    const att = lines.find((l) => l.startsWith("ATTENDEE"));
    expect(org).toContain(`CN="The 'Convene' Organizers"`);
    expect(att).toContain(`CN="Pat 'PJ' O'Brien"`);
  });

  it("folds long non-ASCII lines at 75 octets without splitting a character", () => {
    const long = "é“”🎉".repeat(60);
    const ics = buildIcs({
      method: "PUBLISH",
      zone: "UTC",
      stamp: STAMP,
      events: [
        {
          uid: "y.mini-event@events.example.org",
          sequence: 0,
          summary: long,
          status: "CONFIRMED",
          when: { type: "timed", start: STAMP, end: STAMP.plus({ hours: 1 }) },
        },
      ],
    });
    expectLayout(ics);
    expect(parseIcs(ics).events[0]?.getFirstPropertyValue("summary")).toBe(long);
    // a UTC event zone gives Z times, never TZID=UTC
    expect(ics).toMatch(/\r\nDTSTART:20170516T151200Z\r\n/);
    expect(ics).not.toContain("TZID");
  });
});

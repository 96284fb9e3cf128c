/**
 * "Add to calendar" everywhere a date is announced (issue 9, item 8): the save-the-date and the
 * announcement attach a PUBLISH .ics and carry Google and Outlook links; the letter attaches the
 * institute's agenda. The links and the file come from one function, so their instants agree;
 * this reads both back independently (ical.js, URL parsing, Luxon) and compares them.
 */
import ICAL from "ical.js";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { BERLIN, CA_LMI, type Message, messagesOf } from "../render/messages.js";

interface Link {
  service: "google" | "outlook";
  title: string;
  start: number;
  end: number;
  allDay: boolean;
  location: string | undefined;
}

/** "20261030" or "20260424T010000Z" as an instant (dates as UTC midnight, for comparing). */
function googleInstant(s: string): number {
  const dt = s.includes("T")
    ? DateTime.fromFormat(s, "yyyyMMdd'T'HHmmss'Z'", { zone: "UTC" })
    : DateTime.fromFormat(s, "yyyyMMdd", { zone: "UTC" });
  expect(dt.isValid, s).toBe(true);
  return dt.toMillis();
}

function parseLink(href: string): Link | undefined {
  const u = new URL(
    href
      .replace(/&#x3D;/g, "=")
      .replace(/&#x27;/g, "'")
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, "&"),
  );
  if (u.hostname === "calendar.google.com") {
    const [a, b] = (u.searchParams.get("dates") ?? "").split("/");
    return {
      service: "google",
      title: u.searchParams.get("text") ?? "",
      start: googleInstant(a ?? ""),
      end: googleInstant(b ?? ""),
      allDay: !(a ?? "").includes("T"),
      location: u.searchParams.get("location") ?? undefined,
    };
  }
  if (u.hostname === "outlook.live.com") {
    const allDay = u.searchParams.get("allday") === "true";
    const at = (k: string) =>
      DateTime.fromISO(u.searchParams.get(k) ?? "", { zone: "UTC" }).toMillis();
    return {
      service: "outlook",
      title: u.searchParams.get("subject") ?? "",
      start: at("startdt"),
      end: at("enddt"),
      allDay,
      location: u.searchParams.get("location") ?? undefined,
    };
  }
  return undefined;
}

function linksOf(m: Message): Link[] {
  return [...m.html.matchAll(/href="([^"]+)"/g)]
    .map((x) => x[1] as string)
    .filter((h) => /calendar\.google\.com|outlook\.live\.com/.test(h))
    .map((h) => parseLink(h))
    .filter((l): l is Link => !!l);
}

interface Vevent {
  title: string;
  start: number;
  end: number;
  allDay: boolean;
  location: string | undefined;
}

/** A DATE value as UTC midnight of that date (what the links' all-day dates are read as). */
function veventTime(t: ICAL.Time): number {
  return t.isDate ? Date.UTC(t.year, t.month - 1, t.day) : t.toJSDate().getTime();
}

function vevents(ics: string): { method: string; events: Vevent[] } {
  const cal = new ICAL.Component(ICAL.parse(ics));
  return {
    method: String(cal.getFirstPropertyValue("method")),
    events: cal.getAllSubcomponents("vevent").map((e) => {
      const start = e.getFirstPropertyValue("dtstart") as ICAL.Time;
      // A point in time (Adjourn) has no DTEND; its links end where it starts.
      const end = (e.getFirstPropertyValue("dtend") ?? start) as ICAL.Time;
      const location = e.getFirstPropertyValue("location");
      return {
        title: String(e.getFirstPropertyValue("summary")),
        start: veventTime(start),
        end: veventTime(end),
        allDay: start.isDate,
        location: location ? String(location) : undefined,
      };
    }),
  };
}

function expectLinksMatchFile(m: Message) {
  const attached = m.parsed.attachments.filter((a) => /\.ics$/i.test(a.filename ?? ""));
  expect(attached, `${m.send.step}: one .ics attached`).toHaveLength(1);
  const { method, events } = vevents(attached[0]?.content.toString("utf8") ?? "");
  expect(method).toBe("PUBLISH");
  expect(events.length).toBeGreaterThan(0);
  const links = linksOf(m);
  for (const service of ["google", "outlook"] as const) {
    const mine = links.filter((l) => l.service === service);
    expect(mine.length, `${m.send.step}: ${service} links`).toBe(events.length);
    for (const e of events) {
      const l = mine.find((x) => x.title === e.title && x.start === e.start);
      expect(l, `${m.send.step}: ${service} link for ${e.title}`).toBeDefined();
      expect(l?.end).toBe(e.end);
      expect(l?.allDay).toBe(e.allDay);
      expect(l?.location).toBe(e.location);
    }
  }
  return events;
}

describe("add to calendar", async () => {
  const berlin = await messagesOf(BERLIN);
  const ca = await messagesOf(CA_LMI);
  const of = (ms: Message[], kind: string) => ms.filter((m) => m.send.kind === kind);

  it("the save-the-date attaches an all-day PUBLISH .ics and links with its dates", () => {
    for (const m of [...of(berlin, "save-the-date"), ...of(ca, "save-the-date")]) {
      const [e] = expectLinksMatchFile(m);
      expect(e?.allDay).toBe(true);
    }
    const [vienna] = expectLinksMatchFile(of(berlin, "save-the-date")[0] as Message);
    // October 24-25: the exclusive end is October 26, across the autumn change.
    expect(vienna?.start).toBe(Date.UTC(2026, 9, 24));
    expect(vienna?.end).toBe(Date.UTC(2026, 9, 26));
  });

  it("the announcement attaches its dated sessions and links each, with the same instants", () => {
    const events = expectLinksMatchFile(of(berlin, "announcement")[0] as Message);
    const tokyo = events.find((e) => e.title.includes("Tokyo Cohort, Session 1"));
    expect(tokyo?.start).toBe(Date.parse("2026-04-25T01:00:00Z"));
    expect(tokyo?.allDay).toBe(false);
    // CA's announcement of 2017-06-23 has only TBD sessions left; the ABC institute is dated.
    const [abc, ...none] = expectLinksMatchFile(of(ca, "announcement")[0] as Message);
    expect(abc?.title).toBe("ABC West Coast Labor Management Institute");
    expect(none).toEqual([]);
  });

  it("the letter attaches the institute's agenda as a PUBLISH .ics", () => {
    for (const m of [...of(berlin, "invitation-letter"), ...of(ca, "invitation-letter")]) {
      const ics = m.parsed.attachments.filter((a) => /\.ics$/i.test(a.filename ?? ""));
      expect(ics).toHaveLength(1);
      expect(vevents(ics[0]?.content.toString("utf8") ?? "").method).toBe("PUBLISH");
      expect(m.text).toContain(ics[0]?.filename ?? "?");
    }
  });

  it("an invite still carries nothing but its own calendar", () => {
    for (const m of of(berlin, "calendar-invite")) {
      expect(m.parsed.attachments.every((a) => /calendar|ics/i.test(a.contentType))).toBe(true);
      expect(linksOf(m)).toHaveLength(0);
    }
  });
});

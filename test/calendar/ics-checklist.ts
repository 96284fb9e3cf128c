/**
 * PRODUCT.md's "Correct calendar invites" checklist, as assertions on produced iCalendar text,
 * read back with an independent parser (ical.js). Used by every calendar test.
 */
import ICAL from "ical.js";
import { expect } from "vitest";

export interface ParsedIcs {
  cal: ICAL.Component;
  events: ICAL.Component[];
  /** Unfolded content lines, for checks on the raw text. */
  lines: string[];
}

export function parseIcs(text: string): ParsedIcs {
  const cal = new ICAL.Component(ICAL.parse(text));
  const lines = text
    .replace(/\r\n[ \t]/g, "")
    .split("\r\n")
    .filter(Boolean);
  return { cal, events: cal.getAllSubcomponents("vevent"), lines };
}

/** Point 3 (layout): CRLF only, every physical line ≤ 75 octets, text ends with CRLF. */
export function expectLayout(text: string): void {
  expect(text.endsWith("\r\n")).toBe(true);
  expect(text.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
  for (const line of text.split("\r\n"))
    expect(Buffer.byteLength(line, "utf8"), `line too long: ${line}`).toBeLessThanOrEqual(75);
}

/** The instant a DTSTART/DTEND denotes, as ical.js reads it (ms since the epoch). */
export function instantOf(event: ICAL.Component, prop: "dtstart" | "dtend"): number {
  const t = event.getFirstPropertyValue(prop) as ICAL.Time;
  return t.toJSDate().getTime();
}

function paramValues(line: string, name: string): string[] {
  const re = new RegExp(`;${name}=("[^"]*"|[^;:]*)`, "gi");
  return [...line.matchAll(re)].map((m) => m[1] as string);
}

type ChecklistOptions = {
  method: "REQUEST" | "CANCEL" | "PUBLISH";
  organizer?: string;
  attendee?: string;
};

/**
 * Points 2–11 on one calendar. `method` is what the calendar must declare; for REQUEST and
 * CANCEL `organizer` is the From address and `attendee` the one recipient.
 */
export function expectChecklist(text: string, o: ChecklistOptions): ParsedIcs {
  expectLayout(text);
  const p = parseIcs(text);
  expectCalendarLevel(p, o.method);
  expectUids(p.events, o.method);
  const zones = expectZones(p);
  expectStamps(p);
  for (const e of p.events) {
    expectEventTimes(e, zones, o.method);
    expectParties(e, p.lines, o);
  }
  return p;
}

/** 2. one VCALENDAR with VERSION, PRODID and the METHOD at calendar level only */
function expectCalendarLevel({ cal, events, lines }: ParsedIcs, method: string): void {
  expect(cal.name).toBe("vcalendar");
  expect(lines.filter((l) => l === "BEGIN:VCALENDAR")).toHaveLength(1);
  expect(cal.getFirstPropertyValue("version")).toBe("2.0");
  expect(String(cal.getFirstPropertyValue("prodid"))).toMatch(/^-\/\/.+\/\/.+\/\/[A-Z]{2}$/);
  expect(cal.getFirstPropertyValue("method")).toBe(method);
  for (const e of events) expect(e.getFirstProperty("method")).toBeNull();
  expect(events.length).toBeGreaterThan(0);
}

/** 4. stable UIDs; one UID per iTIP message; distinct UIDs in a PUBLISH file */
function expectUids(events: ICAL.Component[], method: string): void {
  const uids = events.map((e) => String(e.getFirstPropertyValue("uid")));
  for (const u of uids) expect(u).toMatch(/^[a-z0-9-]+\.[a-z0-9-]+@[a-z0-9.-]+$/);
  if (method === "PUBLISH") expect(new Set(uids).size).toBe(uids.length);
  else expect(new Set(uids).size).toBe(1);
}

/** 8. no TZID=UTC, every TZID has its VTIMEZONE in this object; gives the zones defined. */
function expectZones({ cal, lines }: ParsedIcs): Set<string> {
  expect(lines.some((l) => /TZID=(?:"?)(?:Etc\/)?UTC/i.test(l))).toBe(false);
  const zones = new Set(
    cal.getAllSubcomponents("vtimezone").map((z) => String(z.getFirstPropertyValue("tzid"))),
  );
  for (const l of lines) for (const tz of paramValues(l, "TZID")) expect(zones).toContain(tz);
  return zones;
}

/** 5. DTSTAMP is UTC with Z (one per VEVENT) */
function expectStamps({ events, lines }: ParsedIcs): void {
  const stamps = lines.filter((l) => l.startsWith("DTSTAMP"));
  expect(stamps).toHaveLength(events.length);
  for (const l of stamps) expect(l).toMatch(/^DTSTAMP:\d{8}T\d{6}Z$/);
}

/** 7, 8 (no floating times), 9 and 11, for one VEVENT. */
function expectEventTimes(e: ICAL.Component, zones: Set<string>, method: string): void {
  expect(Number.isInteger(e.getFirstPropertyValue("sequence"))).toBe(true);

  const start = e.getFirstPropertyValue("dtstart") as ICAL.Time;
  const end = e.getFirstPropertyValue("dtend") as ICAL.Time | null;
  expect(start).toBeTruthy();
  // a DATE-TIME is UTC or in a zone defined in this object (ical.js says "floating" otherwise)
  for (const t of [start, end])
    if (t && !t.isDate) {
      const tzid = t.zone?.tzid ?? "floating";
      expect(tzid === "UTC" || zones.has(tzid), `zone ${tzid}`).toBe(true);
    }
  // 9. all-day: VALUE=DATE with exclusive DTEND (> DTSTART)
  if (start.isDate) {
    expect(end?.isDate).toBe(true);
    expect(end?.compare(start)).toBe(1);
  }
  if (end) expect(instantOf(e, "dtend")).toBeGreaterThan(instantOf(e, "dtstart"));

  const status = e.getFirstPropertyValue("status");
  if (method === "REQUEST") {
    // 7. DTSTART and DTEND, DTEND after DTSTART, STATUS CONFIRMED or TENTATIVE
    expect(end).toBeTruthy();
    expect(["CONFIRMED", "TENTATIVE"]).toContain(status);
  }
  if (method === "CANCEL") {
    // 11. STATUS:CANCELLED and no VALARM
    expect(status).toBe("CANCELLED");
  }
  if (method !== "PUBLISH") expect(e.getAllSubcomponents("valarm")).toHaveLength(0);
}

/** 6. ORGANIZER mailto with CN, = From; ATTENDEE with ROLE, PARTSTAT, RSVP, not the organizer */
function expectParties(e: ICAL.Component, lines: string[], o: ChecklistOptions): void {
  const orgLines = lines.filter((l) => /^ORGANIZER[;:]/.test(l));
  const attLines = lines.filter((l) => /^ATTENDEE[;:]/.test(l));
  for (const l of [...orgLines, ...attLines]) {
    // no raw (or backslash-escaped) double quote inside a CN
    const cn = paramValues(l, "CN");
    for (const v of cn) expect(v).toMatch(/^"[^"\\]*"$|^[^"\\]*$/);
  }
  if (o.method === "PUBLISH") {
    // a PUBLISH names its ORGANIZER (RFC 5546 §3.2.1) and asks nobody to reply
    expect(String(e.getFirstPropertyValue("organizer"))).toMatch(/^mailto:.+@/);
    expect(e.getAllProperties("attendee")).toHaveLength(0);
    return;
  }
  const org = e.getFirstProperty("organizer");
  expect(org).toBeTruthy();
  expect(String(org?.getFirstValue())).toBe(`mailto:${o.organizer}`);
  expect(org?.getParameter("cn")).toBeTruthy();
  const atts = e.getAllProperties("attendee");
  expect(atts.length).toBeGreaterThanOrEqual(1);
  for (const a of atts) expectAttendee(a, o);
}

function expectAttendee(a: ICAL.Property, o: ChecklistOptions): void {
  expect(String(a.getFirstValue()).toLowerCase()).toBe(`mailto:${o.attendee}`.toLowerCase());
  expect(String(a.getFirstValue()).toLowerCase()).not.toBe(`mailto:${o.organizer}`.toLowerCase());
  expect(a.getParameter("role")).toBe("REQ-PARTICIPANT");
  expect(a.getParameter("partstat")).toBe("NEEDS-ACTION");
  expect(a.getParameter("rsvp")).toBe("TRUE");
  expect(a.getParameter("cn")).toBeTruthy();
}

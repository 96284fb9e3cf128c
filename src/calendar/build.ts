/**
 * The one place iCalendar text is produced. Everything else (invites, agenda files,
 * save-the-dates) describes VEVENTs as data and calls `buildIcs`.
 *
 * ical-generator does the component layout, TEXT escaping and folding; convene works around the
 * few places where its output is wrong for iTIP mail (each marked "why" below) and then checks
 * the result, so a regression in the library fails loudly instead of reaching a calendar.
 */

import ical, {
  ICalAttendeeRole,
  ICalAttendeeStatus,
  ICalAttendeeType,
  type ICalCalendar,
  ICalCalendarMethod,
  type ICalEvent,
  ICalEventStatus,
  ICalEventTransparency,
} from "ical-generator";
import { DateTime } from "luxon";
import type { IcsMethod } from "../types.js";
import { fold, propName, unfold } from "./ics-text.js";
import { isUtcZone, vtimezone, wallTimeIsUnambiguous, zoneRulesAgree } from "./vtimezone.js";

export type Method = IcsMethod;
export type IcsStatus = "CONFIRMED" | "TENTATIVE" | "CANCELLED";

export type VEventWhen =
  /** `end` absent: a point in time (RFC 5545 allows DTSTART alone). */
  | { type: "timed"; start: DateTime; end?: DateTime }
  /** `endDate` is exclusive (the day after the last day), as DTEND;VALUE=DATE requires. */
  | { type: "all-day"; startDate: string; endDate: string };

export interface Person {
  name: string;
  email: string;
}

export interface VEventInput {
  uid: string;
  sequence: number;
  summary: string;
  description?: string;
  location?: string;
  status: IcsStatus;
  when: VEventWhen;
  organizer?: Person;
  attendees?: Person[];
  url?: string;
  /** Save-the-dates should not block time in anyone's calendar. */
  transparent?: boolean;
}

export interface IcsInput {
  method: Method;
  /** The event's IANA zone: timed values are written as wall times in it, with its VTIMEZONE. */
  zone: string;
  /** DTSTAMP: passed in, so the same input always gives the same bytes. */
  stamp: DateTime;
  events: VEventInput[];
  /** Calendar name for PUBLISH files (NAME / X-WR-CALNAME). */
  name?: string;
}

export const PRODID = "//convene//convene calendar 0.1//EN";

/**
 * A CN parameter value is a quoted-string, which cannot contain `"` at all (RFC 5545 §3.2 has
 * no escape for it); ical-generator writes `\"`, which clients read as a stray backslash and an
 * end quote. Backslashes are likewise not escapes in parameters, and `^` starts an RFC 6868
 * escape. So those characters are replaced before the name reaches the library.
 */
export function safeCn(name: string): string {
  return name
    .replace(/"/g, "'")
    .replace(/\\/g, "/")
    .replace(/\^/g, "'")
    .replace(/\p{Cc}/gu, " ")
    .trim();
}

/**
 * Whether a timed event can be written as TZID'd wall times: the zone is a real zone (not UTC
 * by another name, which is written with `Z` so `TZID=UTC` never appears), its VTIMEZONE gives
 * the same offsets as Luxon for these instants, and each wall time is unambiguous. Otherwise
 * the event is written in UTC: still exact, only less pretty in a text editor.
 */
function writeInZone(zone: string, instants: DateTime[]): boolean {
  return (
    !isUtcZone(zone) &&
    zoneRulesAgree(zone, instants) &&
    instants.every((t) => wallTimeIsUnambiguous(zone, t))
  );
}

function dateValue(date: string): DateTime {
  // A fixed-offset zone makes ical-generator print the date as given (it converts only
  // "system"-zone values), independent of the server's TZ.
  return DateTime.fromISO(date, { zone: "UTC" });
}

export function buildIcs(input: IcsInput): string {
  return fold(buildIcsLines(input));
}

/**
 * buildIcs before folding: the checked content lines. The invite template (invite-template.ts)
 * folds all but its per-recipient lines once and reuses them.
 */
export function buildIcsLines(input: IcsInput): string[] {
  const cal = ical({
    prodId: PRODID,
    method: ICalCalendarMethod[input.method],
    // Why no calendar-level timezone name: with one set, ical-generator writes DTSTAMP (and
    // CREATED/LAST-MODIFIED) as local times without `Z`, which RFC 5545 forbids; it also adds
    // non-standard TIMEZONE-ID/X-WR-TIMEZONE lines. The generator alone is enough for it to
    // emit one VTIMEZONE per zone that events actually use.
    timezone: { name: null, generator: (tz: string) => vtimezone(tz) },
    ...(input.name ? { name: input.name } : {}),
  });
  const stamp = input.stamp.toUTC();
  for (const e of input.events) addEvent(cal, e, input.zone, stamp);

  const lines = unfold(cal.toString()).map((line) =>
    // ical-generator writes ATTENDEE values as `MAILTO:` but ORGANIZER as `mailto:`; the
    // scheme is case-insensitive, yet some validators and our own checks compare literally.
    propName(line) === "ATTENDEE" ? line.replace(/:MAILTO:(?=[^:]*$)/, ":mailto:") : line,
  );
  check(lines);
  return lines;
}

function addEvent(cal: ICalCalendar, e: VEventInput, zone: string, stamp: DateTime): void {
  const ev = cal.createEvent({
    id: e.uid,
    // Replaced below; the library requires a start up front.
    start: stamp,
    sequence: e.sequence,
    stamp,
    summary: e.summary,
    status: ICalEventStatus[e.status],
    ...(e.description ? { description: e.description } : {}),
    ...(e.location ? { location: e.location } : {}),
    ...(e.url ? { url: e.url } : {}),
    ...(e.transparent ? { transparency: ICalEventTransparency.TRANSPARENT } : {}),
  });
  setWhen(ev, e.when, zone);
  if (e.organizer) ev.organizer({ name: safeCn(e.organizer.name), email: e.organizer.email });
  for (const a of e.attendees ?? [])
    ev.createAttendee({
      email: a.email,
      name: safeCn(a.name),
      role: ICalAttendeeRole.REQ,
      status: ICalAttendeeStatus.NEEDSACTION,
      type: ICalAttendeeType.INDIVIDUAL,
      rsvp: true,
    });
}

function setWhen(ev: ICalEvent, when: VEventWhen, eventZone: string): void {
  if (when.type === "all-day") {
    ev.allDay(true);
    ev.start(dateValue(when.startDate));
    ev.end(dateValue(when.endDate));
    return;
  }
  const instants = when.end ? [when.start, when.end] : [when.start];
  // Luxon values, never native Dates: with a Date plus a timezone ical-generator takes
  // the wall time from the server's TZ.
  const zone = writeInZone(eventZone, instants) ? eventZone : "UTC";
  if (zone !== "UTC") ev.timezone(zone);
  ev.start(when.start.setZone(zone));
  ev.end(when.end ? when.end.setZone(zone) : null);
}

/** Invariants no calendar may leave convene without; a failure is a bug, not bad input. */
function check(lines: string[]): void {
  const zones = new Set(lines.filter((l) => l.startsWith("TZID:")).map((l) => l.slice(5)));
  let inTimezone = false;
  for (const l of lines) {
    if (l === "BEGIN:VTIMEZONE") inTimezone = true;
    if (l === "END:VTIMEZONE") inTimezone = false;
    // VTIMEZONE observances are local times by definition.
    if (!inTimezone) checkLine(l, zones);
  }
}

function checkLine(l: string, zones: Set<string>): void {
  const name = propName(l);
  if (name === "DTSTAMP" && !/^DTSTAMP:\d{8}T\d{6}Z$/.test(l))
    throw new Error(`calendar: DTSTAMP must be UTC: ${l}`);
  const tzid = /;TZID=([^;:]+)/.exec(l)?.[1];
  if (tzid && (isUtcZone(tzid) || !zones.has(tzid)))
    throw new Error(`calendar: ${name} uses TZID=${tzid} without a VTIMEZONE`);
  if (/^(DTSTART|DTEND)(;TZID=[^:;]+)?:\d{8}T\d{6}$/.test(l) && !l.includes("TZID="))
    throw new Error(`calendar: floating time in ${l}`);
}

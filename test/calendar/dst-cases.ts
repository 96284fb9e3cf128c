/**
 * Wall times around DST changes, and what the calendar must turn them into. Shared by the
 * in-process tests and the child process that runs under different TZ settings.
 */
import { DateTime } from "luxon";
import { buildInvite } from "../../src/calendar/invite.js";
import { buildAgenda } from "../../src/calendar/publish.js";
import type { EventDefinition } from "../../src/model/types.js";
import { miniDef, recipient } from "./fixture.js";
import { instantOf, parseIcs } from "./ics-checklist.js";

export interface WallCase {
  zone: string;
  date: string;
  start: string;
  end: string;
  /** Written as a TZID'd wall time (true) or, where the zone's VTIMEZONE or the wall time itself is unreliable, in UTC. */
  tzid: boolean;
}

export const CASES: WallCase[] = [
  // Los Angeles, spring forward on Sunday 2017-03-12 at 02:00
  { zone: "America/Los_Angeles", date: "2017-03-11", start: "09:00", end: "17:00", tzid: true },
  { zone: "America/Los_Angeles", date: "2017-03-12", start: "09:00", end: "17:00", tzid: true },
  { zone: "America/Los_Angeles", date: "2017-03-12", start: "00:30", end: "03:30", tzid: true },
  // Los Angeles, fall back on Sunday 2017-11-05 at 02:00
  { zone: "America/Los_Angeles", date: "2017-11-04", start: "09:00", end: "17:00", tzid: true },
  { zone: "America/Los_Angeles", date: "2017-11-05", start: "09:00", end: "17:00", tzid: true },
  { zone: "America/Los_Angeles", date: "2017-11-05", start: "00:30", end: "03:00", tzid: true },
  // 01:30 happens twice on 2017-11-05: clients disagree on which, so it is written in UTC
  { zone: "America/Los_Angeles", date: "2017-11-05", start: "01:30", end: "04:00", tzid: false },
  // The June institute days
  { zone: "America/Los_Angeles", date: "2017-06-21", start: "09:00", end: "15:30", tzid: true },
  // Sao Paulo: no DST since 2019; its VTIMEZONE has a single -03:00 rule
  { zone: "America/Sao_Paulo", date: "2025-11-09", start: "09:00", end: "17:00", tzid: true },
  { zone: "America/Sao_Paulo", date: "2025-02-16", start: "09:00", end: "17:00", tzid: true },
  // ...but in November 2018 Brazil was on DST (-02:00), which that block cannot express:
  // written in UTC so the instant is still right.
  { zone: "America/Sao_Paulo", date: "2018-11-05", start: "09:00", end: "17:00", tzid: false },
  { zone: "Europe/Berlin", date: "2017-03-26", start: "09:00", end: "17:00", tzid: true },
];

export function caseDef(c: WallCase): EventDefinition {
  return miniDef({
    id: "dst-case",
    timezone: c.zone,
    days: [{ id: "the-day", date: c.date, start: c.start, end: c.end }],
  });
}

export const STAMP = DateTime.fromISO("2017-01-10T09:00:00Z");

/** The calendars produced for a case: the REQUEST invite and the PUBLISH agenda. */
export function caseCalendars(c: WallCase): { invite: string; agenda: string } {
  const def = caseDef(c);
  const invite = buildInvite(def, {
    itemId: "the-day",
    recipient: recipient("pat@example.com", "Pat"),
    sequence: 0,
    method: "REQUEST",
    stamp: STAMP,
  }).ics;
  return { invite, agenda: buildAgenda(def, { stamp: STAMP }) };
}

/** What ical.js reads back: [start, end] in ms since the epoch, for each calendar. */
export function caseInstants(c: WallCase): { invite: number[]; agenda: number[] } {
  const cals = caseCalendars(c);
  const read = (ics: string) => {
    const e = parseIcs(ics).events[0];
    if (!e) throw new Error("no VEVENT");
    return [instantOf(e, "dtstart"), instantOf(e, "dtend")];
  };
  return { invite: read(cals.invite), agenda: read(cals.agenda) };
}

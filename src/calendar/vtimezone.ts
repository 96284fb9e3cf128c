/**
 * VTIMEZONE blocks, and the check that decides whether a time may be written with a TZID at all.
 *
 * The blocks come from `timezones-ical-library`, which carries the current IANA rules (the
 * often-suggested `@touch4it/ical-timezones` ships 2018 rules). Those blocks describe only the
 * rules in force today, projected back to 1970: America/Sao_Paulo's block has no DST at all,
 * although Brazil observed DST until 2019. A calendar client reading `TZID=America/Sao_Paulo`
 * for a November 2017 time would therefore land an hour off. So before an instant is written as
 * a TZID'd wall time, `zoneRulesAgree` evaluates the block's own rules and compares them with
 * Luxon's (which knows the history); where they differ the builder writes that event in UTC
 * instead, which every client reads the same way.
 *
 * The block's rules are evaluated by ical.js (ICAL.Timezone), as a client would read them. It
 * replaced a hand-written RRULE reader after giving the same offsets in every zone the examples
 * and the DST cases use (test/calendar/tidy-vtimezone-icaljs.test.ts).
 */
import ICAL from "ical.js";
import { DateTime, IANAZone } from "luxon";
import { tzlib_get_ical_block } from "timezones-ical-library";

const UTC_NAMES = /^(?:Etc\/)?(?:UTC|UCT|GMT|Zulu|Universal|Greenwich)(?:[+-]0)?$/i;

/** Zones that are UTC under another name: they are written with `Z`, never as `TZID=UTC`. */
export function isUtcZone(zone: string): boolean {
  return UTC_NAMES.test(zone);
}

const blocks = new Map<string, string | null>();

/** The VTIMEZONE block (CRLF lines, no trailing CRLF) for an IANA zone, or null if unknown. */
export function vtimezone(zone: string): string | null {
  if (!blocks.has(zone)) {
    const r = tzlib_get_ical_block(zone);
    const block = Array.isArray(r) ? r[0] : undefined;
    blocks.set(
      zone,
      block?.startsWith("BEGIN:VTIMEZONE") && block.includes(`TZID:${zone}\r\n`) ? block : null,
    );
  }
  return blocks.get(zone) ?? null;
}

const icalZones = new Map<string, ICAL.Timezone | null>();

/** The zone's block as ical.js reads it, or null when there is none or it does not parse. */
function icalZone(zone: string): ICAL.Timezone | null {
  if (!icalZones.has(zone)) {
    const block = vtimezone(zone);
    let tz: ICAL.Timezone | null = null;
    try {
      const cal = new ICAL.Component(
        ICAL.parse(`BEGIN:VCALENDAR\r\n${block}\r\nEND:VCALENDAR\r\n`),
      );
      const component = cal.getFirstSubcomponent("vtimezone");
      if (block && component) tz = new ICAL.Timezone(component);
    } catch {
      // An unreadable block fails safe: zoneRulesAgree says no, and the event is written in UTC.
    }
    icalZones.set(zone, tz);
  }
  return icalZones.get(zone) ?? null;
}

/**
 * The UTC offset (minutes) the zone's VTIMEZONE block gives the instant's wall time in the zone,
 * which is what a client reading `TZID=<zone>:<wall time>` does; undefined without a block.
 */
export function blockOffsetAt(zone: string, ms: number): number | undefined {
  const tz = icalZone(zone);
  if (!tz) return undefined;
  const w = DateTime.fromMillis(ms, { zone });
  const wall = new ICAL.Time(
    { year: w.year, month: w.month, day: w.day, hour: w.hour, minute: w.minute, second: w.second },
    tz,
  );
  return tz.utcOffset(wall) / 60;
}

/**
 * True when the zone's VTIMEZONE gives every instant the same UTC offset as Luxon, so that a
 * client reading the TZID'd wall time arrives at the same instant.
 */
export function zoneRulesAgree(zone: string, instants: readonly DateTime[]): boolean {
  const z = IANAZone.create(zone);
  return instants.every((t) => {
    const ms = t.toMillis();
    const offset = blockOffsetAt(zone, ms);
    return offset !== undefined && offset === z.offset(ms);
  });
}

/**
 * True when the instant's wall time in the zone occurs exactly once: not in a spring-forward gap
 * and not in the repeated hour of a fall-back. Clients disagree on how to read such wall times
 * (RFC 5545 says "first occurrence", several do otherwise), so those are written in UTC.
 */
export function wallTimeIsUnambiguous(zone: string, t: DateTime): boolean {
  const local = t.setZone(zone);
  const wallMs = DateTime.fromObject(
    {
      year: local.year,
      month: local.month,
      day: local.day,
      hour: local.hour,
      minute: local.minute,
      second: local.second,
    },
    { zone: "UTC" },
  ).toMillis();
  const z = IANAZone.create(zone);
  const offsets = new Set([z.offset(wallMs - 36 * 3600_000), z.offset(wallMs + 36 * 3600_000)]);
  const matches = [...offsets].filter((off) => {
    const ms = wallMs - off * 60_000;
    return z.offset(ms) === off;
  });
  return matches.length === 1;
}

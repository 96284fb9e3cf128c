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
 * The rule evaluation is hand-written because the one library that does it (ical.js) is a
 * dev dependency here; the library's blocks use only one shape of rule (STANDARD/DAYLIGHT with
 * DTSTART and an optional `RRULE:FREQ=YEARLY;BYMONTH=m;BYDAY=nDD`), which is all this handles,
 * and anything else makes the check fail safe (UTC output).
 */
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

interface Observance {
  /** Minutes east of UTC before and after the onset. */
  from: number;
  to: number;
  /** Local wall time of the first onset, e.g. 1970-03-08T02:00. */
  start: { year: number; month: number; day: number; hour: number; minute: number };
  rule?: { month: number; nth: number; weekday: number };
}

const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

function offsetMinutes(s: string): number {
  const m = /^([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) throw new Error(`bad offset ${s}`);
  return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

function parseObservances(block: string): Observance[] | null {
  const out: Observance[] = [];
  const parts = block.split(/\r\nBEGIN:(?:STANDARD|DAYLIGHT)\r\n/).slice(1);
  for (const part of parts) {
    const props = new Map<string, string>();
    for (const line of part.split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0) props.set(line.slice(0, i), line.slice(i + 1));
    }
    const from = props.get("TZOFFSETFROM");
    const to = props.get("TZOFFSETTO");
    const start = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})\d{2}$/.exec(props.get("DTSTART") ?? "");
    if (!from || !to || !start) return null;
    const o: Observance = {
      from: offsetMinutes(from),
      to: offsetMinutes(to),
      start: {
        year: Number(start[1]),
        month: Number(start[2]),
        day: Number(start[3]),
        hour: Number(start[4]),
        minute: Number(start[5]),
      },
    };
    const rrule = props.get("RRULE");
    if (rrule) {
      const r = /^FREQ=YEARLY;BYMONTH=(\d+);BYDAY=(-?\d)(MO|TU|WE|TH|FR|SA|SU)$/.exec(rrule);
      if (!r) return null;
      o.rule = {
        month: Number(r[1]),
        nth: Number(r[2]),
        weekday: WEEKDAYS.indexOf(r[3] as string) + 1,
      };
    }
    if ([...props.keys()].some((k) => k === "RDATE")) return null;
    out.push(o);
  }
  return out.length ? out : null;
}

const onsets = new WeakMap<Observance, Map<number, number | null>>();

/** The UTC millisecond at which an observance begins in a given year, or null (memoized). */
function onset(o: Observance, year: number): number | null {
  let byYear = onsets.get(o);
  if (!byYear) {
    byYear = new Map();
    onsets.set(o, byYear);
  }
  if (!byYear.has(year)) byYear.set(year, computeOnset(o, year));
  return byYear.get(year) ?? null;
}

function computeOnset(o: Observance, year: number): number | null {
  const { hour, minute } = o.start;
  let local: DateTime;
  if (!o.rule) {
    if (year !== o.start.year) return null;
    local = DateTime.fromObject({ ...o.start }, { zone: "UTC" });
  } else {
    if (year < o.start.year) return null;
    const first = DateTime.fromObject({ year, month: o.rule.month, day: 1 }, { zone: "UTC" });
    let day: DateTime;
    if (o.rule.nth > 0) {
      const shift = (o.rule.weekday - first.weekday + 7) % 7;
      day = first.plus({ days: shift + 7 * (o.rule.nth - 1) });
    } else {
      const last = first.endOf("month").startOf("day");
      const shift = (last.weekday - o.rule.weekday + 7) % 7;
      day = last.minus({ days: shift + 7 * (-o.rule.nth - 1) });
    }
    local = day.set({ hour, minute });
  }
  // The onset's wall time is read with the offset in force before it (TZOFFSETFROM).
  return local.toMillis() - o.from * 60_000;
}

/** The UTC offset (minutes) that a VTIMEZONE block assigns to an instant. */
function blockOffset(obs: Observance[], ms: number): number {
  const year = new Date(ms).getUTCFullYear();
  let best: { at: number; to: number } | undefined;
  for (const o of obs)
    for (const y of [year - 1, year, year + 1]) {
      const at = onset(o, y);
      if (at !== null && at <= ms && (!best || at > best.at)) best = { at, to: o.to };
    }
  // Before the first onset the zone is at the earliest observance's TZOFFSETFROM.
  return best?.to ?? obs[0]?.from ?? 0;
}

const parsed = new Map<string, Observance[] | null>();

/**
 * The UTC offset (minutes) the zone's VTIMEZONE block gives an instant, by our own reading of
 * its rules; undefined when there is no block or it has a shape we do not read.
 */
export function blockOffsetAt(zone: string, ms: number): number | undefined {
  const block = vtimezone(zone);
  if (!block) return undefined;
  if (!parsed.has(zone)) parsed.set(zone, parseObservances(block));
  const obs = parsed.get(zone);
  return obs ? blockOffset(obs, ms) : undefined;
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

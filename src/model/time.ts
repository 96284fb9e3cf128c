import { DateTime, Duration, IANAZone } from "luxon";

export const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
export const TIME_RE = /^([01]?\d|2[0-3]):([0-5]\d)$/;
export const LOCAL_DATETIME_RE = /^(\d{4}-\d{2}-\d{2})[T ]([01]?\d|2[0-3]):([0-5]\d)$/;

export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

export function isValidDate(date: string): boolean {
  return DATE_RE.test(date) && DateTime.fromISO(date, { zone: "UTC" }).isValid;
}

/**
 * Turns a wall-clock time in an IANA zone into an instant, following RFC 5545 §3.3.5 so that
 * convene and every calendar client agree on what a TZID'd time means:
 *  - a time that occurs twice (autumn fall-back) is the FIRST occurrence (daylight time);
 *  - a time that does not exist (spring gap) is read with the offset in force before the gap,
 *    so 02:30 on the spring-forward day in Los Angeles becomes 03:30 PDT.
 * Luxon alone picks the second occurrence for ambiguous times, hence this wrapper. The server's
 * own TZ never takes part: everything is computed from the zone name.
 */
export function localToInstant(date: string, time: string, zone: string): DateTime {
  const [h, m] = time.split(":").map(Number) as [number, number];
  const wall = DateTime.fromISO(date, { zone: "UTC" }).set({ hour: h, minute: m });
  const wallMs = wall.toMillis();
  const z = IANAZone.create(zone);
  const before = z.offset(wallMs - 36 * 3600_000);
  const after = z.offset(wallMs + 36 * 3600_000);
  const candidates = [...new Set([before, after])]
    .map((off) => wallMs - off * 60_000)
    .filter((ms) => {
      const local = DateTime.fromMillis(ms, { zone });
      return local.hour === h && local.minute === m && local.toISODate() === date;
    })
    .sort((a, b) => a - b);
  const ms = candidates[0] ?? wallMs - before * 60_000;
  return DateTime.fromMillis(ms, { zone });
}

/** Start of a local calendar day. Midnight can itself fall in a DST gap in some zones. */
export function startOfLocalDay(date: string, zone: string): DateTime {
  return localToInstant(date, "00:00", zone);
}

/** A deadline date means the end of that day in the event's zone: the next day's midnight. */
export function endOfLocalDay(date: string, zone: string): DateTime {
  const next = DateTime.fromISO(date, { zone: "UTC" }).plus({ days: 1 }).toISODate() as string;
  return startOfLocalDay(next, zone);
}

export function addDays(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: "UTC" }).plus({ days }).toISODate() as string;
}

/**
 * Durations as organizers write them: `7d`, `-36h`, `1d12h`, `90m`, or ISO 8601 (`P7D`).
 * Luxon parses ISO only; the short form is a tiny regex rather than a dependency.
 */
const SHORT_DURATION_RE = /^([+-])?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/;

export interface ParsedDuration {
  sign: 1 | -1;
  /** Calendar days (a week is 7), applied in the local zone so DST days stay days. */
  days: number;
  /** Clock minutes, applied as elapsed time. */
  minutes: number;
}

export function parseDuration(text: string): ParsedDuration | null {
  const s = text.trim();
  if (s === "0") return { sign: 1, days: 0, minutes: 0 };
  const short = SHORT_DURATION_RE.exec(s);
  if (short && s.replace(/^[+-]/, "") !== "") {
    const [, sign, w, d, h, m] = short;
    return {
      sign: sign === "-" ? -1 : 1,
      days: Number(w ?? 0) * 7 + Number(d ?? 0),
      minutes: Number(h ?? 0) * 60 + Number(m ?? 0),
    };
  }
  const negative = s.startsWith("-");
  const iso = Duration.fromISO(negative ? s.slice(1) : s);
  if (!iso.isValid) return null;
  const o = iso.shiftTo("days", "minutes").toObject();
  return { sign: negative ? -1 : 1, days: o.days ?? 0, minutes: Math.round(o.minutes ?? 0) };
}

export function applyDuration(dt: DateTime, d: ParsedDuration): DateTime {
  return dt.plus({ days: d.sign * d.days }).plus({ minutes: d.sign * d.minutes });
}

export function durationMillis(d: ParsedDuration): number {
  return d.sign * (d.days * 86_400_000 + d.minutes * 60_000);
}

const MILLIS = new Map<string, number>();
const MILLIS_KEPT = 10_000;

/**
 * `Date.parse`, remembered. A plan's due and expiry instants are a few strings shared by every
 * send of a step occurrence (planner/plan.ts computes them once per zone and anchor), and a tick
 * over 100,000 sends parsed them some 800,000 times: a quarter of a second, against a Map lookup
 * of a string whose hash V8 keeps. Bounded, for a plan whose instants are all different.
 */
export function isoMillis(iso: string): number {
  let ms = MILLIS.get(iso);
  if (ms === undefined) {
    if (MILLIS.size >= MILLIS_KEPT) MILLIS.clear();
    ms = Date.parse(iso);
    MILLIS.set(iso, ms);
  }
  return ms;
}

/**
 * When a step fires for one recipient. Rules (documented in the README):
 *  - `at` is a wall-clock time in the event's zone (or the recipient's with `zone: recipient`).
 *  - A date anchor (registration deadline) means the END of that local day.
 *  - With a fixed `time`, the offset's days count from the anchor's local DATE, then the time of
 *    day is set: "-1d at 09:00" before a May 26 deadline is May 25 09:00.
 *  - Without `time`, the offset is added to the anchor instant: days as calendar days in the
 *    zone (so a DST night is still "one day"), hours and minutes as elapsed time.
 *  - Wall-clock times that fall in a DST gap or overlap follow RFC 5545 (see localToInstant).
 */
import type { DateTime } from "luxon";
import { type CalendarItem, itemStart } from "../model/items.js";
import type { EventSpec, SendWindowSpec, TriggerSpec } from "../model/schema.js";
import {
  addDays,
  applyDuration,
  endOfLocalDay,
  LOCAL_DATETIME_RE,
  localToInstant,
  parseDuration,
  startOfLocalDay,
} from "../model/time.js";

export interface TriggerContext {
  event: EventSpec;
  items: ReadonlyMap<string, CalendarItem>;
  /** The zone wall-clock values are read in for this recipient. */
  zone: string;
  /** When the recipient's team registered, for the `registration` anchor. */
  registeredAt?: DateTime;
}

interface Anchor {
  instant: DateTime;
  /** The anchor's local calendar date, for `time`-fixed triggers. */
  date: string;
}

/** `item:<id>`: the item's start; TBD items (and unknown ids) have no anchor yet. */
function itemAnchor(name: string, ctx: TriggerContext): Anchor | undefined {
  const tz = ctx.event.timezone;
  const item = ctx.items.get(name.replace(/^item:/, ""));
  if (!item || item.when.type === "tbd") return undefined;
  const instant = itemStart(item, tz) as DateTime;
  const date =
    item.when.type === "all-day"
      ? item.when.startDate
      : (instant.setZone(tz).toISODate() as string);
  return { instant, date };
}

function anchorOf(name: string, ctx: TriggerContext): Anchor | undefined {
  const ev = ctx.event;
  const tz = ev.timezone;
  switch (name) {
    case "registration-deadline":
      return {
        instant: endOfLocalDay(ev.registration.deadline, tz),
        date: ev.registration.deadline,
      };
    case "event-start": {
      const first = [...ev.days].sort((a, b) => a.date.localeCompare(b.date))[0];
      if (!first) return undefined;
      const instant = first.start
        ? localToInstant(first.date, first.start, tz)
        : startOfLocalDay(first.date, tz);
      return { instant, date: first.date };
    }
    case "event-end": {
      const last = [...ev.days].sort((a, b) => b.date.localeCompare(a.date))[0];
      if (!last) return undefined;
      const instant = last.end
        ? localToInstant(last.date, last.end, tz)
        : endOfLocalDay(last.date, tz);
      return { instant, date: last.date };
    }
    case "registration":
      if (!ctx.registeredAt) return undefined;
      return {
        instant: ctx.registeredAt,
        date: ctx.registeredAt.setZone(ctx.zone).toISODate() as string,
      };
    default:
      return itemAnchor(name, ctx);
  }
}

/** The due instant, or undefined when the anchor is not known yet (TBD item, team not registered). */
export function dueTime(t: TriggerSpec, ctx: TriggerContext): DateTime | undefined {
  if (t.at) {
    const m = LOCAL_DATETIME_RE.exec(t.at) as RegExpExecArray;
    return localToInstant(m[1] as string, `${m[2]}:${m[3]}`, ctx.zone);
  }
  const anchor = anchorOf(t.anchor as string, ctx);
  if (!anchor) return undefined;
  const offset = parseDuration(t.offset ?? "0") ?? { sign: 1, days: 0, minutes: 0 };
  if (t.time)
    return localToInstant(addDays(anchor.date, offset.sign * offset.days), t.time, ctx.zone);
  return applyDuration(anchor.instant.setZone(ctx.zone), offset);
}

const WEEKDAY_NUMBERS: Record<string, number> = {
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
  sun: 7,
};

/**
 * Moves a due time forward into the step's send window (e.g. weekdays 08:00–18:00 local): a send
 * due at 22:00 Friday waits until 08:00 Monday. Never moves a send earlier.
 */
export function intoSendWindow(due: DateTime, w: SendWindowSpec, zone: string): DateTime {
  const days = new Set((w.days ?? Object.keys(WEEKDAY_NUMBERS)).map((d) => WEEKDAY_NUMBERS[d]));
  const local = due.setZone(zone);
  for (let i = 0; i < 8; i++) {
    const date = local.plus({ days: i }).toISODate() as string;
    const weekday = localToInstant(date, "12:00", zone).weekday;
    if (!days.has(weekday)) continue;
    const open = localToInstant(date, w.start, zone);
    const close = localToInstant(date, w.end, zone);
    if (due < open) return open;
    if (due < close) return due;
  }
  return due;
}

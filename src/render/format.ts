/**
 * Dates and times as the letters write them ("June 20-21, 2017", "9:20 AM"). The locale is fixed
 * so a message reads the same whatever machine renders it.
 */
import { DateTime } from "luxon";

const LOCALE = "en-US";

function d(date: string): DateTime {
  return DateTime.fromISO(date, { zone: "UTC", locale: LOCALE });
}

const dateTexts = new Map<string, string>();

/** "May 26, 2017" (memoized: a message's date line is formatted for every recipient). */
export function dateText(date: string): string {
  let s = dateTexts.get(date);
  if (s === undefined) {
    s = d(date).toFormat("LLLL d, yyyy");
    if (dateTexts.size < 10_000) dateTexts.set(date, s);
  }
  return s;
}

/** "May 26" */
export function dayMonthText(date: string): string {
  return d(date).toFormat("LLLL d");
}

/** "Wednesday, June 21, 2017" */
export function longDateText(date: string): string {
  return d(date).toFormat("cccc, LLLL d, yyyy");
}

/** "June 20-21, 2017", "June 30 - July 1, 2017", or a single date. */
export function dateRangeText(start: string, end?: string): string {
  if (!end || end === start) return dateText(start);
  const a = d(start);
  const b = d(end);
  if (a.year !== b.year) return `${dateText(start)} - ${dateText(end)}`;
  if (a.month !== b.month) return `${a.toFormat("LLLL d")} - ${b.toFormat("LLLL d, yyyy")}`;
  return `${a.toFormat("LLLL d")}-${b.toFormat("d, yyyy")}`;
}

/** "Wednesday, October 25, 2017 & Thursday, October 26, 2017" for a short range. */
export function longDateRangeText(start: string, end?: string): string {
  if (!end || end === start) return longDateText(start);
  return `${longDateText(start)} & ${longDateText(end)}`;
}

/** "9:20 AM" from "09:20". */
export function timeText(time: string): string {
  const [h, m] = time.split(":").map(Number) as [number, number];
  return DateTime.fromObject({ hour: h, minute: m }, { zone: "UTC", locale: LOCALE }).toFormat(
    "h:mm a",
  );
}

/**
 * An instant's wall time in a zone ("3:30 AM"). Messages format instants, never the YAML's
 * strings: on a DST night "02:30" does not exist and the calendar holds 03:30.
 */
export function instantTime(t: DateTime, zone: string): string {
  return t.setZone(zone).setLocale(LOCALE).toFormat("h:mm a");
}

/** The offset label of an instant in a zone: "GMT+2", "PDT" (en-US names where it has one). */
export function zoneLabel(t: DateTime, zone: string): string {
  return t.setZone(zone).setLocale(LOCALE).toFormat("ZZZZ");
}

/**
 * "9:00 AM – 6:00 PM GMT+1". A range that crosses a DST change labels each end with its own
 * offset ("1:00 AM GMT+1 – 12:00 PM GMT+2"): one label would be wrong for one end. Without
 * `label` a range inside one offset is left unlabelled (the message says the zone elsewhere).
 */
export function timeRangeText(
  start: DateTime,
  end: DateTime | undefined,
  zone: string,
  o: { label: boolean } = { label: true },
): string {
  const a = instantTime(start, zone);
  if (!end || +end <= +start) return o.label ? `${a} ${zoneLabel(start, zone)}` : a;
  const b = instantTime(end, zone);
  const [za, zb] = [zoneLabel(start, zone), zoneLabel(end, zone)];
  if (za !== zb) return `${a} ${za} – ${b} ${zb}`;
  return o.label ? `${a} – ${b} ${zb}` : `${a} – ${b}`;
}

/** Blank-line separated text as paragraphs, for `{{#each}}<p>`. */
export function paragraphs(text: string | undefined): string[] {
  return (
    (text ?? "")
      // YAML folds a blank line into a single newline, so every line break starts a paragraph.
      .split(/\n+/)
      .map((p) => p.trim())
      .filter(Boolean)
  );
}

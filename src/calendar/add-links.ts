/**
 * "Add to calendar" for messages that announce dates (save-the-dates, announcements, the
 * letter): a PUBLISH .ics to attach and, per item, Google Calendar and Outlook web links. All
 * three are made here from the same VEVENT inputs, so a link can never say another time or
 * place than the file: the instants, the all-day dates (with the exclusive end) and the
 * location are read from one value.
 */
import type { DateTime } from "luxon";
import type { CalendarItem } from "../model/items.js";
import type { EventDefinition } from "../model/types.js";
import { buildIcs, type VEventInput, type VEventWhen } from "./build.js";
import { type PublishOptions, publishEvent } from "./publish.js";

export interface AddLink {
  itemId: string;
  title: string;
  google: string;
  outlook: string;
}

export interface AddToCalendar {
  /** `<name>.ics` */
  filename: string;
  ics: string;
  links: AddLink[];
}

const GOOGLE = "https://calendar.google.com/calendar/render";
const OUTLOOK = "https://outlook.live.com/calendar/0/deeplink/compose";

function compact(date: string): string {
  return date.replace(/-/g, "");
}

function utcStamp(t: DateTime): string {
  return t.toUTC().toFormat("yyyyMMdd'T'HHmmss'Z'");
}

function utcIso(t: DateTime): string {
  return t.toUTC().toFormat("yyyy-MM-dd'T'HH:mm:ss'Z'");
}

/** A point in time (no DTEND) is linked as a zero-length event: both services need an end. */
function endOf(w: Extract<VEventWhen, { type: "timed" }>): DateTime {
  return w.end ?? w.start;
}

/** Google's `dates`: UTC `…Z/…Z`, or all-day `YYYYMMDD/YYYYMMDD` with the exclusive end. */
function googleDates(w: VEventWhen): string {
  if (w.type === "all-day") return `${compact(w.startDate)}/${compact(w.endDate)}`;
  return `${utcStamp(w.start)}/${utcStamp(endOf(w))}`;
}

function googleLink(e: VEventInput): string {
  const q = new URLSearchParams({
    action: "TEMPLATE",
    text: e.summary,
    dates: googleDates(e.when),
  });
  if (e.location) q.set("location", e.location);
  return `${GOOGLE}?${q.toString()}`;
}

function outlookLink(e: VEventInput): string {
  const w = e.when;
  const [start, end] =
    w.type === "all-day" ? [w.startDate, w.endDate] : [utcIso(w.start), utcIso(endOf(w))];
  const q = new URLSearchParams({ subject: e.summary, startdt: start, enddt: end });
  if (e.location) q.set("location", e.location);
  q.set("allday", String(w.type === "all-day"));
  return `${OUTLOOK}?${q.toString()}`;
}

export interface AddToCalendarOptions extends PublishOptions {
  /** The file's base name and its calendar name. */
  filename: string;
  name: string;
  zone: string;
}

/**
 * The file and links for these items; undefined when none of them can be added (all TBD or
 * cancelled), so a message never attaches an empty calendar.
 */
export function addToCalendar(
  def: EventDefinition,
  items: readonly CalendarItem[],
  o: AddToCalendarOptions,
): AddToCalendar | undefined {
  const entries = items.flatMap((item) => {
    const e = publishEvent(def, item, o);
    return e ? [{ item, e }] : [];
  });
  if (!entries.length) return undefined;
  const events = entries.map((x) => x.e);
  return {
    filename: `${o.filename.replace(/[^\w.-]+/g, "-")}.ics`,
    ics: buildIcs({ method: "PUBLISH", zone: o.zone, stamp: o.stamp, events, name: o.name }),
    links: entries.map(({ item, e }) => ({
      itemId: item.id,
      title: e.summary,
      google: googleLink(e),
      outlook: outlookLink(e),
    })),
  };
}

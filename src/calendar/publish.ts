/**
 * "Add to calendar" files: METHOD:PUBLISH, with the ORGANIZER and no ATTENDEE (nobody is asked
 * to reply).
 *  - the agenda: each day; a timed day with sessions becomes one VEVENT per session, and a
 *    session with breakout tracks one VEVENT per track, each with its own room;
 *  - a training series: one VEVENT per dated cohort session (TBD sessions are left out);
 *  - save-the-dates: each dated related event, all-day, STATUS:TENTATIVE, TRANSP:TRANSPARENT.
 * UIDs are the same derived UIDs the invites use, so a file imported after an invite is
 * recognised by the client as the same event.
 */
import type { DateTime } from "luxon";
import type { CalendarItem } from "../model/items.js";
import { itemsOf } from "../model/items.js";
import { addDays } from "../model/time.js";
import type { EventDefinition } from "../model/types.js";
import { buildIcs, type VEventInput, type VEventWhen } from "./build.js";
import { icsStatus, itemDescription, itemSummary, itemUrl } from "./describe.js";
import { itemUid } from "./uid.js";

export interface PublishOptions {
  stamp: DateTime;
  /**
   * Current SEQUENCE per item id (from the state store), so a file imported after updates is
   * not older than what the invites carried. Missing items are at 0.
   */
  sequences?: Readonly<Record<string, number>>;
}

export interface PublishFile {
  /** `<item or event id>.ics` */
  filename: string;
  ics: string;
  /** What the file holds, for the CLI's listing. */
  title: string;
  events: number;
}

function whenOf(item: CalendarItem): VEventWhen | undefined {
  const w = item.when;
  if (w.type === "timed")
    return +w.end > +w.start
      ? { type: "timed", start: w.start, end: w.end }
      : { type: "timed", start: w.start };
  if (w.type === "all-day")
    return { type: "all-day", startDate: w.startDate, endDate: addDays(w.lastDate, 1) };
  return undefined;
}

export function vevent(
  def: EventDefinition,
  item: CalendarItem,
  o: PublishOptions,
  extra: Partial<VEventInput> = {},
): VEventInput | undefined {
  const when = extra.when ?? whenOf(item);
  if (!when || item.status === "cancelled") return undefined;
  const description = itemDescription(def.event, item);
  const url = itemUrl(def.event, item);
  return {
    uid: itemUid(def.event, item.id),
    sequence: o.sequences?.[item.id] ?? 0,
    summary: itemSummary(item),
    status: icsStatus(item),
    when,
    ...(item.location ? { location: item.location } : {}),
    ...(description ? { description } : {}),
    ...(url ? { url } : {}),
    // RFC 5546 §3.2.1 requires ORGANIZER in a PUBLISH; there are no attendees to ask.
    organizer: { name: def.event.organizer.name, email: def.event.organizer.email },
    ...extra,
  };
}

/** The VEVENT items of one day: its sessions (tracks instead of a session that has them), or the day itself. */
export function dayEntries(items: readonly CalendarItem[], day: CalendarItem): CalendarItem[] {
  const sessions = items.filter((i) => i.parent === day.id);
  if (day.when.type !== "timed" || sessions.length === 0) return [day];
  return sessions.flatMap((s) => {
    const tracks = items.filter((i) => i.parent === s.id);
    return tracks.length ? tracks : [s];
  });
}

function defined<T>(xs: (T | undefined)[]): T[] {
  return xs.filter((x): x is T => x !== undefined);
}

/** The PUBLISH agenda of the whole event, or of one day (by day item id). */
export function buildAgenda(def: EventDefinition, o: PublishOptions & { day?: string }): string {
  const items = itemsOf(def.event);
  const days = items.filter((i) => i.source.kind === "day" && (!o.day || i.id === o.day));
  if (o.day && days.length === 0) throw new Error(`no day "${o.day}" in ${def.event.id}`);
  const events = defined(days.flatMap((d) => dayEntries(items, d)).map((i) => vevent(def, i, o)));
  const name = o.day
    ? (days[0]?.title ?? def.event.title)
    : (def.event.shortTitle ?? def.event.title);
  return buildIcs({ method: "PUBLISH", zone: def.event.timezone, stamp: o.stamp, events, name });
}

/** The dated sessions of every cohort of a training series. */
export function buildSeries(def: EventDefinition, seriesId: string, o: PublishOptions): string {
  const series = def.event.series?.find((s) => s.id === seriesId);
  if (!series) throw new Error(`no series "${seriesId}" in ${def.event.id}`);
  const events = defined(
    itemsOf(def.event)
      .filter((i) => i.source.kind === "cohort-session" && i.source.series.id === seriesId)
      .map((i) => vevent(def, i, o)),
  );
  return buildIcs({
    method: "PUBLISH",
    zone: def.event.timezone,
    stamp: o.stamp,
    events,
    name: series.title,
  });
}

/**
 * How an item is published in an "add to calendar" file: a related event (a save-the-date) is
 * tentative and free time, so it does not block anyone's day before they decide to come.
 */
export function publishEvent(
  def: EventDefinition,
  item: CalendarItem,
  o: PublishOptions,
): VEventInput | undefined {
  return item.source.kind === "related"
    ? vevent(def, item, o, { status: "TENTATIVE", transparent: true })
    : vevent(def, item, o);
}

/** A save-the-date: all days of a related event as one all-day, tentative, free-time item. */
export function buildSaveTheDate(
  def: EventDefinition,
  relatedId: string,
  o: PublishOptions,
): string {
  const item = itemsOf(def.event).find(
    (i) => i.source.kind === "related" && i.source.related.id === relatedId,
  );
  if (item?.source.kind !== "related") throw new Error(`no related event "${relatedId}"`);
  const r = item.source.related;
  if (!r.startDate || r.startDate === "TBD")
    throw new Error(`related event "${relatedId}" has no dates yet (TBD)`);
  const ev = vevent(def, item, o, {
    when: {
      type: "all-day",
      startDate: r.startDate,
      endDate: addDays(r.endDate ?? r.startDate, 1),
    },
    status: "TENTATIVE",
    transparent: true,
  });
  return buildIcs({
    method: "PUBLISH",
    zone: def.event.timezone,
    stamp: o.stamp,
    events: ev ? [ev] : [],
    name: r.title,
  });
}

function countEvents(ics: string): number {
  return ics.split("\r\nBEGIN:VEVENT\r\n").length - 1;
}

/**
 * Every file `convene calendar` writes: the whole agenda (`<event>.ics`), one per day
 * (`<day item>.ics`), one per training series with a dated session (`<series>.ics`) and one per
 * dated related event (`<related>.ics`, the save-the-dates).
 */
export function publishFiles(def: EventDefinition, o: PublishOptions): PublishFile[] {
  const ev = def.event;
  const items = itemsOf(ev);
  const files: PublishFile[] = [];
  const add = (id: string, title: string, ics: string) =>
    files.push({ filename: `${id}.ics`, ics, title, events: countEvents(ics) });

  add(ev.id, `${ev.title} (all days)`, buildAgenda(def, o));
  for (const day of items.filter((i) => i.source.kind === "day"))
    add(day.id, day.title, buildAgenda(def, { ...o, day: day.id }));
  for (const s of ev.series ?? []) {
    const dated = items.some(
      (i) =>
        i.source.kind === "cohort-session" && i.source.series.id === s.id && i.when.type !== "tbd",
    );
    if (dated) add(s.id, s.title, buildSeries(def, s.id, o));
  }
  for (const r of ev.related ?? [])
    if (r.startDate && r.startDate !== "TBD")
      add(r.id, `Save the date: ${r.title}`, buildSaveTheDate(def, r.id, o));
  return files;
}

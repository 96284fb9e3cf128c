/**
 * The "add to calendar" file and links of a message that announces dates. Which dates, and what
 * the file is called, its kind declares (`announces` in jobs/<kind>.ts, from the helpers here:
 * the agenda, what the step is about, what the message lists). Built once per (event, step,
 * send date): every recipient of a send gets the same file.
 */
import { type AddLink, type AddToCalendar, addToCalendar } from "../calendar/add-links.js";
import { dayEntries } from "../calendar/publish.js";
import { type AnnouncedDates, kindOf } from "../kind.js";
import type { CalendarItem } from "../model/items.js";
import { itemsOf } from "../model/items.js";
import type { EventSpec, RelatedSpec, SeriesSpec, StepSpec } from "../model/schema.js";
import { localToInstant } from "../model/time.js";
import type { EventDefinition } from "../model/types.js";

interface Linkable {
  itemId?: string | undefined;
  past?: boolean;
}

interface Listed<S, R> {
  series: S[];
  related: R[];
}

type SeriesLike = { cohorts: { sessions: Linkable[] }[] };

const files = new WeakMap<EventSpec, Map<string, AddToCalendar | undefined>>();

/** The institute's agenda: every day with its sessions. */
export function agendaItems(items: readonly CalendarItem[]): CalendarItem[] {
  return items.filter((i) => i.source.kind === "day").flatMap((d) => dayEntries(items, d));
}

/** The items of the related event or series the step is `about`. */
export function itemsAbout(items: readonly CalendarItem[], step: StepSpec): CalendarItem[] {
  return items.filter(
    (i) =>
      (i.source.kind === "related" && i.source.related.id === step.about) ||
      (i.source.kind === "cohort-session" && i.source.series.id === step.about),
  );
}

/** What the message lists that has a calendar item and is still ahead. */
function listedIds(listed: Listed<SeriesLike, Linkable>): Set<string> {
  const ids = new Set<string>();
  const add = (x: Linkable) => x.itemId && !x.past && ids.add(x.itemId);
  for (const s of listed.series) for (const c of s.cohorts) c.sessions.forEach(add);
  listed.related.forEach(add);
  return ids;
}

/** The file named after the event. */
export function eventFile(def: EventDefinition): { filename: string; name: string } {
  return { filename: def.event.id, name: def.event.shortTitle ?? def.event.title };
}

/** The file named after what the step is `about` (its base name given by `filename`), else the event. */
export function aboutFile(
  def: EventDefinition,
  step: StepSpec,
  filename: (about: RelatedSpec | SeriesSpec) => string,
): { filename: string; name: string } {
  const ev = def.event;
  const about =
    ev.related?.find((r) => r.id === step.about) ?? ev.series?.find((s) => s.id === step.about);
  return about ? { filename: filename(about), name: about.title } : eventFile(def);
}

function fileFor(
  def: EventDefinition,
  step: StepSpec,
  announces: AnnouncedDates,
  date: string,
  listed: Listed<SeriesLike, Linkable>,
): AddToCalendar | undefined {
  let byKey = files.get(def.event);
  if (!byKey) {
    byKey = new Map();
    files.set(def.event, byKey);
  }
  const key = `${step.id}|${date}|${step.values?.showPast ?? ""}`;
  if (byKey.has(key)) return byKey.get(key);
  const zone = def.event.timezone;
  const all = itemsOf(def.event);
  const items = announces.items({ def, step, all, listed: listedIds(listed) });
  const file = addToCalendar(def, items, {
    ...announces.file(def, step),
    zone,
    // The send's local date, not the clock: the same send always gets the same bytes.
    stamp: localToInstant(date, "00:00", zone),
  });
  byKey.set(key, file);
  return file;
}

/** A listed thing with its links (`calendar.google`, `calendar.outlook`) when it has them. */
export function withLinks<T extends Linkable>(
  x: T,
  links: ReadonlyMap<string, AddLink>,
): T & { calendar?: AddLink } {
  const link = x.itemId && !x.past ? links.get(x.itemId) : undefined;
  return link ? { ...x, calendar: link } : x;
}

export function announcedDates<S extends SeriesLike, R extends Linkable>(
  def: EventDefinition,
  step: StepSpec,
  date: string,
  listed: Listed<S, R>,
) {
  const announces = kindOf(def, step.kind).announces;
  const file = announces ? fileFor(def, step, announces, date, listed) : undefined;
  const links = new Map((file?.links ?? []).map((l) => [l.itemId, l]));
  const series = listed.series.map((s) => ({
    ...s,
    cohorts: s.cohorts.map((c) => ({ ...c, sessions: c.sessions.map((x) => withLinks(x, links)) })),
  }));
  return {
    file,
    links,
    series,
    related: listed.related.map((r) => withLinks(r, links)),
  };
}

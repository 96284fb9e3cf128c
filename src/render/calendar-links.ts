/**
 * Which dates a message announces, and their "add to calendar" file and links: a save-the-date
 * its related event, an announcement every dated session and event it lists as upcoming, the
 * letter the institute's agenda. Built once per (event, step, send date): every recipient of a
 * send gets the same file.
 */
import { type AddLink, type AddToCalendar, addToCalendar } from "../calendar/add-links.js";
import { itemsOf } from "../calendar/items-of.js";
import { dayEntries } from "../calendar/publish.js";
import type { CalendarItem } from "../model/items.js";
import type { EventSpec, StepSpec } from "../model/schema.js";
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

function agendaItems(items: readonly CalendarItem[]): CalendarItem[] {
  return items.filter((i) => i.source.kind === "day").flatMap((d) => dayEntries(items, d));
}

/** What the message lists that has a calendar item and is still ahead. */
function listedIds(listed: Listed<SeriesLike, Linkable>): Set<string> {
  const ids = new Set<string>();
  const add = (x: Linkable) => x.itemId && !x.past && ids.add(x.itemId);
  for (const s of listed.series) for (const c of s.cohorts) c.sessions.forEach(add);
  listed.related.forEach(add);
  return ids;
}

function announcedItems(
  def: EventDefinition,
  step: StepSpec,
  listed: Listed<SeriesLike, Linkable>,
): CalendarItem[] {
  const items = itemsOf(def.event);
  if (step.kind === "invitation-letter") return agendaItems(items);
  if (step.kind === "save-the-date")
    return items.filter(
      (i) =>
        (i.source.kind === "related" && i.source.related.id === step.about) ||
        (i.source.kind === "cohort-session" && i.source.series.id === step.about),
    );
  if (step.kind === "announcement") {
    const ids = listedIds(listed);
    return items.filter((i) => ids.has(i.id));
  }
  return [];
}

function fileName(def: EventDefinition, step: StepSpec): { filename: string; name: string } {
  const ev = def.event;
  const about =
    ev.related?.find((r) => r.id === step.about) ?? ev.series?.find((s) => s.id === step.about);
  if (step.kind === "invitation-letter" || !about)
    return { filename: ev.id, name: ev.shortTitle ?? ev.title };
  return step.kind === "announcement"
    ? { filename: `${step.id}-dates`, name: about.title }
    : { filename: about.id, name: about.title };
}

function fileFor(
  def: EventDefinition,
  step: StepSpec,
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
  const file = addToCalendar(def, announcedItems(def, step, listed), {
    ...fileName(def, step),
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

const KINDS = new Set(["invitation-letter", "save-the-date", "announcement"]);

export function announcedDates<S extends SeriesLike, R extends Linkable>(
  def: EventDefinition,
  step: StepSpec,
  date: string,
  listed: Listed<S, R>,
) {
  const file = KINDS.has(step.kind) ? fileFor(def, step, date, listed) : undefined;
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

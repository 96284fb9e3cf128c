/**
 * The things that can become calendar entries, derived from an event definition: each day, each
 * session (and each parallel track of a session, since a track has its own room), each dated
 * session of a training cohort, and each related event with dates. Ids are derived from the
 * definition so they stay stable across runs and machines; they are the basis of ICS UIDs and
 * of `item:<id>` trigger anchors.
 */
import type { DateTime } from "luxon";
import type {
  DaySpec,
  EventSpec,
  Place,
  RelatedSpec,
  SeriesSpec,
  SessionSpec,
  Status,
  TrackSpec,
} from "./schema.js";
import { addDays, localToInstant } from "./time.js";

export type ItemWhen =
  | { type: "timed"; start: DateTime; end: DateTime }
  /** `lastDate` is inclusive; ICS wants last + 1 as the exclusive DTEND. */
  | { type: "all-day"; startDate: string; lastDate: string }
  | { type: "tbd" };

export type ItemSource =
  | { kind: "day"; day: DaySpec }
  | { kind: "session"; day: DaySpec; session: SessionSpec }
  | { kind: "track"; day: DaySpec; session: SessionSpec; track: TrackSpec }
  | { kind: "cohort-session"; series: SeriesSpec; cohortId: string; number: number }
  | { kind: "related"; related: RelatedSpec };

export interface CalendarItem {
  id: string;
  /** The item this one belongs to: a session's day, a track's session. */
  parent?: string;
  title: string;
  status: Status;
  when: ItemWhen;
  location?: string;
  /**
   * The zone its times are written in and shown in, when not the event's (a cohort that meets
   * in another zone).
   */
  zone?: string;
  source: ItemSource;
}

export function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .normalize("NFKD")
      .replace(/[^\w\s-]/g, "")
      .replace(/[\s_]+/g, "-")
      .replace(/-+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 48) || "item"
  );
}

export function dayId(day: DaySpec): string {
  return day.id ?? `day-${day.date}`;
}

function placeText(p: Place | undefined): string | undefined {
  if (!p) return undefined;
  return p.address ? `${p.name}, ${p.address}` : p.name;
}

function venueText(event: EventSpec, room?: string): string {
  const v = event.venue;
  const base = v.address ? `${v.name}, ${v.address}` : v.name;
  return room ? `${room}, ${base}` : base;
}

function timed(date: string, start: string, end: string, zone: string): ItemWhen {
  return {
    type: "timed",
    start: localToInstant(date, start, zone),
    end: localToInstant(date, end, zone),
  };
}

function uniqueId(base: string, used: Set<string>): string {
  let id = base;
  for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
  used.add(id);
  return id;
}

/** End of a session: its own, the next session's start, or the day's end. */
function sessionEnd(day: DaySpec, index: number): string | undefined {
  const s = day.sessions?.[index];
  if (!s) return undefined;
  return s.end ?? day.sessions?.[index + 1]?.start ?? day.end;
}

/**
 * Ids are claimed in one fixed order (days with their sessions and tracks, then cohort sessions,
 * then related events) because a clash is settled by suffixing the later one: changing the order
 * would rename items, and so change ICS UIDs, across runs.
 */
export function calendarItems(event: EventSpec): CalendarItem[] {
  const used = new Set<string>();
  return [
    ...event.days.flatMap((day) => dayItems(event, day, used)),
    ...(event.series ?? []).flatMap((series) => seriesItems(event, series, used)),
    ...(event.related ?? []).map((r) => relatedItem(event, r, used)),
  ];
}

function dayItems(event: EventSpec, day: DaySpec, used: Set<string>): CalendarItem[] {
  const id = uniqueId(dayId(day), used);
  const status = day.status ?? "confirmed";
  const dayItem: CalendarItem = {
    id,
    title: day.title ?? event.title,
    status,
    when:
      day.start && day.end
        ? timed(day.date, day.start, day.end, event.timezone)
        : { type: "all-day", startDate: day.date, lastDate: day.date },
    location: venueText(event, day.room),
    source: { kind: "day", day },
  };
  const sessions = (day.sessions ?? []).flatMap((session, i) =>
    sessionItems(event, { day, id, status }, session, i, used),
  );
  return [dayItem, ...sessions];
}

interface ParentDay {
  day: DaySpec;
  id: string;
  status: Status;
}

function sessionItems(
  event: EventSpec,
  parent: ParentDay,
  session: SessionSpec,
  index: number,
  used: Set<string>,
): CalendarItem[] {
  const { day } = parent;
  const sid = uniqueId(`${parent.id}-${session.id ?? slug(session.title)}`, used);
  // A cancelled day cancels everything on it, whatever the session says.
  const status = parent.status === "cancelled" ? "cancelled" : (session.status ?? parent.status);
  const when = sessionWhen(day, session, index, event.timezone);
  const sessionItem: CalendarItem = {
    id: sid,
    parent: parent.id,
    title: session.title,
    status,
    when,
    location: venueText(event, session.room ?? day.room),
    source: { kind: "session", day, session },
  };
  const tracks = (session.tracks ?? []).map(
    (track): CalendarItem => ({
      id: uniqueId(`${sid}-${track.id ?? slug(track.title)}`, used),
      parent: sid,
      title: track.title,
      status,
      when,
      location: venueText(event, track.room),
      source: { kind: "track", day, session, track },
    }),
  );
  return [sessionItem, ...tracks];
}

/** A session with no usable end becomes a zero-length entry rather than a negative one. */
function sessionWhen(day: DaySpec, session: SessionSpec, index: number, zone: string): ItemWhen {
  const end = sessionEnd(day, index);
  return end && end > session.start
    ? timed(day.date, session.start, end, zone)
    : timed(day.date, session.start, session.start, zone);
}

function seriesItems(event: EventSpec, series: SeriesSpec, used: Set<string>): CalendarItem[] {
  return series.cohorts.flatMap((cohort) =>
    cohort.sessions.map((cs): CalendarItem => {
      const def = series.sessions.find((s) => s.number === cs.session);
      const title = `${series.title}: ${cohort.name}, Session ${cs.session}${def ? ` – ${def.title}` : ""}`;
      return {
        id: uniqueId(`${series.id}-${cohort.id}-${cs.session}`, used),
        title,
        status: cs.status ?? "confirmed",
        when: datedWhen(
          cs.date === "TBD" ? undefined : cs.date,
          cs,
          cohort.timezone ?? event.timezone,
        ),
        location: placeText(cs.location ?? cohort.location),
        ...(cohort.timezone ? { zone: cohort.timezone } : {}),
        source: { kind: "cohort-session", series, cohortId: cohort.id, number: cs.session },
      };
    }),
  );
}

function relatedItem(event: EventSpec, r: RelatedSpec, used: Set<string>): CalendarItem {
  return {
    id: uniqueId(r.id, used),
    title: r.title,
    status: "confirmed",
    when: datedWhen(r.startDate === "TBD" ? undefined : r.startDate, r, event.timezone),
    location: placeText(r.venue),
    source: { kind: "related", related: r },
  };
}

/**
 * Cohort sessions and related events share one rule: timed only when both times are given on a
 * single day, since a multi-day span with times has no one-entry ICS form we want to send.
 */
function datedWhen(
  date: string | undefined,
  times: { start?: string; end?: string; endDate?: string },
  zone: string,
): ItemWhen {
  if (!date) return { type: "tbd" };
  if (times.start && times.end && !times.endDate) return timed(date, times.start, times.end, zone);
  return { type: "all-day", startDate: date, lastDate: times.endDate ?? date };
}

/** The instant an item starts, or undefined while its date is TBD. */
export function itemStart(item: CalendarItem, zone: string): DateTime | undefined {
  if (item.when.type === "timed") return item.when.start;
  if (item.when.type === "all-day") return localToInstant(item.when.startDate, "00:00", zone);
  return undefined;
}

export function itemEnd(item: CalendarItem, zone: string): DateTime | undefined {
  if (item.when.type === "timed") return item.when.end;
  if (item.when.type === "all-day")
    return localToInstant(addDays(item.when.lastDate, 1), "00:00", zone);
  return undefined;
}

const itemsCache = new WeakMap<EventSpec, readonly CalendarItem[]>();

/**
 * `calendarItems`, computed once per loaded definition: the planner, every invite (its item, its
 * agenda, its snapshot) and every re-check need the list, and a campaign has thousands of
 * sends. Keyed by the definition object, so an edited (re-loaded) definition gets fresh items.
 */
export function itemsOf(event: EventSpec): readonly CalendarItem[] {
  let items = itemsCache.get(event);
  if (!items) {
    items = calendarItems(event);
    itemsCache.set(event, items);
  }
  return items;
}

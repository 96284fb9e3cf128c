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

export function calendarItems(event: EventSpec): CalendarItem[] {
  const zone = event.timezone;
  const items: CalendarItem[] = [];
  const used = new Set<string>();

  for (const day of event.days) {
    const id = uniqueId(dayId(day), used);
    const dayStatus = day.status ?? "confirmed";
    items.push({
      id,
      title: day.title ?? event.title,
      status: dayStatus,
      when:
        day.start && day.end
          ? timed(day.date, day.start, day.end, zone)
          : { type: "all-day", startDate: day.date, lastDate: day.date },
      location: venueText(event, day.room),
      source: { kind: "day", day },
    });
    for (const [i, session] of (day.sessions ?? []).entries()) {
      const sid = uniqueId(`${id}-${session.id ?? slug(session.title)}`, used);
      const end = sessionEnd(day, i);
      const status = dayStatus === "cancelled" ? "cancelled" : (session.status ?? dayStatus);
      const when: ItemWhen =
        end && end > session.start
          ? timed(day.date, session.start, end, zone)
          : timed(day.date, session.start, session.start, zone);
      items.push({
        id: sid,
        parent: id,
        title: session.title,
        status,
        when,
        location: venueText(event, session.room ?? day.room),
        source: { kind: "session", day, session },
      });
      for (const track of session.tracks ?? []) {
        items.push({
          id: uniqueId(`${sid}-${track.id ?? slug(track.title)}`, used),
          parent: sid,
          title: track.title,
          status,
          when,
          location: venueText(event, track.room),
          source: { kind: "track", day, session, track },
        });
      }
    }
  }

  for (const series of event.series ?? []) {
    for (const cohort of series.cohorts) {
      const cohortZone = cohort.timezone ?? zone;
      for (const cs of cohort.sessions) {
        const def = series.sessions.find((s) => s.number === cs.session);
        const title = `${series.title}: ${cohort.name}, Session ${cs.session}${def ? ` – ${def.title}` : ""}`;
        let when: ItemWhen;
        if (cs.date === "TBD") when = { type: "tbd" };
        else if (cs.start && cs.end && !cs.endDate)
          when = timed(cs.date, cs.start, cs.end, cohortZone);
        else when = { type: "all-day", startDate: cs.date, lastDate: cs.endDate ?? cs.date };
        items.push({
          id: uniqueId(`${series.id}-${cohort.id}-${cs.session}`, used),
          title,
          status: cs.status ?? "confirmed",
          when,
          location: placeText(cs.location ?? cohort.location),
          ...(cohort.timezone ? { zone: cohort.timezone } : {}),
          source: { kind: "cohort-session", series, cohortId: cohort.id, number: cs.session },
        });
      }
    }
  }

  for (const r of event.related ?? []) {
    let when: ItemWhen;
    if (!r.startDate || r.startDate === "TBD") when = { type: "tbd" };
    else if (r.start && r.end && !r.endDate) when = timed(r.startDate, r.start, r.end, zone);
    else when = { type: "all-day", startDate: r.startDate, lastDate: r.endDate ?? r.startDate };
    items.push({
      id: uniqueId(r.id, used),
      title: r.title,
      status: "confirmed",
      when,
      location: placeText(r.venue),
      source: { kind: "related", related: r },
    });
  }
  return items;
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

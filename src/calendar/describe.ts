/**
 * What a calendar item says: SUMMARY, LOCATION, DESCRIPTION and STATUS, derived from the
 * definition. A day's DESCRIPTION is its agenda (time, title, speakers, room — every breakout
 * track and regional room included), because that is what attendees open the invite for.
 */
import type { DateTime } from "luxon";
import type { CalendarItem } from "../model/items.js";
import { itemsOf } from "../model/items.js";
import type { DaySpec, EventSpec, RelatedSpec, Speaker } from "../model/schema.js";
import type { IcsStatus } from "./build.js";

export function speakerText(s: Speaker): string {
  if (typeof s === "string") return s;
  return s.affiliation ? `${s.name} (${s.affiliation})` : s.name;
}

/**
 * How a speaker is named beside a title: a title that already names them ("Keynote
 * Presentation: Pedro Noguera") gets only their affiliation, or nothing, so the name is not
 * printed twice.
 */
export function speakerBeside(title: string, s: Speaker): string | undefined {
  const o = typeof s === "string" ? { name: s } : s;
  if (!title.toLowerCase().includes(o.name.toLowerCase())) return speakerText(s);
  return o.affiliation;
}

function speakersText(list: readonly Speaker[] | undefined, title = ""): string | undefined {
  const names = (list ?? []).map((s) => speakerBeside(title, s)).filter(Boolean);
  return names.length ? names.join(", ") : undefined;
}

/** A track is shown with its session's title: "Breakout Session 3: Families as Resources…". */
export function itemSummary(item: CalendarItem): string {
  if (item.source.kind === "track") return `${item.source.session.title}: ${item.title}`;
  return item.title;
}

export function icsStatus(item: CalendarItem): IcsStatus {
  return item.status === "cancelled"
    ? "CANCELLED"
    : item.status === "tentative"
      ? "TENTATIVE"
      : "CONFIRMED";
}

function hhmm(t: DateTime, zone: string): string {
  return t.setZone(zone).toFormat("HH:mm");
}

function zoneName(at: DateTime, zone: string): string {
  return at.setZone(zone).setLocale("en-US").toFormat("ZZZZZ");
}

/**
 * "09:20–10:30". The agenda's heading names the zone's time at its first line; a line in
 * another offset (after a DST change that night) names its own, so no time is read wrongly.
 */
function span(item: CalendarItem, zone: string, heading: string | undefined): string {
  if (item.when.type !== "timed") return "";
  const start = hhmm(item.when.start, zone);
  const text = +item.when.end > +item.when.start ? `${start}–${hhmm(item.when.end, zone)}` : start;
  const names = [item.when.start, item.when.end].map((t) => zoneName(t, zone));
  if (names.every((n) => n === heading)) return text;
  const [a, b] = names;
  return a === b || +item.when.end <= +item.when.start ? `${text} (${a})` : `${text} (${a} – ${b})`;
}

/** The room part of a LOCATION ("Shutters East 1, DoubleTree…" → "Shutters East 1"). */
function roomOf(item: CalendarItem, fallback: string | undefined): string | undefined {
  if (item.source.kind === "track") return item.source.track.room;
  if (item.source.kind === "session") return item.source.session.room ?? item.source.day.room;
  return fallback;
}

function zoneLabel(event: EventSpec, at: DateTime): string {
  return `${zoneName(at, event.timezone)} (${event.timezone})`;
}

function firstTimed(items: readonly CalendarItem[], dayItemId: string): DateTime | undefined {
  const first = items.find((i) => i.parent === dayItemId && i.when.type === "timed");
  return first?.when.type === "timed" ? first.when.start : undefined;
}

/** The agenda lines of a day: one per session, its tracks indented below it. */
export function dayAgenda(event: EventSpec, dayItemId: string): string[] {
  const items = itemsOf(event);
  const zone = event.timezone;
  const first = firstTimed(items, dayItemId);
  const heading = first ? zoneName(first, zone) : undefined;
  const sessions = items.filter(
    (i) => i.parent === dayItemId && i.source.kind === "session" && i.status !== "cancelled",
  );
  const lines: string[] = [];
  for (const s of sessions) {
    if (s.source.kind !== "session") continue;
    const session = s.source.session;
    const tracks = items.filter((i) => i.parent === s.id && i.status !== "cancelled");
    const parts = [
      `${span(s, zone, heading)}  ${s.title}`,
      speakersText(session.speakers, s.title),
      tracks.length ? undefined : roomOf(s, undefined),
    ];
    if (s.status === "tentative") parts.push("(tentative)");
    lines.push(parts.filter(Boolean).join(" — "));
    for (const t of tracks) {
      if (t.source.kind !== "track") continue;
      lines.push(
        `    • ${[t.title, speakersText(t.source.track.speakers, t.title), t.source.track.room].filter(Boolean).join(" — ")}`,
      );
    }
  }
  return lines;
}

function paragraphs(...parts: (string | undefined | false)[]): string | undefined {
  const text = parts
    .filter((p): p is string => typeof p === "string" && p.trim() !== "")
    .map((p) => p.trim())
    .join("\n\n");
  return text || undefined;
}

export function itemDescription(event: EventSpec, item: CalendarItem): string | undefined {
  const src = item.source;
  switch (src.kind) {
    case "day":
      return dayDescription(event, item.id, src.day);
    case "session":
      return paragraphs(
        speakersText(src.session.speakers) && `Speakers: ${speakersText(src.session.speakers)}`,
        src.session.description,
        `Part of ${src.day.title ?? event.title}`,
      );
    case "track":
      return paragraphs(
        speakersText(src.track.speakers) && `Speakers: ${speakersText(src.track.speakers)}`,
        src.track.description,
        `Part of ${src.session.title}, ${src.day.title ?? event.title}`,
      );
    case "cohort-session": {
      const def = src.series.sessions.find((s) => s.number === src.number);
      return paragraphs(
        src.series.subtitle,
        def?.description,
        src.series.cost && `Cost: ${src.series.cost}`,
        src.series.registrationUrl && `Register: ${src.series.registrationUrl}`,
      );
    }
    case "related":
      return relatedDescription(src.related);
  }
}

function dayDescription(event: EventSpec, id: string, day: DaySpec): string | undefined {
  const agenda = dayAgenda(event, id);
  const first = firstTimed(itemsOf(event), id);
  return paragraphs(
    day.audience && `For: ${day.audience}`,
    // The event's description stands in only for a day with nothing of its own to say.
    day.description ?? (agenda.length ? undefined : event.description),
    agenda.length > 0 &&
      first &&
      `Agenda (times in ${zoneLabel(event, first)}):\n${agenda.join("\n")}`,
    event.links?.["event-page"] && `More: ${event.links["event-page"]}`,
  );
}

function relatedDescription(r: RelatedSpec): string | undefined {
  return paragraphs(
    r.theme && `Theme: ${r.theme}`,
    r.hosts && `Hosted by ${r.hosts}`,
    r.description,
    r.note,
    r.cost,
    r.contact &&
      `Contact: ${r.contact.name ? `${r.contact.name} <${r.contact.email}>` : r.contact.email}`,
    r.url,
  );
}

/** The item's URL property, when the definition has one worth linking. */
export function itemUrl(event: EventSpec, item: CalendarItem): string | undefined {
  if (item.source.kind === "related") return item.source.related.url;
  if (item.source.kind === "cohort-session")
    return item.source.series.registrationUrl ?? item.source.series.flyerUrl;
  return event.links?.["event-page"];
}

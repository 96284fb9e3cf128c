/**
 * The values a template sees: the definition turned into ready-to-print text (dates as words,
 * speakers with their links, the coalition as a sentence), plus the recipient and the step.
 * Everything that changes from one year's event to the next comes from here, not from template
 * text, so next year's letter is a data change. Pure: no clock, no files.
 */
import { DateTime } from "luxon";
import { speakerBeside } from "../calendar/describe.js";
import type { ItemSnapshot } from "../calendar/snapshot.js";
import { type CalendarMethod, kindOf } from "../kind.js";
import type { CalendarItem } from "../model/items.js";
import { itemsOf } from "../model/items.js";
import type {
  DaySpec,
  EventSpec,
  Place,
  RelatedSpec,
  SeriesSpec,
  Speaker,
  StepSpec,
} from "../model/schema.js";
import { addDays } from "../model/time.js";
import type { EventDefinition, Recipient } from "../model/types.js";
import { announcedDates, withLinks } from "./calendar-links.js";
import {
  dateRangeText,
  dateText,
  dayMonthText,
  instantTime,
  longDateRangeText,
  longDateText,
  paragraphs,
  timeRangeText,
  zoneLabel,
} from "./format.js";
import { listText } from "./handlebars.js";

export interface SpeakerView {
  name: string;
  affiliation?: string;
  url?: string;
  /** "Pedro Noguera (UCLA)" */
  label: string;
}

export function speakerView(s: Speaker): SpeakerView {
  const o = typeof s === "string" ? { name: s } : s;
  return {
    name: o.name,
    ...(o.affiliation ? { affiliation: o.affiliation } : {}),
    ...(o.url ? { url: o.url } : {}),
    label: o.affiliation ? `${o.name} (${o.affiliation})` : o.name,
  };
}

function placeText(p: Place | undefined): string | undefined {
  if (!p) return undefined;
  return p.address ? `${p.name}, ${p.address}` : p.name;
}

function camel(key: string): string {
  return key.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The calendar items of one definition, found by what they were made from. */
interface ItemIndex {
  zone: string;
  bySource: Map<object, CalendarItem>;
  byCohortSession: Map<string, CalendarItem>;
}

function cohortKey(series: string, cohort: string, number: number): string {
  return `${series}|${cohort}|${number}`;
}

function indexItems(items: readonly CalendarItem[], zone: string): ItemIndex {
  const bySource = new Map<object, CalendarItem>();
  const byCohortSession = new Map<string, CalendarItem>();
  for (const item of items) {
    const src = item.source;
    if (src.kind === "day") bySource.set(src.day, item);
    else if (src.kind === "session") bySource.set(src.session, item);
    else if (src.kind === "related") bySource.set(src.related, item);
    else if (src.kind === "cohort-session")
      byCohortSession.set(cohortKey(src.series.id, src.cohortId, src.number), item);
  }
  return { zone, bySource, byCohortSession };
}

/**
 * An item's times as a message shows them, from the instants its calendar entry holds. A range
 * inside one offset is unlabelled when `label` is off (the day's agenda, whose zone is named
 * with the day); one across a DST change always labels both ends.
 */
function itemTime(item: CalendarItem | undefined, zone: string, label: boolean) {
  if (item?.when.type !== "timed") return undefined;
  return timeRangeText(item.when.start, item.when.end, item.zone ?? zone, { label });
}

function sessionTimes(item: CalendarItem | undefined, zone: string) {
  if (item?.when.type !== "timed") return { time: undefined, end: undefined };
  const { start, end } = item.when;
  if (+end <= +start) return { time: instantTime(start, zone), end: undefined };
  const crosses = zoneLabel(start, zone) !== zoneLabel(end, zone);
  const show = (t: typeof start) =>
    crosses ? `${instantTime(t, zone)} ${zoneLabel(t, zone)}` : instantTime(t, zone);
  return { time: show(start), end: show(end) };
}

function speakersBeside(title: string, speakers: readonly Speaker[] | undefined): string {
  return listText((speakers ?? []).map((x) => speakerBeside(title, x)).filter(Boolean));
}

function dayView(day: DaySpec, ix: ItemIndex) {
  return {
    date: day.date,
    dateText: dateText(day.date),
    dayMonth: dayMonthText(day.date),
    longDate: longDateText(day.date),
    label: day.label,
    title: day.title,
    audience: day.audience,
    description: day.description,
    paragraphs: paragraphs(day.description),
    time: itemTime(ix.bySource.get(day), ix.zone, false),
    room: day.room,
    status: day.status ?? "confirmed",
    sessions: (day.sessions ?? []).map((s) => ({
      id: s.id,
      ...sessionTimes(ix.bySource.get(s), ix.zone),
      title: s.title,
      lines: (s.description ?? "").split("\n").filter((l) => l.trim()),
      speakers: (s.speakers ?? []).map(speakerView),
      speakerText: speakersBeside(s.title, s.speakers),
      room: s.tracks?.length ? undefined : (s.room ?? day.room),
      tracks: (s.tracks ?? []).map((t) => ({
        title: t.title,
        room: t.room,
        speakerText: speakersBeside(t.title, t.speakers),
      })),
      cancelled: s.status === "cancelled",
    })),
  };
}

export function relatedView(r: RelatedSpec, ix: ItemIndex) {
  const known = r.startDate && r.startDate !== "TBD" ? r.startDate : undefined;
  return {
    id: r.id,
    /** Its calendar item, for "add to calendar". */
    itemId: ix.bySource.get(r)?.id,
    title: r.title,
    kind: r.kind,
    theme: r.theme,
    hosts: r.hosts,
    paragraphs: paragraphs(r.description),
    dates: known ? dateRangeText(known, r.endDate) : "Dates to be announced",
    /** ISO; undefined while TBD. What "upcoming" is judged by. */
    lastDate: known ? (r.endDate ?? known) : undefined,
    longDates: known ? longDateRangeText(known, r.endDate) : undefined,
    tbd: !known,
    time: itemTime(ix.bySource.get(r), ix.zone, true),
    venue: placeText(r.venue),
    venueName: r.venue?.name,
    cost: r.cost,
    note: r.note,
    contact: r.contact,
    url: r.url,
  };
}

export function seriesView(s: SeriesSpec, ix: ItemIndex) {
  const number = new Map(s.sessions.map((x) => [x.number, x]));
  return {
    id: s.id,
    title: s.title,
    subtitle: s.subtitle,
    paragraphs: paragraphs(s.description),
    audience: s.audience,
    partners: s.partners,
    cost: s.cost,
    registrationUrl: s.registrationUrl,
    flyerUrl: s.flyerUrl,
    sessions: s.sessions.map((x) => ({
      number: x.number,
      title: x.title,
      days: x.days,
      length: x.days ? `${x.days}-day session` : undefined,
      paragraphs: paragraphs(x.description),
    })),
    cohorts: s.cohorts.map((c) => ({
      id: c.id,
      name: c.name,
      location: placeText(c.location),
      sessions: c.sessions.map((cs) => ({
        number: cs.session,
        itemId: ix.byCohortSession.get(cohortKey(s.id, c.id, cs.session))?.id,
        title: number.get(cs.session)?.title,
        dates: cs.date === "TBD" ? "TBD" : dateRangeText(cs.date, cs.endDate),
        tbd: cs.date === "TBD",
        lastDate: cs.date === "TBD" ? undefined : (cs.endDate ?? cs.date),
        time: itemTime(ix.byCohortSession.get(cohortKey(s.id, c.id, cs.session)), ix.zone, true),
        // Only a session's own location is listed per row; the cohort's applies to all.
        location: placeText(cs.location),
        cancelled: cs.status === "cancelled",
      })),
    })),
  };
}

function whenText(w: CalendarItem["when"], zone: string): string {
  if (w.type === "tbd") return "Date to be announced";
  if (w.type === "all-day")
    return w.startDate === w.lastDate
      ? `${longDateText(w.startDate)} (all day)`
      : `${longDateRangeText(w.startDate, w.lastDate)} (all day)`;
  const day = w.start.setZone(zone).setLocale("en-US").toFormat("cccc, LLLL d, yyyy");
  return `${day}, ${timeRangeText(w.start, w.end, zone)}`;
}

interface InviteBase {
  id: string;
  title: string;
  when: string;
  where?: string | undefined;
  cancelled: boolean;
  tentative: boolean;
  day?: ReturnType<typeof dayView> | undefined;
  dated: boolean;
}

/** What a calendar send is to its recipient (decided by mail/compose.ts). */
export interface InviteChange {
  method: CalendarMethod;
  /** An update of an invite the recipient already holds (not a first invite). */
  update: boolean;
  /** Which of time, place, status, title, agenda changed, when known. */
  changed: string[];
  /** The item as attendees hold it: describes a cancelled item no longer dated in the definition. */
  last?: ItemSnapshot;
}

/** The cover's description of an item from its stored snapshot, as the attendee received it. */
function snapshotInvite(s: ItemSnapshot, zone: string): InviteBase {
  const w = s.when;
  const when: CalendarItem["when"] =
    w.type === "timed"
      ? { type: "timed", start: DateTime.fromISO(w.start), end: DateTime.fromISO(w.end) }
      : w.type === "all-day"
        ? { type: "all-day", startDate: w.startDate, lastDate: addDays(w.endDate, -1) }
        : { type: "tbd" };
  return {
    id: s.id,
    title: s.summary,
    when: whenText(when, zone),
    where: s.location,
    cancelled: s.status === "CANCELLED",
    tentative: s.status === "TENTATIVE",
    dated: w.type !== "tbd",
  };
}

/**
 * The invite a calendar cover describes: the item as defined now when it is dated (as the
 * attached calendar is), else as attendees hold it (a CANCEL for an item deleted or back to TBD).
 * Never another item: a cover describing the wrong day is worse than a failed send.
 */
function inviteView(
  invites: ReadonlyMap<string, InviteBase>,
  i: Pick<ViewInput, "item" | "calendar" | "step">,
  zone: string,
) {
  const id = i.item;
  if (!id) throw new Error(`step ${i.step.id}: a calendar invite needs a calendar item`);
  const live = invites.get(id);
  const last = i.calendar?.last;
  const base = live?.dated ? live : last ? snapshotInvite(last, zone) : live;
  if (!base)
    throw new Error(
      `calendar item "${id}" is not in the definition, and no snapshot of it was given to describe it`,
    );
  const cancel = i.calendar?.method === "CANCEL";
  const update = !cancel && !!i.calendar?.update;
  const changed = i.calendar?.changed ?? [];
  return {
    ...base,
    cancel,
    update,
    changed,
    changedText: listText(changed),
    // A cancellation says what is cancelled; the agenda would read as if it still happens.
    agenda: !cancel && !!base.day?.sessions.length,
  };
}

/** Keeps what is still ahead on `date` (ISO local date): ending that day or later, or TBD. */
function upcoming<T extends { lastDate?: string | undefined }>(
  xs: readonly T[],
  date: string,
): T[] {
  return xs.filter((x) => !x.lastDate || x.lastDate >= date);
}

/** Marks what lies before `date` as already held, keeping it in the list. */
function markPast<T extends { lastDate?: string | undefined }>(
  xs: readonly T[],
  date: string,
): (T & { past: boolean })[] {
  return xs.map((x) => ({ ...x, past: !!x.lastDate && x.lastDate < date }));
}

/**
 * Series with their cohorts' past sessions left out (a cohort or series with none left goes),
 * or, when the step asks for them (`showPast`), kept and marked as already held.
 */
function upcomingSeries(
  series: readonly ReturnType<typeof seriesView>[],
  date: string,
  showPast: boolean,
) {
  return series.flatMap((s) => {
    const cohorts = s.cohorts.flatMap((c) => {
      const sessions = showPast ? markPast(c.sessions, date) : upcoming(c.sessions, date);
      return sessions.length ? [{ ...c, sessions }] : [];
    });
    return cohorts.length || !s.cohorts.length ? [{ ...s, cohorts }] : [];
  });
}

/** A step value that switches something on: `showPast: "yes"` (or true, on). */
function switchedOn(value: string | undefined): boolean {
  return /^(yes|true|on)$/i.test(value?.trim() ?? "");
}

/**
 * The part of the view that depends only on the event, computed once per definition: formatting
 * dates with Luxon for every day and session costs more than filling the template, and it is
 * the same for every recipient.
 */
const eventParts = new WeakMap<EventSpec, ReturnType<typeof eventPart>>();

function eventPart(ev: EventSpec) {
  const links: Record<string, string> = {};
  for (const [k, v] of Object.entries(ev.links ?? {})) {
    links[k] = v;
    links[camel(k)] = v;
  }
  const mainDays = ev.days.filter((d) => !d.audience);
  const main = mainDays.length ? mainDays : ev.days;
  const first = main[0] as DaySpec;
  const last = main[main.length - 1] as DaySpec;
  const speakers = (ev.speakers ?? []).map(speakerView);
  const items = itemsOf(ev);
  const ix = indexItems(items, ev.timezone);
  const invites = new Map(
    items.map((item) => [
      item.id,
      {
        id: item.id,
        title: item.title,
        when: whenText(item.when, item.zone ?? ev.timezone),
        where: item.location,
        cancelled: item.status === "cancelled",
        tentative: item.status === "tentative",
        day: item.source.kind === "day" ? dayView(item.source.day, ix) : undefined,
        dated: item.when.type !== "tbd",
      } as InviteBase,
    ]),
  );
  return {
    event: {
      id: ev.id,
      title: ev.title,
      name: ev.title,
      shortTitle: ev.shortTitle ?? ev.title,
      theme: ev.theme,
      paragraphs: paragraphs(ev.description),
      dates: dateRangeText(first.date, last.date),
      longDates: longDateRangeText(first.date, last.date),
      year: first.date.slice(0, 4),
      url: ev.links?.["event-page"] ?? ev.registration.url ?? ev.organizer.website,
      timezone: ev.timezone,
    },
    organizer: { ...ev.organizer },
    contact: { ...ev.contact },
    signatory: ev.signatory,
    venue: {
      name: ev.venue.name,
      address: ev.venue.address,
      full: ev.venue.address ? `${ev.venue.name}, ${ev.venue.address}` : ev.venue.name,
    },
    links,
    hashtags: ev.hashtags ?? [],
    hashtagText: (ev.hashtags ?? []).join(" "),
    speakers,
    speakerNames: listText(speakers.map((s) => s.name)),
    coalition: ev.coalition ?? [],
    coalitionText: listText(ev.coalition ?? []),
    registration: {
      deadline: dateText(ev.registration.deadline),
      deadlineShort: dayMonthText(ev.registration.deadline),
      deadlineLong: longDateText(ev.registration.deadline),
      terms: ev.registration.terms,
      url: ev.registration.url ?? ev.links?.registration ?? ev.links?.["event-page"],
    },
    mainDays: main.map((d) => dayView(d, ix)),
    extraDays: ev.days.filter((d) => d.audience && mainDays.length).map((d) => dayView(d, ix)),
    days: ev.days.map((d) => dayView(d, ix)),
    related: (ev.related ?? []).map((r) => relatedView(r, ix)),
    series: (ev.series ?? []).map((x) => seriesView(x, ix)),
    invites,
  };
}

function eventPartOf(ev: EventSpec) {
  let p = eventParts.get(ev);
  if (!p) {
    p = eventPart(ev);
    eventParts.set(ev, p);
  }
  return p;
}

export interface ViewInput {
  def: EventDefinition;
  step: StepSpec;
  recipient: Recipient;
  /** The calendar item a calendar-invite send carries. */
  item?: string;
  /** The local date the message is dated (the letter's date line), ISO. */
  date: string;
  subject: string;
  unsubscribe?: { url: string; mailto: string };
  /** For calendar invites: a first invite, an update or a cancellation (see InviteChange). */
  calendar?: InviteChange;
}

/**
 * Step `values` may rename what the prose calls the event and the venue (`eventName`,
 * `venueName`), e.g. the letter's "San Diego Doubletree Hotel Mission Valley".
 */
export function buildView(i: ViewInput) {
  const { invites, ...ev } = eventPartOf(i.def.event);
  const values = i.step.values ?? {};
  const r = i.recipient;
  const about =
    ev.related.find((x) => x.id === i.step.about) ?? ev.series.find((x) => x.id === i.step.about);
  const kind = kindOf(i.def, i.step.kind);
  const invite = kind.invites ? inviteView(invites, i, i.def.event.timezone) : undefined;
  const related = upcoming(ev.related, i.date);
  const series = upcomingSeries(ev.series, i.date, switchedOn(values.showPast));
  const add = announcedDates(i.def, i.step, i.date, { series, related });
  return {
    ...ev,
    subject: i.subject,
    kind: i.step.kind,
    step: i.step.id,
    bulk: kind.bulk,
    values,
    date: dateText(i.date),
    // "Upcoming" lists: what lies before the day the message is sent is not upcoming.
    related: add.related,
    series: add.series,
    /** The PUBLISH file (attached by mail/compose.ts) and links, where the message announces dates. */
    addToCalendar: add.file,
    recipient: {
      name: r.name,
      email: r.email,
      salutation: r.salutation ?? r.name,
      organization: r.organization,
      title: r.title,
      team: r.team,
      role: r.role,
      district: r.fields.district ?? r.organization ?? r.team,
      fields: r.fields,
    },
    event: values.eventName ? { ...ev.event, name: values.eventName } : ev.event,
    venue: values.venueName ? { ...ev.venue, name: values.venueName } : ev.venue,
    about: about && "itemId" in about ? withLinks(about, add.links) : about,
    aboutRelated: ev.related.find((x) => x.id === i.step.about),
    aboutSeries: ev.series.find((x) => x.id === i.step.about),
    invite,
    unsubscribe: i.unsubscribe,
  };
}

export type View = ReturnType<typeof buildView>;

/** The date a message is dated: its due time in the event's zone. */
export function localDate(instant: DateTime, zone: string): string {
  return instant.setZone(zone).toISODate() as string;
}

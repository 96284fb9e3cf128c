/**
 * What an item looked like when it was sent, reduced to what attendees' calendars act on, and
 * its fingerprint.
 *
 * THE CHANGE RULE. A change that sends an update (REQUEST, SEQUENCE + 1) to everyone who has the
 * item is a change of:
 *   - time: DTSTART/DTEND instants (or the dates of an all-day item),
 *   - place: LOCATION (room and venue),
 *   - status: confirmed / tentative / cancelled,
 *   - title: SUMMARY,
 * of the item itself or of any item shown inside it — a day's sessions and their breakout
 * tracks — because a day's invite carries that agenda, and a moved session or a changed room is
 * news to the people holding the day. Adding or removing a session of a day changes the day too.
 * Descriptions, speakers, notes, links and other wording are NOT part of it: fixing a typo or
 * rewording a blurb sends nothing (the next invite or update carries the new text anyway).
 */
import { createHash } from "node:crypto";
import type { CalendarItem } from "../model/items.js";
import { itemsOf } from "../model/items.js";
import type { EventSpec } from "../model/schema.js";
import { addDays } from "../model/time.js";
import type { IcsStatus } from "./build.js";
import { icsStatus, itemSummary } from "./describe.js";

export type SnapshotWhen =
  /** ISO 8601 UTC instants; `end` equals `start` for a point in time. */
  | { type: "timed"; start: string; end: string }
  /** `endDate` exclusive, as in DTEND;VALUE=DATE. */
  | { type: "all-day"; startDate: string; endDate: string }
  | { type: "tbd" };

export interface ItemFields {
  id: string;
  summary: string;
  status: IcsStatus;
  when: SnapshotWhen;
  location?: string;
}

export interface ItemSnapshot extends ItemFields {
  /** The items shown inside this one (a day's sessions and tracks), in order. */
  parts: ItemFields[];
}

function whenOf(item: CalendarItem): SnapshotWhen {
  const w = item.when;
  if (w.type === "timed")
    return {
      type: "timed",
      start: w.start.toUTC().toISO() ?? "",
      end: w.end.toUTC().toISO() ?? "",
    };
  if (w.type === "all-day")
    return { type: "all-day", startDate: w.startDate, endDate: addDays(w.lastDate, 1) };
  return { type: "tbd" };
}

function fieldsOf(item: CalendarItem): ItemFields {
  return {
    id: item.id,
    summary: itemSummary(item),
    status: icsStatus(item),
    when: whenOf(item),
    ...(item.location ? { location: item.location } : {}),
  };
}

function descendants(all: readonly CalendarItem[], id: string): CalendarItem[] {
  const out: CalendarItem[] = [];
  for (const i of all) if (i.parent === id) out.push(i, ...descendants(all, i.id));
  return out;
}

export function itemSnapshot(
  event: EventSpec,
  item: CalendarItem,
  all: readonly CalendarItem[] = itemsOf(event),
): ItemSnapshot {
  return { ...fieldsOf(item), parts: descendants(all, item.id).map(fieldsOf) };
}

/** A short hash of the snapshot: equal exactly when no field of the change rule differs. */
export function fingerprint(s: ItemSnapshot): string {
  const pick = (f: ItemFields) => [f.id, f.summary, f.status, f.when, f.location ?? null];
  return createHash("sha256")
    .update(JSON.stringify([pick(s), s.parts.map(pick)]))
    .digest("hex")
    .slice(0, 16);
}

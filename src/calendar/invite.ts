/**
 * The iTIP message for one attendee and one calendar item: a REQUEST (first invite or update)
 * or a CANCEL. One VEVENT per message, so one UID per message (checklist point 4: all VEVENTs
 * of an iTIP message share one UID; a single VEVENT is the simplest way to keep that true).
 */

import { DateTime } from "luxon";
import type { CalendarItem } from "../model/items.js";
import { itemsOf } from "../model/items.js";
import type { EventDefinition, Recipient } from "../model/types.js";
import type { CalendarMethod } from "../types.js";
import { buildIcs, type VEventInput, type VEventWhen } from "./build.js";
import { itemDescription, itemUrl } from "./describe.js";
import { type ItemSnapshot, itemSnapshot } from "./snapshot.js";
import { itemUid } from "./uid.js";

export interface Invite {
  ics: string;
  uid: string;
  method: CalendarMethod;
  sequence: number;
  summary: string;
}

/**
 * A REQUEST needs DTEND after DTSTART (checklist point 7), but an agenda may have points in time
 * ("Adjourn"). Such an item, if invited on its own, is given this length rather than refused.
 */
const POINT_ITEM_MINUTES = 15;

function whenFrom(s: ItemSnapshot, zone: string, method: CalendarMethod): VEventWhen {
  const w = s.when;
  if (w.type === "all-day") return { type: "all-day", startDate: w.startDate, endDate: w.endDate };
  if (w.type === "tbd") throw new Error(`calendar item "${s.id}" has no date yet (TBD)`);
  const start = DateTime.fromISO(w.start, { zone });
  let end = DateTime.fromISO(w.end, { zone });
  if (method === "REQUEST" && end <= start) end = start.plus({ minutes: POINT_ITEM_MINUTES });
  return end > start ? { type: "timed", start, end } : { type: "timed", start };
}

type InviteOptions = Parameters<typeof buildInvite>[1];

/**
 * What the invite describes: the item as it is now, or for a CANCEL of an item gone from the
 * definition, as it was last sent. A REQUEST for something that cannot be attended is a bug in
 * the caller, so it throws with the reason rather than inviting to nothing.
 */
function snapshotToSend(
  o: Pick<InviteOptions, "method" | "itemId" | "last">,
  item: CalendarItem | undefined,
  live: ItemSnapshot | undefined,
): ItemSnapshot {
  if (o.method === "REQUEST" && (!live || live.status === "CANCELLED"))
    throw new Error(`calendar item "${o.itemId}" cannot be invited: it is ${notInvitable(item)}`);
  const snap = live ?? o.last;
  if (!snap)
    throw new Error(
      `calendar item "${o.itemId}" is not in the definition: pass its last snapshot to cancel it`,
    );
  return snap;
}

function notInvitable(item: CalendarItem | undefined): string {
  if (!item) return "not in the definition";
  return item.when.type === "tbd" ? "not dated yet (TBD)" : "cancelled";
}

function checkParties(o: InviteOptions, organizerEmail: string): void {
  checkAttendee(o.recipient, organizerEmail);
  checkSequence(o.sequence);
}

export function checkAttendee(recipient: Pick<Recipient, "email">, organizerEmail: string): void {
  if (recipient.email.toLowerCase() === organizerEmail.toLowerCase())
    throw new Error(`the organizer (${organizerEmail}) cannot be an attendee of their own invite`);
}

export function checkSequence(sequence: number): void {
  if (!Number.isInteger(sequence) || sequence < 0)
    throw new Error(`SEQUENCE must be a whole number ≥ 0, not ${sequence}`);
}

/** Everything buildInvite takes apart from the attendee and DTSTAMP. */
export type InviteShape = Omit<InviteOptions, "recipient" | "stamp">;

/**
 * The recipient-independent half of buildInvite: the one VEVENT without its attendee, and the
 * organizer it names. Throws as buildInvite does for an item that cannot be invited or cancelled.
 */
export function inviteEvent(
  def: EventDefinition,
  o: InviteShape,
): { vevent: VEventInput; uid: string; organizer: { name: string; email: string } } {
  const ev = def.event;
  const all = itemsOf(ev);
  const item = all.find((i) => i.id === o.itemId);
  const snap = snapshotToSend(
    o,
    item,
    item && item.when.type !== "tbd" ? itemSnapshot(ev, item, all) : undefined,
  );
  const organizer = o.held?.organizer ?? ev.organizer;
  const uid = o.held?.uid ?? itemUid(ev, o.itemId);
  const cancel = o.method === "CANCEL";
  const description =
    item && item.when.type !== "tbd"
      ? itemDescription(ev, item)
      : "This item has been removed from the programme.";
  const url = item ? itemUrl(ev, item) : undefined;
  const vevent: VEventInput = {
    uid,
    sequence: o.sequence,
    summary: snap.summary,
    status: cancel ? "CANCELLED" : snap.status,
    when: whenFrom(snap, ev.timezone, o.method),
    ...(snap.location ? { location: snap.location } : {}),
    ...(description ? { description } : {}),
    ...(url ? { url } : {}),
    organizer: { name: organizer.name, email: organizer.email },
  };
  return { vevent, uid, organizer };
}

export function buildInvite(
  def: EventDefinition,
  o: {
    itemId: string;
    recipient: Recipient;
    sequence: number;
    method: CalendarMethod;
    stamp: DateTime;
    /**
     * The item as last sent (from the state store). Needed only to cancel an item that has been
     * removed from the definition, so the CANCEL still names its time and place.
     */
    last?: ItemSnapshot;
    /**
     * For a CANCEL: the UID and organizer the attendee's copy carries, which the cancellation
     * must repeat for the client to match it, whatever the definition says now.
     */
    held?: { uid: string; organizer: { name: string; email: string } };
  },
): Invite {
  const ev = def.event;
  const { vevent, uid, organizer } = inviteEvent(def, o);
  checkParties(o, organizer.email);
  const ics = buildIcs({
    method: o.method,
    zone: ev.timezone,
    stamp: o.stamp,
    events: [{ ...vevent, attendees: [{ name: o.recipient.name, email: o.recipient.email }] }],
  });
  return { ics, uid, method: o.method, sequence: o.sequence, summary: vevent.summary };
}

/**
 * An invite built once per (definition, item, SEQUENCE, METHOD, what the attendee holds) and
 * filled per recipient: only the ATTENDEE and DTSTAMP lines differ between the copies of one
 * step occurrence. Building the VEVENT (the agenda's DESCRIPTION, Luxon zone names) and
 * ical-generator's serialising and folding were a quarter of an invite's CPU when done per
 * recipient (issue 12).
 *
 * The template is made by buildIcs itself with a placeholder attendee and DTSTAMP, so the
 * library still lays out every line; per recipient the placeholders are replaced by what
 * ical-generator would have written (the CN as safeCn gives it, the address as is) and only
 * those two lines are folded. An address or a name the library would escape or leave out (a
 * `;`, `,`, `\`, `:` or space in the address, a name that safeCn empties) goes the slow way,
 * buildInvite, so nothing here has to imitate the library's escaping.
 * test/calendar/invite-template.test.ts compares both paths byte for byte.
 */
import { DateTime } from "luxon";
import type { EventDefinition, Recipient } from "../model/types.js";
import { buildIcsLines, safeCn } from "./build.js";
import { foldLine, propName } from "./ics-text.js";
import {
  buildInvite,
  checkAttendee,
  checkSequence,
  type Invite,
  type InviteShape,
  inviteEvent,
} from "./invite.js";

interface InviteTemplate {
  /** Every content line folded, the ATTENDEE and DTSTAMP ones included (replaced per copy). */
  folded: string[];
  attendeeAt: number;
  /** The ATTENDEE content line with the placeholders, unfolded. */
  attendee: string;
  stampAt: number;
  uid: string;
  summary: string;
  organizerEmail: string;
}

const PLACEHOLDER_NAME = "CONVENE-ATTENDEE-NAME";
const PLACEHOLDER_EMAIL = "convene-attendee@placeholder.invalid";
const PLACEHOLDER_STAMP = DateTime.fromMillis(0, { zone: "UTC" });

/** Per definition object: a reload that changed anything makes a new one (worker/definitions.ts). */
const templates = new WeakMap<EventDefinition, Map<string, InviteTemplate>>();

/** An occurrence has a handful of shapes; this only bounds a definition that lives very long. */
const MAX_TEMPLATES_PER_DEFINITION = 256;

let enabled = process.env.CONVENE_PREPARED_PARTS !== "off";

/**
 * Turns the prepared parts off (everything composed the slow way) or back on: the equivalence
 * test compares both, and `CONVENE_PREPARED_PARTS=off` lets the benchmark measure both in one
 * build.
 */
export function setPreparedParts(on: boolean): void {
  enabled = on;
}

export function preparedPartsEnabled(): boolean {
  return enabled;
}

function shapeKey(o: InviteShape): string {
  return JSON.stringify([o.itemId, o.sequence, o.method, o.last ?? null, o.held ?? null]);
}

function makeTemplate(def: EventDefinition, o: InviteShape): InviteTemplate {
  checkSequence(o.sequence);
  const { vevent, uid, organizer } = inviteEvent(def, o);
  const lines = buildIcsLines({
    method: o.method,
    zone: def.event.timezone,
    stamp: PLACEHOLDER_STAMP,
    events: [{ ...vevent, attendees: [{ name: PLACEHOLDER_NAME, email: PLACEHOLDER_EMAIL }] }],
  });
  const attendeeAt = lines.findIndex((l) => propName(l) === "ATTENDEE");
  const stampAt = lines.findIndex((l) => propName(l) === "DTSTAMP");
  const attendee = lines[attendeeAt] ?? "";
  if (
    stampAt < 0 ||
    lines.filter((l) => propName(l) === "DTSTAMP").length !== 1 ||
    !attendee.includes(`CN="${PLACEHOLDER_NAME}"`) ||
    !attendee.endsWith(`:mailto:${PLACEHOLDER_EMAIL}`)
  )
    throw new Error("calendar: the invite template lost its ATTENDEE or DTSTAMP placeholder");
  return {
    folded: lines.map(foldLine),
    attendeeAt,
    attendee,
    stampAt,
    uid,
    summary: vevent.summary,
    organizerEmail: organizer.email,
  };
}

function templateFor(def: EventDefinition, o: InviteShape): InviteTemplate {
  let byShape = templates.get(def);
  if (!byShape) {
    byShape = new Map();
    templates.set(def, byShape);
  }
  const key = shapeKey(o);
  let t = byShape.get(key);
  if (!t) {
    t = makeTemplate(def, o);
    if (byShape.size >= MAX_TEMPLATES_PER_DEFINITION) byShape.clear();
    byShape.set(key, t);
  }
  return t;
}

/** What ical-generator writes unescaped: anything else is left to it (buildInvite). */
const PLAIN_EMAIL = /^[^\s\\;,:"]+$/;

function plainParty(r: Pick<Recipient, "name" | "email">): boolean {
  return PLAIN_EMAIL.test(r.email) && safeCn(r.name).length > 0;
}

/** DTSTAMP as ical-generator writes a UTC instant (seconds, no fraction). */
function stampLine(stamp: DateTime): string {
  return `DTSTAMP:${stamp.toUTC().toFormat("yyyyLLdd'T'HHmmss'Z'")}`;
}

/** buildInvite, from the occurrence's template when the recipient allows it. */
export function inviteFor(def: EventDefinition, o: Parameters<typeof buildInvite>[1]): Invite {
  if (!enabled || !plainParty(o.recipient)) return buildInvite(def, o);
  const t = templateFor(def, o);
  checkAttendee(o.recipient, t.organizerEmail);
  const folded = t.folded.slice();
  folded[t.attendeeAt] = foldLine(
    t.attendee
      .replace(`CN="${PLACEHOLDER_NAME}"`, () => `CN="${safeCn(o.recipient.name)}"`)
      .replace(`:mailto:${PLACEHOLDER_EMAIL}`, () => `:mailto:${o.recipient.email}`),
  );
  folded[t.stampAt] = stampLine(o.stamp);
  return {
    ics: `${folded.join("\r\n")}\r\n`,
    uid: t.uid,
    method: o.method,
    sequence: o.sequence,
    summary: t.summary,
  };
}

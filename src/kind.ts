/**
 * What a message kind is, in one interface: a file in jobs/ declares it (`jobs/<kind>.ts`, found
 * by jobs/index.ts) and everything else reads these declarations instead of comparing kind
 * names. Two halves:
 *  - what a message of the kind is (pure: subject, bulk or not, the calendar it carries, its
 *    MIME parts, what `convene validate` refuses), read by the planner, render and mail;
 *  - what the worker does for it (re-checks before sending, the iTIP SEQUENCE and METHOD,
 *    rebuilding a send the planner does not make, after-send bookkeeping). Everything common —
 *    control, re-planning, suppression, the ledger claim, SMTP and its errors — is the shared
 *    runtime's (src/worker/runtime.ts).
 *
 * The registry reaches src/ from the composition root (src/cli.ts) through loadEvent, which
 * checks every step's kind against it and keeps it on the definition (`def.kinds`).
 */

import type { DateTime } from "luxon";
import type Mail from "nodemailer/lib/mailer/index.js";
import type { InviteBasis } from "./calendar/basis.js";
import type { ItemSnapshot } from "./calendar/snapshot.js";
import type { CalendarItem } from "./model/items.js";
import type { StepSpec } from "./model/schema.js";
import type { EventDefinition, Recipient, Registration } from "./model/types.js";
import type { Send } from "./planner/send.js";
import type { Rendered } from "./render/render.js";
import type { View } from "./render/view.js";
import type { Stores } from "./store/index.js";
import type { CalendarMethod, RsvpAnswer } from "./types.js";
import type { LoadedEvent } from "./worker/definitions.js";
import type { SendJobData } from "./worker/queue.js";

/** The iTIP methods convene sends an attendee: an invite or update, or a cancellation. */
export type { CalendarMethod } from "./types.js";

/**
 * How one calendar send is rendered: decided by the kind's `calendar` hook in the worker, given
 * by hand in previews and tests, and read by compose and the view.
 */
export interface CalendarParams {
  sequence: number;
  method: CalendarMethod;
  /**
   * The item as attendees hold it (the lifecycle state's snapshot). A CANCEL for an item that
   * is no longer dated in the definition (deleted, or back to TBD) is built and described from it.
   */
  last?: ItemSnapshot;
  /** For an update: which of time, place, status, title, agenda changed, for its cover. */
  changed?: readonly string[];
  /**
   * How the recipient's copy was composed (stored with its delivery record). An update or
   * CANCEL whose step has been deleted is worded from it, and a CANCEL comes from the organizer
   * and carries the UID the attendee holds.
   */
  basis?: InviteBasis;
}

export interface CheckContext {
  data: SendJobData;
  loaded: LoadedEvent;
  /** Registrations of the recipient's team known now (file and Redis). */
  registrations: readonly Registration[];
  /** Calendar answers, read only when a step of the event has `when: { rsvp }`. */
  rsvps?: readonly RsvpAnswer[];
  now: DateTime;
  stores: Stores;
}

/** Returns why the send must be skipped, or undefined to go on. */
export type Check = (ctx: CheckContext) => Promise<string | undefined> | string | undefined;

/** What a message announces, to pick the dates of its "add to calendar" file from. */
export interface AnnouncedContext {
  def: EventDefinition;
  step: StepSpec;
  /** Every calendar item of the event. */
  all: readonly CalendarItem[];
  /** The items of what the message lists as upcoming (series sessions, related events). */
  listed: ReadonlySet<string>;
}

/** A message that announces dates: a PUBLISH .ics attached and add-to-calendar links. */
export interface AnnouncedDates {
  items(c: AnnouncedContext): CalendarItem[];
  /** The file's base name and its calendar's name. */
  file(def: EventDefinition, step: StepSpec): { filename: string; name: string };
}

export interface PartsContext {
  def: EventDefinition;
  send: Send;
  recipient: Recipient;
  calendar?: CalendarParams;
  /** The DTSTAMP; defaults to the send's due time. */
  now?: DateTime;
  rendered: Rendered;
}

export interface Kind {
  /** What campaign steps write as `kind:`; also the name of its file in jobs/ and its template. */
  readonly name: string;
  /** Bulk mail under RFC 8058: the message carries one-click unsubscribe. */
  readonly bulk: boolean;
  /** The subject when the step sets none. */
  subject(v: Omit<View, "subject">): string;
  /**
   * Each send carries one calendar item's iTIP invitation: a step sends one message per item (its
   * `items`, which only such steps may list, else every day), the view describes the item
   * (`invite`), and an update or CANCEL may outlive its step and its recipient's audience row.
   */
  readonly invites?: boolean;
  /** The dates the message announces, with their file and links. */
  readonly announces?: AnnouncedDates;
  /** MIME parts merged over the composed message (the invite's text/calendar parts). */
  parts?(c: PartsContext): Partial<Mail.Options>;
  /**
   * What `convene validate` says of a step of this kind in its event, one sentence each: a
   * string is refused (an error), `{ warning }` is reported and still sent.
   */
  stepProblems?(step: StepSpec, def: EventDefinition): StepProblem[];

  /** Re-checks before sending, after the common ones. */
  readonly checks: readonly Check[];
  /** Calendar invites: the SEQUENCE and METHOD this send is rendered with. */
  calendar?: (ctx: CheckContext & { send: Send }) => Promise<CalendarParams> | CalendarParams;
  /**
   * Sends that are not the planner's (calendar updates and cancellations) are rebuilt from the
   * job instead of re-planned; return undefined for a planner send.
   */
  fromJob?: (ctx: CheckContext) => Send | undefined;
  /** After SMTP accepted the message (e.g. record who now holds which calendar version). */
  afterSent?: (ctx: CheckContext & { send: Send; calendar?: CalendarParams }) => Promise<void>;
}

/** Every kind convene knows, by name: jobs/index.ts builds it, the CLI passes it in. */
/** See Kind.stepProblems. */
export type StepProblem = string | { warning: string };

export type KindRegistry = ReadonlyMap<string, Kind>;

export function defineKind(k: Kind): Kind {
  return k;
}

/** The definition of a kind a loaded definition uses; loadEvent has refused any other. */
export function kindOf(def: Pick<EventDefinition, "kinds">, name: string): Kind {
  const kind = def.kinds.get(name);
  if (!kind) throw new Error(`unknown message kind "${name}" (known: ${knownKinds(def.kinds)})`);
  return kind;
}

export function knownKinds(kinds: KindRegistry): string {
  return [...kinds.keys()].sort().join(", ");
}

/** Reminders are only for teams that have not registered; one that registered since is skipped. */
export const teamNotRegistered: Check = ({ data, loaded, registrations, now }) => {
  const step = loaded.def.campaign.steps.find((s) => s.id === data.step);
  const recipient = step && loaded.byEmail.get(step.audience)?.get(data.recipient.toLowerCase());
  const team = recipient?.team;
  if (!team) return undefined;
  const reg = registrations
    .filter((r) => r.team === team && Date.parse(r.registeredAt) <= now.toMillis())
    .sort((a, b) => a.registeredAt.localeCompare(b.registeredAt))[0];
  return reg ? `team ${team} registered (${reg.registeredAt})` : undefined;
};

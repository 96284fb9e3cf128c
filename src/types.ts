/**
 * convene's vocabulary: the words the rest of the code uses, and the types that carry them
 * between the planner, the queue, the worker and the ledger (as graphile-worker's
 * `interfaces.ts` does for its own).
 *
 * Glossary
 * - event: one gathering, described by a folder (`event.yaml`, `campaign.yaml`, CSV files,
 *   templates). Its id is a slug and prefixes everything convene stores about it.
 * - campaign, step: the messages of an event. A step names a kind, an audience, a trigger
 *   (when) and a missed window (how late it may still go out).
 * - kind: what sort of message a step sends (invitation letter, reminder, calendar invite, …).
 *   Everything kind-specific is declared in one file of `jobs/`; see `src/kind.ts`.
 * - audience, recipient, team: a CSV of people; a team is the unit that registers.
 * - calendar item: a day, session, track or cohort session of the event, with a stable UID.
 * - send: one message to one recipient at one moment. Its id (`<event>.<step>.<hash>`, see
 *   `sendId`) is deterministic: the same send always gets the same id, which is the BullMQ job
 *   id, the ledger field and the Message-ID's local part. That is what makes re-planning,
 *   several workers and restarts safe.
 * - planned send: a send as the scheduler handles it, the planner's or a calendar update or
 *   cancellation the calendar lifecycle issued (`method` set).
 * - job: a planned send queued on BullMQ, carrying only `SendJobData`; the processor re-plans
 *   it from the current definition before sending.
 * - tick: the scheduler's minute pass: plan, compare with the ledger, queue, move or drop.
 * - ledger: the record of what happened to every send (`src/store/ledger.ts`), moved only by
 *   compare-and-set, so a send is claimed by one worker at most.
 * - unconfirmed: an attempt that ended without knowing whether SMTP accepted the message; the
 *   send is tried again and marked, the one documented way a message may arrive twice.
 * - control: an organizer's pause or cancel of an event or a step.
 * - suppression: an address that must not be mailed again (hard bounce, unsubscribe).
 * - calendar method: REQUEST (invite or update) or CANCEL, as in iTIP (RFC 5546); a SEQUENCE
 *   orders the versions of one item. PUBLISH is only for files added to other mail.
 * - inbound: what comes back to the organizer's mailbox, read by `convene inbound`
 *   (src/inbound/): bounces (DSNs), RSVPs and mailto unsubscribes.
 * - bounce: a delivery status notification; a hard one (failed, 5.x.x) makes its send `bounced`
 *   and suppresses the address. VERP (`BOUNCE_ADDRESS`) puts the send id in the envelope sender
 *   so a bounce names its send.
 * - RSVP: an invitee's answer (PARTSTAT) to a calendar item, from their client's iMIP REPLY,
 *   for the SEQUENCE it answers; runtime state the planner reads like registrations.
 */

/** A step's `kind`: the name of a file in `jobs/` (checked against the registry when loading). */
export type MessageKind = string;

/** iTIP method of a message to attendees. */
export type CalendarMethod = "REQUEST" | "CANCEL";
/** Any iCalendar object convene writes: attendee messages, and PUBLISH files (.ics links). */
export type IcsMethod = CalendarMethod | "PUBLISH";

/** One message to one recipient at one moment: the unit the scheduler queues and the ledger tracks. */
export interface Send {
  /** Deterministic: the BullMQ job id, the ledger key and the Message-ID's local part. */
  id: string;
  event: string;
  step: string;
  kind: MessageKind;
  /** The recipient's e-mail address as written in the CSV. */
  recipient: string;
  name: string;
  team?: string;
  /** For calendar invites: the calendar item this send carries. */
  item?: string;
  /**
   * Content version: 0 for a first send; calendar updates and cancellations carry the item's
   * SEQUENCE so each new version is a new send with its own id.
   */
  version: number;
  /** ISO 8601 UTC. */
  due: string;
  /** The same instant in the zone the trigger was computed in, with its offset. */
  dueLocal: string;
  /** That zone: the event's, or the recipient's for `zone: recipient` steps. */
  zone: string;
  /** ISO 8601 UTC: after this the send is missed, not sent late. */
  expires: string;
}

/** What a send id is computed from (`sendId`); the due time is deliberately not part of it. */
export interface SendKey {
  event: string;
  step: string;
  recipient: string;
  item?: string;
  version: number;
}

/** A send as the scheduler handles it: the planner's, or a calendar update or cancellation. */
export interface PlannedSend extends Send {
  /** Set on calendar updates and cancellations (version > 0). */
  method?: CalendarMethod;
  /** For an update caused by an edit: which of time, place, status, title, agenda changed. */
  changed?: string[];
}

/** An update or cancellation the calendar lifecycle issued. */
export interface CalendarSend extends PlannedSend {
  method: CalendarMethod;
}

/**
 * What a job carries: just enough to find the send again. The processor re-plans the send from
 * the current definition before sending, so nothing here is trusted beyond its identity.
 */
export interface SendJobData {
  id: string;
  event: string;
  /** The event directory, for a worker started without this event in its list. */
  dir: string;
  step: string;
  kind: MessageKind;
  recipient: string;
  item?: string;
  version: number;
  /** ISO UTC, as planned when the job was added. */
  due: string;
  expires: string;
  /**
   * Calendar lifecycle sends (updates, cancellations; version > 0): REQUEST or CANCEL. These are
   * not the planner's, so the job carries the rest of the send for the processor to rebuild it.
   */
  method?: CalendarMethod;
  /** For an update: which of time, place, status, title, agenda changed (its cover says so). */
  changed?: string[];
  name?: string;
  team?: string;
  dueLocal?: string;
  zone?: string;
}

/**
 * An invitee's current answer to a calendar item, read from their calendar client's iMIP REPLY
 * (`convene inbound`). Runtime state like registrations: the planner takes it as input for
 * `when: { rsvp: … }` steps.
 */
export interface RsvpAnswer {
  item: string;
  /** Lowercased. */
  email: string;
  /** ACCEPTED, DECLINED, TENTATIVE, … as the client sent it. */
  partstat: string;
}

/** Where a send stands in the ledger; the moves between them are drawn in `src/store/ledger.ts`. */
export const LEDGER_STATES = [
  "scheduled",
  "sending",
  "sent",
  "failed",
  "skipped",
  "suppressed",
  "missed",
  "unconfirmed",
  /** Accepted by SMTP, then a hard bounce (a DSN read by `convene inbound`) said it never arrived. */
  "bounced",
] as const;
export type LedgerState = (typeof LEDGER_STATES)[number];

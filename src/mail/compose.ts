/**
 * Turns a planned send into a complete nodemailer message: addresses, a deterministic
 * Message-ID and Date, the rendered HTML and text, one-click unsubscribe for bulk kinds, the
 * step's attachments, and for calendar invites the iCalendar parts. Pure apart from reading
 * templates (cached) and naming attachment files; the clock is injected.
 */
import { basename } from "node:path";
import { DateTime } from "luxon";
import type Mail from "nodemailer/lib/mailer/index.js";
import { type InviteBasis, stepFromBasis } from "../calendar/basis.js";
import { buildInvite } from "../calendar/invite.js";
import { inviteMailParts } from "../calendar/mime.js";
import type { ItemSnapshot } from "../calendar/snapshot.js";
import type { Config } from "../config.js";
import { attachmentPath } from "../model/paths.js";
import { BULK_KINDS, type StepSpec } from "../model/schema.js";
import type { EventDefinition, Recipient } from "../model/types.js";
import type { Send } from "../planner/send.js";
import { findRecipient, type Rendered, renderMessage } from "../render/render.js";
import { type InviteChange, localDate, type View } from "../render/view.js";
import { defaultSubject, messageIdFor } from "./headers.js";
import { unsubscribeFor, unsubscribeHeaders } from "./unsubscribe.js";

export interface CalendarComposeOptions {
  sequence: number;
  method: "REQUEST" | "CANCEL";
  /**
   * The item as attendees hold it (the lifecycle state's snapshot). A CANCEL for an item that
   * is no longer dated in the definition (deleted, or back to TBD) is built and described from it.
   */
  last?: ItemSnapshot;
  /** For an update: which of time, place, status, title, agenda changed. */
  changed?: readonly string[];
  /**
   * How the recipient's copy was composed (stored with its delivery record). An update or
   * CANCEL whose step has been deleted is worded from it, and a CANCEL comes from the organizer
   * and carries the UID the attendee holds.
   */
  basis?: InviteBasis;
}

export interface ComposeOptions {
  config: Config;
  calendar?: CalendarComposeOptions;
  /** The Date header and DTSTAMP; defaults to the send's due time, so output is deterministic. */
  now?: DateTime;
}

/** Headers convene adds so the outbox, logs and bounces can be tied back to a send. */
export const SEND_ID_HEADER = "X-Convene-Send-Id";
export const KIND_HEADER = "X-Convene-Kind";
export const STEP_HEADER = "X-Convene-Step";

export class ComposeError extends Error {
  override name = "ComposeError";
}

/**
 * The send's step. A calendar update or cancellation outlives its step (an organizer deletes a
 * session together with the step that invited to it): it is then worded from the basis stored
 * when the recipient's copy went out, so the CANCEL still reaches everyone holding the session.
 */
export function stepOf(
  def: EventDefinition,
  send: Send,
  o: Pick<ComposeOptions, "calendar"> = {},
): StepSpec {
  const step = def.campaign.steps.find((s) => s.id === send.step);
  if (step) return step;
  if (send.kind === "calendar-invite" && (o.calendar?.basis || o.calendar?.method === "CANCEL"))
    return stepFromBasis(send.step, o.calendar?.basis);
  throw new ComposeError(`send ${send.id}: the campaign has no step "${send.step}"`);
}

export function recipientOf(
  def: EventDefinition,
  step: StepSpec,
  send: Send,
  o: Pick<ComposeOptions, "calendar"> = {},
): Recipient {
  const r = findRecipient(def, step, send.recipient);
  if (r) return r;
  // Someone removed from the audience CSV still holds the invite: their CANCEL must reach them.
  // Nothing else may go to an address outside the audience.
  if (step.kind === "calendar-invite" && o.calendar?.method === "CANCEL")
    return {
      email: send.recipient,
      name: send.name,
      ...(send.team ? { team: send.team } : {}),
      fields: {},
      source: { file: def.files.campaign, line: 0 },
    };
  throw new ComposeError(
    `send ${send.id}: ${send.recipient} is not in audience "${step.audience}"`,
  );
}

/**
 * What a calendar send is to its recipient. Version 0 is the planner's first invite, even when
 * it is rendered with a SEQUENCE above 0 (someone invited after an edit never saw the earlier
 * version, so "Updated" would mislead them); versions above 0 are the lifecycle's updates.
 */
function inviteChange(send: Send, o: ComposeOptions): InviteChange {
  const method = o.calendar?.method ?? "REQUEST";
  return {
    method,
    update: method === "REQUEST" && send.version > 0,
    changed: [...(o.calendar?.changed ?? [])],
    ...(o.calendar?.last ? { last: o.calendar.last } : {}),
  };
}

const CALENDAR_PREFIX = { cancel: "Cancelled: ", update: "Updated: " } as const;

/**
 * A calendar send's subject names its item (one step may send several days) and says when it
 * is an update or a cancellation, whatever subject the step sets: an update that looks like the
 * original invite gets ignored.
 */
function calendarSubject(step: StepSpec, v: Omit<View, "subject">): string {
  const invite = v.invite;
  if (!invite) return step.subject ?? defaultSubject(step.kind, v);
  const prefix = invite.cancel
    ? CALENDAR_PREFIX.cancel
    : invite.update
      ? CALENDAR_PREFIX.update
      : "";
  let subject: string;
  if (!step.subject)
    subject = prefix ? `${invite.title}, ${invite.when}` : defaultSubject(step.kind, v);
  else {
    const name = invite.day?.label ?? invite.title;
    const named = [name, invite.title].some((n) =>
      step.subject?.toLowerCase().includes(n.toLowerCase()),
    );
    subject = named ? step.subject : `${step.subject} · ${name}`;
  }
  return subject.startsWith(prefix) ? subject : `${prefix}${subject}`;
}

/** Renders the body of a send (no MIME), e.g. for previews. */
export async function renderSend(
  def: EventDefinition,
  send: Send,
  o: ComposeOptions,
  recipient?: Recipient,
): Promise<Rendered> {
  const step = stepOf(def, send, o);
  const r = recipient ?? recipientOf(def, step, send, o);
  const due = DateTime.fromISO(send.due, { zone: "UTC" });
  const bulk = BULK_KINDS.has(step.kind);
  const calendar = step.kind === "calendar-invite";
  return renderMessage({
    def,
    step,
    recipient: r,
    ...(send.item ? { item: send.item } : {}),
    date: localDate(due, def.event.timezone),
    ...(bulk ? { unsubscribe: unsubscribeFor(def, r.email, o.config) } : {}),
    ...(calendar ? { calendar: inviteChange(send, o) } : {}),
    subject: (v) =>
      calendar ? calendarSubject(step, v) : (step.subject ?? defaultSubject(step.kind, v)),
  });
}

export async function composeMessage(
  def: EventDefinition,
  send: Send,
  o: ComposeOptions,
): Promise<Mail.Options> {
  return composeWith(def, send, o);
}

/** composeMessage, with the recipient given (previews of an address outside the plan). */
export async function composeWith(
  def: EventDefinition,
  send: Send,
  o: ComposeOptions,
  recipient?: Recipient,
): Promise<Mail.Options> {
  const step = stepOf(def, send, o);
  const r = recipient ?? recipientOf(def, step, send, o);
  const rendered = await renderSend(def, send, o, r);
  const ev = def.event;
  const organizer = organizerOf(def, o);
  const date = (o.now ?? DateTime.fromISO(send.due, { zone: "UTC" })).toJSDate();
  const headers: Record<string, string> = {
    [SEND_ID_HEADER]: send.id,
    [KIND_HEADER]: step.kind,
    [STEP_HEADER]: step.id,
  };
  const unsub = rendered.view.unsubscribe;
  if (BULK_KINDS.has(step.kind) && unsub) Object.assign(headers, unsubscribeHeaders(unsub));
  const msg: Mail.Options = {
    from: { name: organizer.name, address: organizer.email },
    replyTo: { name: ev.contact.name, address: ev.contact.email },
    to: { name: r.name, address: r.email },
    subject: rendered.subject,
    messageId: messageIdFor(send.id, def),
    date,
    headers,
    html: rendered.html,
    text: rendered.text,
  };
  if (step.kind === "calendar-invite") {
    Object.assign(msg, calendarParts(def, send, r, o, rendered));
  } else if (step.attachments?.length) {
    // Re-checked here, not trusted from load time: the folder may have changed since.
    msg.attachments = step.attachments.map((a) => ({
      filename: basename(a),
      path: attachmentPath(def.dir, a),
    }));
  }
  const publish = rendered.view.addToCalendar;
  if (step.kind !== "calendar-invite" && publish)
    // The dates the message announces, as a PUBLISH file to import (src/render/calendar-links.ts).
    msg.attachments = [
      ...(msg.attachments ?? []),
      {
        filename: publish.filename,
        content: publish.ics,
        contentType: "text/calendar; charset=utf-8; method=PUBLISH",
      },
    ];
  return msg;
}

/**
 * Who a message is from. A CANCEL comes from the organizer the attendee's copy names, even if
 * the event's organizer changed since: clients ignore a cancellation from someone else.
 */
function organizerOf(def: EventDefinition, o: ComposeOptions): { name: string; email: string } {
  const held = o.calendar?.method === "CANCEL" ? o.calendar.basis?.organizer : undefined;
  return held ?? def.event.organizer;
}

/** The invite's iCalendar parts, built by the calendar module (contracts.md). */
function calendarParts(
  def: EventDefinition,
  send: Send,
  recipient: Recipient,
  o: ComposeOptions,
  rendered: Rendered,
): Partial<Mail.Options> {
  if (!send.item) throw new ComposeError(`send ${send.id}: a calendar invite needs an item`);
  const built = buildInvite(def, {
    itemId: send.item,
    recipient,
    sequence: o.calendar?.sequence ?? send.version,
    method: o.calendar?.method ?? "REQUEST",
    stamp: o.now ?? DateTime.fromISO(send.due, { zone: "UTC" }),
    ...(o.calendar?.last ? { last: o.calendar.last } : {}),
    ...(o.calendar?.method === "CANCEL" && o.calendar.basis
      ? { held: { uid: o.calendar.basis.uid, organizer: o.calendar.basis.organizer } }
      : {}),
  });
  return inviteMailParts(built, { text: rendered.text, html: rendered.html }, send.item);
}

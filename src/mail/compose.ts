/**
 * Turns a planned send into a complete nodemailer message: addresses, a deterministic
 * Message-ID and Date, the rendered HTML and text, one-click unsubscribe for bulk kinds, the
 * step's attachments, and the kind's own parts (a calendar invite's iCalendar). Pure apart from reading
 * templates (cached) and naming attachment files; the clock is injected.
 */
import { basename } from "node:path";
import { DateTime } from "luxon";
import type Mail from "nodemailer/lib/mailer/index.js";
import { stepFromBasis } from "../calendar/basis.js";
import type { Config } from "../config.js";
import { type CalendarParams, type Kind, kindOf } from "../kind.js";
import { attachmentPath } from "../model/paths.js";
import type { StepSpec } from "../model/schema.js";
import type { EventDefinition, Recipient } from "../model/types.js";
import type { Send } from "../planner/send.js";
import { findRecipient, type Rendered, renderMessage } from "../render/render.js";
import { type InviteChange, localDate, type View } from "../render/view.js";
import { messageIdFor, verpAddress, verpTag } from "./headers.js";
import { unsubscribeFor, unsubscribeHeaders } from "./unsubscribe.js";

export interface ComposeOptions {
  config: Config;
  calendar?: CalendarParams;
  /** The Date header and DTSTAMP; defaults to the send's due time, so output is deterministic. */
  now?: DateTime;
}

/** Headers convene adds so the outbox, logs and bounces can be tied back to a send. */
export const SEND_ID_HEADER = "X-Convene-Send-Id";
export const KIND_HEADER = "X-Convene-Kind";
export const STEP_HEADER = "X-Convene-Step";
/**
 * The send's VERP tag (mail/headers.ts verpTag), so a bounce that returns the original's
 * headers without the VERP address (no BOUNCE_ADDRESS, or a relay that rewrites it) still
 * proves which send it is: the send id and Message-ID alone can be computed by anyone.
 */
export const BOUNCE_TAG_HEADER = "X-Convene-Bounce-Tag";

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
  const outlives = o.calendar?.basis || o.calendar?.method === "CANCEL";
  if (outlives && kindOf(def, send.kind).invites)
    return stepFromBasis(send.step, send.kind, o.calendar?.basis);
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
  if (o.calendar?.method === "CANCEL" && kindOf(def, step.kind).invites)
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
function calendarSubject(step: StepSpec, kind: Kind, v: Omit<View, "subject">): string {
  const invite = v.invite;
  if (!invite) return step.subject ?? kind.subject(v);
  const prefix = invite.cancel
    ? CALENDAR_PREFIX.cancel
    : invite.update
      ? CALENDAR_PREFIX.update
      : "";
  let subject: string;
  if (!step.subject) subject = prefix ? `${invite.title}, ${invite.when}` : kind.subject(v);
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
  const kind = kindOf(def, step.kind);
  const calendar = kind.invites;
  return renderMessage({
    def,
    step,
    recipient: r,
    ...(send.item ? { item: send.item } : {}),
    date: localDate(due, def.event.timezone),
    ...(kind.bulk ? { unsubscribe: unsubscribeFor(def, r.email, o.config) } : {}),
    ...(calendar ? { calendar: inviteChange(send, o) } : {}),
    subject: (v) => (calendar ? calendarSubject(step, kind, v) : (step.subject ?? kind.subject(v))),
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
  const kind = kindOf(def, step.kind);
  const r = recipient ?? recipientOf(def, step, send, o);
  const rendered = await renderSend(def, send, o, r);
  const organizer = organizerOf(def, o);
  const msg: Mail.Options = {
    from: { name: organizer.name, address: organizer.email },
    replyTo: { name: def.event.contact.name, address: def.event.contact.email },
    to: { name: r.name, address: r.email },
    subject: rendered.subject,
    messageId: messageIdFor(send.id, def),
    date: (o.now ?? DateTime.fromISO(send.due, { zone: "UTC" })).toJSDate(),
    headers: headersOf(send, step, kind, rendered, o.config.unsubscribeSecret),
    html: rendered.html,
    text: rendered.text,
  };
  // VERP: only the envelope sender changes; From and Reply-To stay the organizer's and contact's.
  if (o.config.bounceAddress)
    msg.envelope = {
      from: verpAddress(o.config.bounceAddress, send.id, o.config.unsubscribeSecret),
      to: r.email,
    };
  const attachments = attachmentsOf(def, step, rendered);
  if (attachments.length) msg.attachments = attachments;
  if (kind.parts)
    Object.assign(
      msg,
      kind.parts({
        def,
        send,
        recipient: r,
        rendered,
        ...(o.calendar ? { calendar: o.calendar } : {}),
        ...(o.now ? { now: o.now } : {}),
      }),
    );
  return msg;
}

function headersOf(
  send: Send,
  step: StepSpec,
  kind: Kind,
  rendered: Rendered,
  secret: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    [SEND_ID_HEADER]: send.id,
    [BOUNCE_TAG_HEADER]: verpTag(send.id, secret),
    [KIND_HEADER]: step.kind,
    [STEP_HEADER]: step.id,
  };
  const unsub = rendered.view.unsubscribe;
  if (kind.bulk && unsub) Object.assign(headers, unsubscribeHeaders(unsub));
  return headers;
}

/**
 * The step's files, then the dates the message announces as a PUBLISH file to import
 * (src/render/calendar-links.ts). A kind's own parts (an invite's calendar) may replace them.
 */
function attachmentsOf(
  def: EventDefinition,
  step: StepSpec,
  rendered: Rendered,
): NonNullable<Mail.Options["attachments"]> {
  // Re-checked here, not trusted from load time: the folder may have changed since.
  const files = (step.attachments ?? []).map((a) => ({
    filename: basename(a),
    path: attachmentPath(def.dir, a),
  }));
  const publish = rendered.view.addToCalendar;
  if (!publish) return files;
  return [
    ...files,
    {
      filename: publish.filename,
      content: publish.ics,
      contentType: "text/calendar; charset=utf-8; method=PUBLISH",
    },
  ];
}

/**
 * Who a message is from. A CANCEL comes from the organizer the attendee's copy names, even if
 * the event's organizer changed since: clients ignore a cancellation from someone else.
 */
function organizerOf(def: EventDefinition, o: ComposeOptions): { name: string; email: string } {
  const held = o.calendar?.method === "CANCEL" ? o.calendar.basis?.organizer : undefined;
  return held ?? def.event.organizer;
}

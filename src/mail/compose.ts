/**
 * Turns a planned send into a complete nodemailer message: addresses, a deterministic
 * Message-ID and Date, the rendered HTML and text, one-click unsubscribe for bulk kinds, the
 * step's attachments, and for calendar invites the iCalendar parts. Pure apart from reading
 * templates (cached) and naming attachment files; the clock is injected.
 */
import { basename, join } from "node:path";
import { DateTime } from "luxon";
import type Mail from "nodemailer/lib/mailer/index.js";
import { buildInvite } from "../calendar/invite.js";
import { inviteMailParts } from "../calendar/mime.js";
import type { Config } from "../config.js";
import { BULK_KINDS, type StepSpec } from "../model/schema.js";
import type { EventDefinition, Recipient } from "../model/types.js";
import type { Send } from "../planner/send.js";
import { findRecipient, type Rendered, renderMessage } from "../render/render.js";
import { localDate } from "../render/view.js";
import { defaultSubject, messageIdFor, organizerDomain } from "./headers.js";
import { unsubscribeLinks } from "./unsubscribe.js";

export interface ComposeOptions {
  config: Config;
  calendar?: { sequence: number; method: "REQUEST" | "CANCEL" };
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

export function stepOf(def: EventDefinition, send: Send): StepSpec {
  const step = def.campaign.steps.find((s) => s.id === send.step);
  if (!step) throw new ComposeError(`send ${send.id}: the campaign has no step "${send.step}"`);
  return step;
}

export function recipientOf(def: EventDefinition, step: StepSpec, send: Send): Recipient {
  const r = findRecipient(def, step, send.recipient);
  if (!r)
    throw new ComposeError(
      `send ${send.id}: ${send.recipient} is not in audience "${step.audience}"`,
    );
  return r;
}

/** Renders the body of a send (no MIME), e.g. for previews. */
export async function renderSend(
  def: EventDefinition,
  send: Send,
  o: ComposeOptions,
  recipient?: Recipient,
): Promise<Rendered> {
  const step = stepOf(def, send);
  const r = recipient ?? recipientOf(def, step, send);
  const due = DateTime.fromISO(send.due, { zone: "UTC" });
  const bulk = BULK_KINDS.has(step.kind);
  return renderMessage({
    def,
    step,
    recipient: r,
    ...(send.item ? { item: send.item } : {}),
    date: localDate(due, def.event.timezone),
    ...(bulk ? { unsubscribe: unsubscribeFor(def, r.email, o.config) } : {}),
    ...(o.calendar ? { method: o.calendar.method } : {}),
    subject: (v) => defaultSubject(step.kind, v),
  });
}

export function unsubscribeFor(def: EventDefinition, address: string, config: Config) {
  return unsubscribeLinks(address, {
    secret: config.unsubscribeSecret,
    ...(config.unsubscribeUrl ? { baseUrl: config.unsubscribeUrl } : {}),
    domain: organizerDomain(def),
    mailbox: def.event.organizer.email,
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
  const step = stepOf(def, send);
  const r = recipient ?? recipientOf(def, step, send);
  const rendered = await renderSend(def, send, o, r);
  const ev = def.event;
  const date = (o.now ?? DateTime.fromISO(send.due, { zone: "UTC" })).toJSDate();
  const headers: Record<string, string> = {
    [SEND_ID_HEADER]: send.id,
    [KIND_HEADER]: step.kind,
    [STEP_HEADER]: step.id,
  };
  const unsub = rendered.view.unsubscribe;
  if (BULK_KINDS.has(step.kind) && unsub) {
    headers["List-Unsubscribe"] = `<${unsub.mailto}>, <${unsub.url}>`;
    headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
  }
  const msg: Mail.Options = {
    from: { name: ev.organizer.name, address: ev.organizer.email },
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
    msg.attachments = step.attachments.map((a) => ({
      filename: basename(a),
      path: join(def.dir, a),
    }));
  }
  return msg;
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
  });
  return inviteMailParts(built, { text: rendered.text, html: rendered.html }, send.item);
}

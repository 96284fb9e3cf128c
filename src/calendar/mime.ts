/**
 * Message fields for an invite, in nodemailer's terms. nodemailer turns `icalEvent` into both a
 * `text/calendar; charset=utf-8; method=…` alternative (beside text/plain and text/html) and an
 * `application/ics` attachment — the shape Outlook, Google and Apple all recognise as an
 * invitation. `method` is always passed explicitly: nodemailer defaults it to PUBLISH, which
 * would turn every REQUEST into a plain "add to calendar" file and break updates/cancellations.
 * `attachments` and `alternatives` are set to empty lists so that merging these parts over a
 * message drops anything else: an invite carries nothing but the calendar.
 */

import type Mail from "nodemailer/lib/mailer/index.js";
import type { IcsMethod } from "../types.js";

export function inviteMailParts(
  invite: { ics: string; method: IcsMethod },
  body: { text: string; html: string },
  filename: string,
): Pick<Mail.Options, "text" | "html" | "icalEvent" | "attachments" | "alternatives"> {
  const icsMethod = /\r\nMETHOD:([A-Z]+)\r\n/.exec(invite.ics)?.[1];
  if (icsMethod !== invite.method)
    throw new Error(
      `invite method ${invite.method} does not match the calendar's METHOD:${icsMethod ?? "(none)"}`,
    );
  const base = filename.replace(/\.ics$/i, "").replace(/[^\w.-]+/g, "-") || "invite";
  return {
    text: body.text,
    html: body.html,
    icalEvent: { method: invite.method, filename: `${base}.ics`, content: invite.ics },
    attachments: [],
    alternatives: [],
  };
}

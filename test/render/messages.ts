/**
 * Every message a bundled event's campaign sends, composed as the worker composes them and
 * parsed back with mailparser, so tests read what a recipient's client would read.
 */

import { join } from "node:path";
import { DateTime } from "luxon";
import { type ParsedMail, simpleParser } from "mailparser";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { toEml } from "../../src/mail/eml.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import type { EventDefinition } from "../../src/model/types.js";
import { plan } from "../../src/planner/plan.js";
import type { Send } from "../../src/planner/send.js";
import { ROOT } from "../support/cli.js";

export const BERLIN = join(ROOT, "events", "berlin-partnership-forum-2026");
export const CA_LMI = join(ROOT, "events", "ca-lmi-2017");

const config = loadConfig({ UNSUBSCRIBE_SECRET: "test-secret" });

export interface Message {
  send: Send;
  parsed: ParsedMail;
  text: string;
  html: string;
  /** The text/calendar parts and .ics attachments, as written. */
  calendars: string[];
}

/** Every planned send, as known once all registrations are in. */
export function allSends(def: EventDefinition): Send[] {
  return plan(def, def.registrations, DateTime.fromISO("2030-01-01T00:00:00Z"));
}

export async function messageOf(def: EventDefinition, send: Send): Promise<Message> {
  const { raw } = await toEml(await composeMessage(def, send, { config }));
  const parsed = await simpleParser(raw);
  const calendars = parsed.attachments
    .filter((a) => /calendar|ics/i.test(a.contentType) || /\.ics$/i.test(a.filename ?? ""))
    .map((a) => a.content.toString("utf8"));
  return { send, parsed, text: parsed.text ?? "", html: String(parsed.html || ""), calendars };
}

/** One message per step and calendar item (the first recipient's), or every send with `all`. */
export async function messagesOf(dir: string, o: { all?: boolean } = {}): Promise<Message[]> {
  const def = loadEventOrThrow(dir, KINDS);
  const seen = new Set<string>();
  const out: Message[] = [];
  for (const send of allSends(def)) {
    const key = `${send.step}|${send.item ?? ""}`;
    if (!o.all && seen.has(key)) continue;
    seen.add(key);
    out.push(await messageOf(def, send));
  }
  return out;
}

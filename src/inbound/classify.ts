/**
 * What an inbound message is, decided from the parsed message alone: a delivery status
 * notification (bounce), an iMIP REPLY (RSVP), a mailto unsubscribe, an auto-reply, or none of
 * these. Pure: no Redis, no IMAP; the mailbox edge parses with mailparser and hands the result
 * here, and src/inbound/apply.ts acts on it.
 *
 * Order matters: a DSN carries `Auto-Submitted: auto-replied` (RFC 3464 §2.6), so bounces are
 * recognised before auto-replies; an out-of-office is recognised before calendar parts, so one
 * that quotes an invitation is never an RSVP.
 *
 * Only text/calendar (and .ics) parts and message/delivery-status parts are read, each capped
 * in size; nothing is ever decompressed, so a zip bomb is just bytes that are not looked at.
 */
import ICAL from "ical.js";
import type { Attachment, HeaderValue, ParsedMail } from "mailparser";

/** Larger calendar or DSN parts are not parsed (a real REPLY is a few KB, a DSN less). */
export const MAX_PART_BYTES = 256 * 1024;
/**
 * Answers read from one message at most. A client's REPLY has one ATTENDEE per VEVENT (a few
 * VEVENTs for a recurrence); thousands would be stored one by one as non-invitee answers.
 */
export const MAX_REPLIES = 20;
/** Longest stored text (a name, a diagnostic); inbound values are data, length-capped. */
const MAX_VALUE = 200;

/** One recipient block of a DSN: who, what happened, and the server's words. */
export interface DsnRecipient {
  /** Final-Recipient (or Original-Recipient) address, lowercased. */
  recipient: string;
  originalRecipient?: string;
  /** failed, delayed, delivered, relayed, expanded. */
  action: string;
  /** Enhanced status code, e.g. 5.1.1. */
  status: string;
  diagnostic?: string;
  /** failed with a 5.x.x status: the address does not take mail. */
  hard: boolean;
}

export interface Bounce {
  type: "bounce";
  recipients: DsnRecipient[];
  /** Send ids the bounce names: VERP address, X-Convene-Send-Id, or Message-ID of the original. */
  verpTo: string[];
  sendIds: string[];
  messageIds: string[];
  /**
   * X-Convene-Bounce-Tag values of the returned original: an HMAC of its send id
   * (mail/headers.ts verpTag), the proof that a send found by its guessable Message-ID or send
   * id was really returned.
   */
  tags: string[];
  /** Non-standard (no message/delivery-status part): read from the human text. */
  textual: boolean;
}

export interface RsvpReply {
  uid: string;
  /** mailto address of the ATTENDEE, lowercased. */
  attendee: string;
  /** CN with CR, LF and other control characters removed, capped. */
  name?: string;
  partstat: string;
  sequence: number;
  /** DTSTAMP (ISO UTC), when present. */
  stamp?: string;
  /** METHOD:COUNTER: the attendee proposes another time; a person must answer it. */
  counter?: { start?: string };
}

export interface Rsvp {
  type: "rsvp";
  replies: RsvpReply[];
  /**
   * The From address, lowercased: what the answer is trusted on. The ATTENDEE line is just
   * text anyone can write, so only an answer from the attendee's own address is theirs.
   */
  from: string;
}

export interface Unsubscribe {
  type: "unsubscribe";
  token: string;
}

export interface AutoReply {
  type: "auto-reply";
  why: string;
}

export interface Unknown {
  type: "unknown";
  /** Why it was not understood, for the log; `malformed` marks a broken part (hostile input). */
  why: string;
  malformed?: boolean;
}

export type Classified = Bounce | Rsvp | Unsubscribe | AutoReply | Unknown;

export interface ClassifyOptions {
  /** BOUNCE_ADDRESS, to read VERP addresses. */
  bounceAddress?: string;
}

/** An unsubscribe token (mail/unsubscribe.ts): base64url address, dot, base64url HMAC. */
const TOKEN = "([A-Za-z0-9_-]{2,400}\\.[A-Za-z0-9_-]{20,100})";

/**
 * C0 and C1 controls, DEL, the Unicode line separators (what could break a header or a log
 * line) and the bidirectional overrides and isolates. A terminal takes U+009B as CSI as it
 * takes ESC [, so a CN of "\u009b2J" would clear the organizer's screen in `status --rsvp`;
 * a right-to-left override makes a name read as something else.
 */
function isControl(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  return (
    c < 0x20 ||
    (c >= 0x7f && c <= 0x9f) ||
    c === 0x2028 ||
    c === 0x2029 ||
    (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069)
  );
}

/** Removes CR, LF, NUL and other control characters, collapses space, caps length. */
export function cleanValue(v: string, max = MAX_VALUE): string {
  const one = v
    .split("")
    .map((ch) => (isControl(ch) ? " " : ch))
    .join("")
    .replace(/\s+/g, " ")
    .trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function headerText(mail: ParsedMail, name: string): string {
  const v: HeaderValue | undefined = mail.headers.get(name);
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "object" && "value" in v && typeof v.value === "string") return v.value;
  if (typeof v === "object" && "text" in v && typeof v.text === "string") return v.text;
  return String(v);
}

/** Every address the message was delivered to, as the headers tell (VERP lives here). */
function deliveredTo(mail: ParsedMail): string[] {
  const out: string[] = [];
  for (const line of mail.headerLines ?? []) {
    const k = line.key.toLowerCase();
    if (k === "delivered-to" || k === "x-original-to" || k === "envelope-to")
      out.push(line.line.slice(line.line.indexOf(":") + 1).trim());
  }
  const to = mail.to ? (Array.isArray(mail.to) ? mail.to : [mail.to]) : [];
  for (const a of to.flatMap((t) => t.value)) if (a.address) out.push(a.address);
  // Case kept: an unsubscribe token in a local part is base64url, which is case-sensitive.
  return out.map((a) => a.replace(/^<|>$/g, ""));
}

/**
 * A part's text in the charset it declares (Outlook writes some replies in windows-1252, so a
 * CN "Zoë" read as UTF-8 would become "Zo\uFFFD"); mailparser hands attachments over as bytes.
 * An unknown charset is read as UTF-8.
 */
export function partText(a: Attachment): string {
  const ct = a.headers?.get("content-type") as { params?: Record<string, string> } | undefined;
  const charset = ct?.params?.charset?.trim();
  if (charset && !/^(utf-?8|us-ascii)$/i.test(charset))
    try {
      return new TextDecoder(charset).decode(a.content);
    } catch {
      // RangeError: a label TextDecoder does not know.
    }
  return a.content.toString("utf8");
}

const small = (a: Attachment) => a.size <= MAX_PART_BYTES && a.content.length <= MAX_PART_BYTES;

// ---- bounces -------------------------------------------------------------------------------

/**
 * RFC 3464 fields are header-shaped (name: value, folded continuation lines), in blocks
 * separated by blank lines: the first is per message, each other one per recipient. It is
 * small and line-based, and mailparser hands the part over unparsed, so it is read here.
 */
export function dsnBlocks(text: string): Map<string, string>[] {
  const blocks: Map<string, string>[] = [];
  for (const chunk of text.replace(/\r\n/g, "\n").split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of chunk.split("\n")) {
      if (/^[ \t]/.test(line) && last) fields.set(last, `${fields.get(last)} ${line.trim()}`);
      else {
        const m = /^([A-Za-z0-9-]+)\s*:\s*(.*)$/.exec(line);
        if (!m) continue;
        last = (m[1] as string).toLowerCase();
        fields.set(last, (m[2] as string).trim());
      }
    }
    if (fields.size) blocks.push(fields);
  }
  return blocks;
}

/** `rfc822; a@b` → `a@b`. */
function typedAddress(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const a = v.includes(";") ? v.slice(v.indexOf(";") + 1) : v;
  return a.trim().replace(/^<|>$/g, "").toLowerCase() || undefined;
}

function dsnRecipient(f: Map<string, string>): DsnRecipient | undefined {
  const recipient =
    typedAddress(f.get("final-recipient")) ?? typedAddress(f.get("original-recipient"));
  const action = (f.get("action") ?? "").toLowerCase().split(/\s/)[0] ?? "";
  if (!recipient || !action) return undefined;
  const status = /\d\.\d{1,3}\.\d{1,3}/.exec(f.get("status") ?? "")?.[0] ?? "";
  const diagnostic = f.get("diagnostic-code");
  const original = typedAddress(f.get("original-recipient"));
  return {
    recipient: cleanValue(recipient),
    ...(original ? { originalRecipient: cleanValue(original) } : {}),
    action,
    status,
    ...(diagnostic ? { diagnostic: cleanValue(diagnostic, 300) } : {}),
    hard: action === "failed" && status.startsWith("5"),
  };
}

/** Send ids and Message-IDs the returned original (headers or whole message) names. */
function originalRefs(text: string): Pick<Bounce, "sendIds" | "messageIds" | "tags"> {
  const sendIds = [...text.matchAll(/^X-Convene-Send-Id:[ \t]*([a-z0-9.-]+)/gim)].map((m) =>
    (m[1] as string).toLowerCase(),
  );
  const messageIds = [...text.matchAll(/^Message-ID:[ \t]*<([^>\s]+)>/gim)].map((m) =>
    (m[1] as string).toLowerCase(),
  );
  const tags = [...text.matchAll(/^X-Convene-Bounce-Tag:[ \t]*([0-9a-f]+)/gim)].map((m) =>
    (m[1] as string).toLowerCase(),
  );
  return { sendIds, messageIds, tags };
}

function returnedText(mail: ParsedMail): string {
  // Only the header section is read, so a returned original of any size (the letter with its
  // flyer) is searched in its first MAX_PART_BYTES: its headers are there, its body is not read.
  const parts = mail.attachments
    .filter((a) => a.contentType === "message/rfc822" || a.contentType === "text/rfc822-headers")
    .map((a) => headerSection(a.content.subarray(0, MAX_PART_BYTES).toString("utf8")));
  // A non-standard bounce (classic Exim) quotes the original in its text.
  return [...parts, mail.text ?? ""].join("\n");
}

/** The header section of a message: only it is searched, never a body a sender wrote. */
function headerSection(raw: string): string {
  const end = raw.search(/\r?\n\r?\n/);
  return end < 0 ? raw : raw.slice(0, end);
}

const BOUNCE_FROM = /^(mailer-daemon|postmaster|mail-daemon|mailer_daemon)@/i;
const BOUNCE_SUBJECT =
  /(undeliver|delivery status notification|mail delivery (failed|failure|subsystem)|returned mail|failure notice|delivery has failed|delivery failure)/i;

function fromAddress(mail: ParsedMail): string {
  return mail.from?.value[0]?.address?.toLowerCase() ?? "";
}

/**
 * The recipients of a bounce that has no delivery-status part (classic Exim, some gateways):
 * the failed addresses and the first SMTP reply it quotes. Always treated as from the text, so
 * the caller can be stricter about matching it.
 */
function textualRecipients(text: string): DsnRecipient[] {
  // One \s* for the blank lines: `\s*\n+\s*` matched them in cubic time, and a few KB of
  // newlines after the phrase held the process (and a worker running --inbound) for minutes.
  const m = /following address(?:\(es\))? failed:\s*<?([^\s<>]+@[^\s<>]+)>?/i.exec(text);
  if (!m) return [];
  const reply = /\b([245])\d\d[ -]((\d)\.\d{1,3}\.\d{1,3})?[^\n]*/.exec(text.slice(m.index));
  const code = reply?.[1] ?? "";
  const status = reply?.[2] ?? (code === "5" ? "5.0.0" : code === "4" ? "4.0.0" : "");
  const permanent = /permanent (error|failure)/i.test(text) || code === "5";
  return [
    {
      recipient: cleanValue((m[1] as string).toLowerCase()),
      action: permanent ? "failed" : "delayed",
      status,
      ...(reply ? { diagnostic: cleanValue(reply[0], 300) } : {}),
      hard: permanent && status.startsWith("5"),
    },
  ];
}

function bounceOf(mail: ParsedMail, o: ClassifyOptions): Bounce | undefined {
  const status = mail.attachments.find(
    (a) =>
      a.contentType === "message/delivery-status" ||
      a.contentType === "message/global-delivery-status",
  );
  const looksLike = BOUNCE_FROM.test(fromAddress(mail)) || BOUNCE_SUBJECT.test(mail.subject ?? "");
  if (!status && !looksLike) return undefined;
  let recipients: DsnRecipient[];
  if (status) {
    if (!small(status)) return undefined;
    recipients = dsnBlocks(status.content.toString("utf8"))
      .slice(1)
      .map(dsnRecipient)
      .filter((r): r is DsnRecipient => !!r);
  } else recipients = textualRecipients(mail.text ?? "");
  if (!recipients.length) return undefined;
  const refs = originalRefs(returnedText(mail));
  const verpTo = o.bounceAddress ? deliveredTo(mail) : [];
  return { type: "bounce", recipients, verpTo, ...refs, textual: !status };
}

// ---- auto-replies --------------------------------------------------------------------------

const OOO_SUBJECT =
  /^(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|absence|away from|on vacation|r[ée]ponse automatique)/i;

function autoReplyOf(mail: ParsedMail): AutoReply | undefined {
  const submitted = headerText(mail, "auto-submitted").toLowerCase();
  if (submitted && !submitted.startsWith("no"))
    return { type: "auto-reply", why: `Auto-Submitted: ${cleanValue(submitted, 40)}` };
  const precedence = headerText(mail, "precedence").toLowerCase().trim();
  if (["auto_reply", "bulk", "junk", "list"].includes(precedence))
    return { type: "auto-reply", why: `Precedence: ${precedence}` };
  for (const h of ["x-autoreply", "x-autorespond", "x-auto-response-suppress"])
    if (mail.headers.has(h) && h !== "x-auto-response-suppress")
      return { type: "auto-reply", why: h };
  const subject = (mail.subject ?? "").replace(/^(re|aw|fwd?):\s*/i, "");
  if (OOO_SUBJECT.test(subject)) return { type: "auto-reply", why: "out-of-office subject" };
  return undefined;
}

// ---- RSVPs ---------------------------------------------------------------------------------

function calendarParts(mail: ParsedMail): Attachment[] {
  return mail.attachments.filter(
    (a) =>
      a.contentType === "text/calendar" ||
      a.contentType === "application/ics" ||
      /\.ics$/i.test(a.filename ?? ""),
  );
}

function isoOf(t: unknown): string | undefined {
  if (t instanceof ICAL.Time) return t.toJSDate().toISOString();
  return undefined;
}

function attendeeReply(
  prop: ICAL.Property,
  ev: ICAL.Component,
  method: string,
): RsvpReply | undefined {
  const value = String(prop.getFirstValue() ?? "");
  const address = value
    .replace(/^mailto:/i, "")
    .trim()
    .toLowerCase();
  if (!/^[^@\s]+@[^@\s]+$/.test(address)) return undefined;
  const partstat = String(prop.getParameter("partstat") ?? "NEEDS-ACTION").toUpperCase();
  const cn = prop.getParameter("cn");
  const name = typeof cn === "string" ? cleanValue(cn) : undefined;
  const stamp = isoOf(ev.getFirstPropertyValue("dtstamp"));
  const seq = Number(ev.getFirstPropertyValue("sequence") ?? 0);
  return {
    uid: cleanValue(String(ev.getFirstPropertyValue("uid") ?? ""), 300),
    attendee: cleanValue(address),
    ...(name ? { name } : {}),
    partstat: cleanValue(partstat, 20),
    sequence: Number.isFinite(seq) && seq >= 0 ? Math.floor(seq) : 0,
    ...(stamp ? { stamp } : {}),
    ...(method === "COUNTER" ? { counter: counterStart(ev) } : {}),
  };
}

function counterStart(ev: ICAL.Component): { start?: string } {
  const start = isoOf(ev.getFirstPropertyValue("dtstart"));
  return start ? { start } : {};
}

/** The REPLY (or COUNTER) answers in one calendar part; throws on a part that does not parse. */
export function repliesIn(ics: string): RsvpReply[] {
  const cal = new ICAL.Component(ICAL.parse(ics));
  const method = String(cal.getFirstPropertyValue("method") ?? "").toUpperCase();
  if (method !== "REPLY" && method !== "COUNTER") return [];
  const out: RsvpReply[] = [];
  for (const ev of cal.getAllSubcomponents("vevent"))
    for (const prop of ev.getAllProperties("attendee")) {
      const r = attendeeReply(prop, ev, method);
      if (r?.uid) out.push(r);
    }
  return out;
}

function rsvpOf(mail: ParsedMail): Rsvp | Unknown | undefined {
  const parts = calendarParts(mail);
  if (!parts.length) return undefined;
  const seen = new Map<string, RsvpReply>();
  for (const part of parts) {
    if (!small(part)) return { type: "unknown", why: "calendar part too large", malformed: true };
    let replies: RsvpReply[];
    try {
      replies = repliesIn(partText(part));
    } catch (e) {
      const msg = e instanceof Error ? cleanValue(e.message, 80) : "unreadable";
      return { type: "unknown", why: `malformed calendar (${msg})`, malformed: true };
    }
    // The same calendar arrives as text/calendar and as an .ics attachment.
    for (const r of replies) seen.set(`${r.uid}\n${r.attendee}`, r);
    if (seen.size > MAX_REPLIES)
      return { type: "unknown", why: `more than ${MAX_REPLIES} calendar answers`, malformed: true };
  }
  return seen.size
    ? { type: "rsvp", replies: [...seen.values()], from: cleanValue(fromAddress(mail)) }
    : undefined;
}

// ---- mailto unsubscribe --------------------------------------------------------------------

/** convene writes `mailto:<organizer>?subject=unsubscribe <token>` (mail/unsubscribe.ts). */
function unsubscribeOf(mail: ParsedMail): Unsubscribe | undefined {
  const subject = (mail.subject ?? "").trim();
  const m = new RegExp(`^(?:re:\\s*)?unsubscribe\\s+${TOKEN}$`, "i").exec(subject);
  if (m) return { type: "unsubscribe", token: m[1] as string };
  for (const to of deliveredTo(mail)) {
    const t = new RegExp(`^unsubscribe\\+${TOKEN}@`, "i").exec(to);
    if (t) return { type: "unsubscribe", token: t[1] as string };
  }
  return undefined;
}

export function classify(mail: ParsedMail, o: ClassifyOptions = {}): Classified {
  const bounce = bounceOf(mail, o);
  if (bounce) return bounce;
  const auto = autoReplyOf(mail);
  if (auto) return auto;
  const rsvp = rsvpOf(mail);
  if (rsvp) return rsvp;
  const unsub = unsubscribeOf(mail);
  if (unsub) return unsub;
  return {
    type: "unknown",
    why: "not a bounce, calendar reply or unsubscribe (left for a person)",
  };
}

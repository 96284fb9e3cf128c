/**
 * Header values derived from the definition and the send. A kind's own (its default subject,
 * whether it is bulk) are declared in jobs/<kind>.ts.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { organizerDomain as eventOrganizerDomain } from "../calendar/uid.js";
import type { EventDefinition } from "../model/types.js";

/**
 * The VERP envelope sender of a send: `bounces+<send id>.<tag>@domain` for BOUNCE_ADDRESS
 * `bounces@domain`. A send id is `[a-z0-9-]` with two dots (planner/send.ts), a valid dot-atom
 * local part as it is, so it needs no encoding and reads back unchanged (verpSendId).
 *
 * Send ids are an unkeyed hash of the event, step and address, so anyone who got one message
 * of a campaign can work out another recipient's. The tag is an HMAC of the send id under
 * UNSUBSCRIBE_SECRET: only the message's own envelope carries it, so a bounce to it comes from
 * a server that handled that message, and a DSN forged to `bounces+<someone else's send id>`
 * names no send. Lowercase hex, because relays may fold the case of a local part.
 */
export function verpAddress(bounceAddress: string, sendId: string, secret: string): string {
  const at = bounceAddress.lastIndexOf("@");
  return `${bounceAddress.slice(0, at)}+${sendId}.${verpTag(sendId, secret)}${bounceAddress.slice(at)}`;
}

/** 48 bits: guessing one takes about 2^47 forged mails, each of them left in the mailbox. */
const TAG_HEX = 12;

export function verpTag(sendId: string, secret: string): string {
  return createHmac("sha256", secret)
    .update(`convene-verp\n${sendId}`)
    .digest("hex")
    .slice(0, TAG_HEX);
}

/**
 * The send id a VERP address carries when its tag is convene's, else undefined (lowercased:
 * some relays fold the case).
 */
export function verpSendId(
  address: string,
  bounceAddress: string,
  secret: string,
): string | undefined {
  const at = bounceAddress.lastIndexOf("@");
  const local = bounceAddress.slice(0, at).toLowerCase();
  const domain = bounceAddress.slice(at + 1).toLowerCase();
  const m = /^([^@]+)\+([^@+]+)\.([0-9a-f]+)@([^@]+)$/.exec(address.trim().toLowerCase());
  if (!m || m[1] !== local || m[4] !== domain) return undefined;
  const id = m[2] as string;
  return verpTagMatches(id, m[3] as string, secret) ? id : undefined;
}

/** Whether `tag` is the one convene wrote for `sendId` (also in X-Convene-Bounce-Tag). */
export function verpTagMatches(sendId: string, tag: string, secret: string): boolean {
  const given = Buffer.from(tag.toLowerCase());
  const want = Buffer.from(verpTag(sendId, secret));
  return given.length === want.length && timingSafeEqual(given, want);
}

/** `<send id@organizer domain>`: the same send always gets the same Message-ID. */
export function messageIdFor(sendId: string, def: EventDefinition): string {
  // The same (lowercased) domain as calendar UIDs, so a message and its invite agree.
  return `<${sendId}@${eventOrganizerDomain(def.event)}>`;
}

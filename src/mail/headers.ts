/**
 * Header values derived from the definition and the send. A kind's own (its default subject,
 * whether it is bulk) are declared in jobs/<kind>.ts.
 */
import { organizerDomain as eventOrganizerDomain } from "../calendar/uid.js";
import type { EventDefinition } from "../model/types.js";

/**
 * The VERP envelope sender of a send: `bounces+<send id>@domain` for BOUNCE_ADDRESS
 * `bounces@domain`. A send id is `[a-z0-9-]` with two dots (planner/send.ts), a valid dot-atom
 * local part as it is, so it needs no encoding and reads back unchanged (verpSendId).
 */
export function verpAddress(bounceAddress: string, sendId: string): string {
  const at = bounceAddress.lastIndexOf("@");
  return `${bounceAddress.slice(0, at)}+${sendId}${bounceAddress.slice(at)}`;
}

/** The send id a VERP address carries, or undefined (lowercased: some relays fold the case). */
export function verpSendId(address: string, bounceAddress: string): string | undefined {
  const at = bounceAddress.lastIndexOf("@");
  const local = bounceAddress.slice(0, at).toLowerCase();
  const domain = bounceAddress.slice(at + 1).toLowerCase();
  const m = /^([^@]+)\+([^@+]+)@([^@]+)$/.exec(address.trim().toLowerCase());
  if (!m || m[1] !== local || m[3] !== domain) return undefined;
  return m[2];
}

/** `<send id@organizer domain>`: the same send always gets the same Message-ID. */
export function messageIdFor(sendId: string, def: EventDefinition): string {
  // The same (lowercased) domain as calendar UIDs, so a message and its invite agree.
  return `<${sendId}@${eventOrganizerDomain(def.event)}>`;
}

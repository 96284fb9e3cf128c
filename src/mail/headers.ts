/**
 * Header values derived from the definition and the send. A kind's own (its default subject,
 * whether it is bulk) are declared in jobs/<kind>.ts.
 */
import { organizerDomain as eventOrganizerDomain } from "../calendar/uid.js";
import type { EventDefinition } from "../model/types.js";

/** `<send id@organizer domain>`: the same send always gets the same Message-ID. */
export function messageIdFor(sendId: string, def: EventDefinition): string {
  // The same (lowercased) domain as calendar UIDs, so a message and its invite agree.
  return `<${sendId}@${eventOrganizerDomain(def.event)}>`;
}

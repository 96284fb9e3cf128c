/** Header values derived from the definition and the send: ids, subjects, addresses. */
import { organizerDomain as eventOrganizerDomain } from "../calendar/uid.js";
import type { MessageKind } from "../model/schema.js";
import type { EventDefinition } from "../model/types.js";
import type { View } from "../render/view.js";

/** `<send id@organizer domain>`: the same send always gets the same Message-ID. */
export function messageIdFor(sendId: string, def: EventDefinition): string {
  // The same (lowercased) domain as calendar UIDs, so a message and its invite agree.
  return `<${sendId}@${eventOrganizerDomain(def.event)}>`;
}

/** A subject that says what the message is, when the step gives none. */
export function defaultSubject(kind: MessageKind, v: Omit<View, "subject">): string {
  const name = v.event.shortTitle;
  switch (kind) {
    case "invitation-letter":
      return `Invitation: ${v.event.title}, ${v.event.dates}`;
    case "deadline-reminder":
      return `Reminder: please register for the ${name} by ${v.registration.deadline}`;
    case "calendar-invite":
      return v.invite?.cancel
        ? `Cancelled: ${v.invite?.title ?? name}`
        : `Calendar: ${v.invite?.title ?? name}, ${v.invite?.when ?? v.event.dates}`;
    case "save-the-date":
      return v.aboutRelated
        ? `Save the date: ${v.aboutRelated.title}, ${v.aboutRelated.dates}`
        : `Save the date: ${name}, ${v.event.dates}`;
    case "announcement":
      return `Upcoming activities from the ${v.organizer.name}`;
    case "press-release-prompt":
      return `Please consider a press release about attending the ${name}`;
  }
}

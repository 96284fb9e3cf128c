/**
 * What a calendar message was composed from besides its item: the step's wording (template,
 * subject, values), its audience, and the organizer and UID the attendee's calendar filed it
 * under. It is stored with each delivery record, because an update or a CANCEL has to be
 * composed again later, when the organizer may have deleted the step (together with the
 * session it invited to) or changed who organizes. Composing it from the stored basis means a
 * cancellation can always be built; a CANCEL that fails for want of its step leaves attendees
 * with a session that no longer exists, and nothing can mend that afterwards.
 */
import type { EventSpec, StepSpec } from "../model/schema.js";
import { itemUid } from "./uid.js";

export interface InviteBasis {
  /** The step's template name (its `template`, else its kind). */
  template: string;
  subject?: string;
  values?: Record<string, string>;
  audience: string;
  /** ORGANIZER and From of the message; a CANCEL must come from the same organizer. */
  organizer: { name: string; email: string };
  /** The UID the attendee's calendar holds the item under. */
  uid: string;
}

export function basisOf(event: EventSpec, step: StepSpec, itemId: string): InviteBasis {
  return {
    template: step.template ?? step.kind,
    ...(step.subject ? { subject: step.subject } : {}),
    ...(step.values ? { values: step.values } : {}),
    audience: step.audience,
    organizer: { name: event.organizer.name, email: event.organizer.email },
    uid: itemUid(event, itemId),
  };
}

/**
 * A stand-in for a step that is no longer in the campaign, worded as the original was. Without
 * a stored basis (deliveries recorded before convene kept one) it uses its kind's template and
 * default subject: a plainly worded CANCEL beats none.
 */
export function stepFromBasis(id: string, kind: string, basis: InviteBasis | undefined): StepSpec {
  return {
    id,
    kind,
    audience: basis?.audience ?? "",
    ...(basis?.template ? { template: basis.template } : {}),
    ...(basis?.subject ? { subject: basis.subject } : {}),
    ...(basis?.values ? { values: basis.values } : {}),
    // Never planned: the step exists only to word this one message.
    trigger: { anchor: "event-start" },
  };
}

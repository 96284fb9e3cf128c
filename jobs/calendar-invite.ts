import { DateTime } from "luxon";
import type Mail from "nodemailer/lib/mailer/index.js";
import { basisOf, type InviteBasis } from "../src/calendar/basis.js";
import { inviteFor } from "../src/calendar/invite-template.js";
import { isSuperseded } from "../src/calendar/lifecycle.js";
import { inviteMailParts } from "../src/calendar/mime.js";
import { type CalendarParams, defineKind, type PartsContext } from "../src/kind.js";
import { ComposeError } from "../src/mail/compose.js";
import type { EventDefinition } from "../src/model/types.js";
import type { Send } from "../src/planner/send.js";

/**
 * The basis to record with a delivery: the step's, while it exists; once it is gone (this was
 * a CANCEL or update worded from the stored basis), the basis it was composed from, so the
 * next message to this recipient can be composed again.
 */
function basisToRecord(
  def: EventDefinition,
  send: Send & { item: string },
  calendar: CalendarParams,
): InviteBasis | undefined {
  const step = def.campaign.steps.find((s) => s.id === send.step);
  return step ? basisOf(def.event, step, send.item) : calendar.basis;
}

/** The invite's iCalendar parts, built by the calendar module (contracts.md). */
function calendarParts({ def, send, recipient, calendar, now, rendered }: PartsContext) {
  if (!send.item) throw new ComposeError(`send ${send.id}: a calendar invite needs an item`);
  const built = inviteFor(def, {
    itemId: send.item,
    recipient,
    sequence: calendar?.sequence ?? send.version,
    method: calendar?.method ?? "REQUEST",
    stamp: now ?? DateTime.fromISO(send.due, { zone: "UTC" }),
    ...(calendar?.last ? { last: calendar.last } : {}),
    ...(calendar?.method === "CANCEL" && calendar.basis
      ? { held: { uid: calendar.basis.uid, organizer: calendar.basis.organizer } }
      : {}),
  });
  const parts: Partial<Mail.Options> = inviteMailParts(
    built,
    { text: rendered.text, html: rendered.html },
    send.item,
  );
  return parts;
}

/**
 * Calendar invites, updates and cancellations: personal mail (not bulk) carrying one item's
 * iTIP REQUEST or CANCEL, and nothing else (no attachments, no "add to calendar" file).
 *  - A first invite (version 0, the planner's) is rendered with the item's CURRENT SEQUENCE.
 *  - Updates and cancellations (version = their SEQUENCE, issued by the calendar lifecycle) are
 *    rebuilt from the job, and skipped when a newer version of the item superseded them.
 *  - Every send is given the item's stored snapshot (what attendees hold): an item deleted from
 *    the definition or back to TBD can then still be cancelled, naming its time and place.
 *  - Every send is also given how the recipient's copy was composed (the basis in its delivery
 *    record), so an update or CANCEL whose step has been deleted can still be composed.
 *  - After SMTP accepts one, the lifecycle state records which version this recipient holds,
 *    and how it was composed, so the next definition edit knows whom to update or cancel.
 */
export default defineKind({
  name: "calendar-invite",
  bulk: false,
  subject: (v) =>
    v.invite?.cancel
      ? `Cancelled: ${v.invite?.title ?? v.event.shortTitle}`
      : `Calendar: ${v.invite?.title ?? v.event.shortTitle}, ${v.invite?.when ?? v.event.dates}`,
  invites: true,
  parts: calendarParts,
  stepProblems: (step) =>
    step.attachments?.length
      ? ["a calendar invite carries only its calendar; remove attachments"]
      : [],
  checks: [
    async ({ data, stores }) => {
      if (!data.item || data.version === 0) return undefined;
      const item = await stores.calendar.item(data.event, data.item);
      return isSuperseded(data, item)
        ? `superseded by calendar version ${item?.sequence} of ${data.item}`
        : undefined;
    },
  ],
  calendar: async ({ data, stores }) => {
    const state = data.item ? await stores.calendar.item(data.event, data.item) : undefined;
    const held = data.item
      ? (await stores.calendar.delivered(data.event, data.item, data.recipient))?.basis
      : undefined;
    const stored = {
      ...(state?.snapshot ? { last: state.snapshot } : {}),
      ...(held ? { basis: held } : {}),
    };
    return data.version > 0
      ? {
          sequence: data.version,
          method: data.method ?? "REQUEST",
          ...stored,
          ...(data.changed?.length ? { changed: data.changed } : {}),
        }
      : { sequence: state?.sequence ?? 0, method: "REQUEST", ...stored };
  },
  fromJob: ({ data }) =>
    data.version > 0 && data.method
      ? {
          id: data.id,
          event: data.event,
          step: data.step,
          kind: data.kind,
          recipient: data.recipient,
          name: data.name ?? data.recipient,
          ...(data.team ? { team: data.team } : {}),
          ...(data.item ? { item: data.item } : {}),
          version: data.version,
          due: data.due,
          dueLocal: data.dueLocal ?? data.due,
          zone: data.zone ?? "UTC",
          expires: data.expires,
        }
      : undefined,
  afterSent: async ({ data, stores, send, calendar, loaded }) => {
    if (!send.item || !calendar) return;
    const basis = basisToRecord(loaded.def, { ...send, item: send.item }, calendar);
    await stores.calendar.recordDelivery(data.event, send.item, send.recipient, {
      step: send.step,
      sequence: calendar.sequence,
      method: calendar.method,
      name: send.name,
      ...(send.team ? { team: send.team } : {}),
      ...(basis ? { basis } : {}),
    });
  },
});

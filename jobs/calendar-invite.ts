import { isSuperseded } from "../src/calendar/lifecycle.js";
import { defineKind } from "../src/worker/kind.js";

/**
 * Calendar invites, updates and cancellations.
 *  - A first invite (version 0, the planner's) is rendered with the item's CURRENT SEQUENCE.
 *  - Updates and cancellations (version = their SEQUENCE, issued by the calendar lifecycle) are
 *    rebuilt from the job, and skipped when a newer version of the item superseded them.
 *  - Every send is given the item's stored snapshot (what attendees hold): an item deleted from
 *    the definition or back to TBD can then still be cancelled, naming its time and place.
 *  - After SMTP accepts one, the lifecycle state records which version this recipient holds,
 *    so the next definition edit knows whom to update or cancel.
 */
export default defineKind({
  kind: "calendar-invite",
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
    const last = state?.snapshot ? { last: state.snapshot } : {};
    return data.version > 0
      ? {
          sequence: data.version,
          method: data.method ?? "REQUEST",
          ...last,
          ...(data.changed?.length ? { changed: data.changed } : {}),
        }
      : { sequence: state?.sequence ?? 0, method: "REQUEST", ...last };
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
  afterSent: async ({ data, stores, send, calendar }) => {
    if (!send.item || !calendar) return;
    await stores.calendar.recordDelivery(data.event, send.item, send.recipient, {
      step: send.step,
      sequence: calendar.sequence,
      method: calendar.method,
      name: send.name,
    });
  },
});

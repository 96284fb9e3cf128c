import type { DeliveryRecord, ItemState } from "../calendar/lifecycle.js";
import type { CalendarStateStore } from "../store/calendar-state.js";

/**
 * The calendar store as one send attempt sees it: the item's state and what the recipient
 * holds were read with the attempt's other re-checks (store/send-checks.ts), so the invite
 * kind's check and calendar hook (jobs/calendar-invite.ts), which ask for exactly those, are
 * answered from that read instead of a round trip each. Any other question, and every write,
 * goes to the store.
 */
export function calendarSeen(
  store: CalendarStateStore,
  seen: {
    event: string;
    item: string;
    recipient: string;
    state: ItemState | undefined;
    delivered: DeliveryRecord | undefined;
  },
): CalendarStateStore {
  const isItem = (event: string, item: string) => event === seen.event && item === seen.item;
  const isHeld = (event: string, item: string, email: string) =>
    isItem(event, item) && email.toLowerCase() === seen.recipient.toLowerCase();
  return {
    load: (event) => store.load(event),
    save: (event, state) => store.save(event, state),
    recordDelivery: (event, item, email, d) => store.recordDelivery(event, item, email, d),
    clear: (event) => store.clear(event),
    item: async (event, item) => (isItem(event, item) ? seen.state : store.item(event, item)),
    sequence: async (event, item) =>
      isItem(event, item) ? (seen.state?.sequence ?? 0) : store.sequence(event, item),
    delivered: async (event, item, email) =>
      isHeld(event, item, email) ? seen.delivered : store.delivered(event, item, email),
  };
}

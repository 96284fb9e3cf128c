import type { Logger } from "pino";
import { reconcile } from "../calendar/lifecycle.js";
import type { MessageKind } from "../model/schema.js";
import type { CalendarStateStore } from "../store/calendar-state.js";
import type { LifecycleHook } from "./scheduler.js";

/**
 * The calendar part's invite lifecycle, plugged into the scheduler tick: after a definition
 * edit changes a calendar item's time, place, status or title, everyone who holds the item gets
 * an update (REQUEST, higher SEQUENCE); a removed or cancelled item, or a holder who left the
 * audience, gets a CANCEL. Reconcile is pure; this adds the Redis state around it.
 *
 * `carrier` is the kind that carries calendar items (the registry's), for an update whose step
 * is gone and no longer planned; a plan with items tells reconcile itself.
 */
export function calendarUpdates(
  store: CalendarStateStore,
  log: Logger,
  carrier?: MessageKind,
): LifecycleHook {
  return async (def, sends, now) => {
    const ev = def.event.id;
    const hasCalendar = sends.some((s) => s.item !== undefined);
    const state = await store.load(ev);
    if (!hasCalendar && Object.keys(state.items).length === 0)
      return { sends: [], commit: async () => {} };
    const r = reconcile(def, sends, state, now, carrier);
    for (const c of r.changes)
      log.info({ event: ev, ...c }, "calendar item changed; updates/cancellations scheduled");
    return {
      sends: [...r.updates, ...r.cancellations],
      commit: () => store.save(ev, r.state),
    };
  };
}

import { type CalendarItem, calendarItems } from "../model/items.js";
import type { EventSpec } from "../model/schema.js";

const cache = new WeakMap<EventSpec, readonly CalendarItem[]>();

/**
 * `calendarItems`, computed once per loaded definition: building one invite needs the item list
 * several times (the item, its agenda, its snapshot), and a campaign renders hundreds. Keyed by
 * the definition object, so an edited (re-loaded) definition gets fresh items.
 */
export function itemsOf(event: EventSpec): readonly CalendarItem[] {
  let items = cache.get(event);
  if (!items) {
    items = calendarItems(event);
    cache.set(event, items);
  }
  return items;
}

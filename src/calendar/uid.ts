import type { EventSpec } from "../model/schema.js";

/**
 * `organizer.domain`, or the domain of the organizer's address, lowercased: the one domain for
 * UIDs, Message-IDs and default unsubscribe links, so they never differ by case.
 */
export function organizerDomain(event: EventSpec): string {
  return (
    event.organizer.domain ??
    event.organizer.email.split("@").pop() ??
    "invalid"
  ).toLowerCase();
}

/**
 * `<item>.<event>@<organizer-domain>`: derived from ids only, so every run on every machine
 * gives the invite, its updates and its cancellation the same UID, and a calendar client files
 * them as one event. Item and event ids are `[a-z0-9-]`, so the UID needs no escaping.
 */
export function itemUid(event: EventSpec, itemId: string): string {
  return `${itemId}.${event.id}@${organizerDomain(event)}`;
}

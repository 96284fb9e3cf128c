/**
 * Times as an organizer reads them: in the event's zone, with the zone's name, and relative to
 * now through Luxon ("in 3 days", "2 hours ago"). Never UTC ISO with milliseconds.
 */
import { DateTime } from "luxon";

export function localTime(epochMs: number, zone: string): string {
  const t = DateTime.fromMillis(epochMs, { zone });
  return `${t.toFormat("ccc d LLL yyyy, HH:mm ZZZZ")} (${zone})`;
}

export function relativeTime(epochMs: number, now: DateTime): string {
  return DateTime.fromMillis(epochMs).toRelative({ base: now }) ?? "";
}

export interface When {
  local: string;
  relative: string;
}

export function when(epochMs: number | undefined, zone: string, now: DateTime): When | undefined {
  if (epochMs === undefined) return undefined;
  return { local: localTime(epochMs, zone), relative: relativeTime(epochMs, now) };
}

const ISO_INSTANT = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/g;

/**
 * Ledger reasons are written by the worker, some with an ISO instant in them ("not sent by
 * 2099-…Z"): the page says those in the event's local time.
 */
export function localReason(reason: string, zone: string): string {
  return reason.replace(ISO_INSTANT, (iso) => {
    const t = DateTime.fromISO(iso, { setZone: true });
    return t.isValid ? localTime(t.toMillis(), zone) : iso;
  });
}

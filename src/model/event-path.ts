/**
 * What an organizer typed as `<event>`, checked before anything is loaded, so a mistyped or too
 * general path is named as they typed it ("no event folder at events/nope") rather than as a
 * missing file in the folder above it.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";

const EVENT_FILE = "event.yaml";

/** The path given does not name an event; the message says what it is instead. */
export class EventPathError extends Error {
  override name = "EventPathError";
}

function isDir(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
}

/** Event folders directly inside `dir`, by name, sorted. */
function eventsInside(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => isDir(join(dir, n)) && existsSync(join(dir, n, EVENT_FILE)))
    .sort();
}

/** `events` and `events/` both show their events as `events/a`. */
function child(typed: string, name: string): string {
  return `${typed.replace(/\/+$/, "")}/${name}`;
}

function folderName(typed: string): string {
  return `${typed.replace(/\/+$/, "")}/`;
}

/** Throws unless `typed` is an event folder or an event.yaml that exists. */
export function checkEventPath(typed: string): void {
  if (!existsSync(typed)) {
    throw new EventPathError(
      basename(typed) === EVENT_FILE ? `no event file at ${typed}` : `no event folder at ${typed}`,
    );
  }
  if (!isDir(typed) || existsSync(join(typed, EVENT_FILE))) return;
  const events = eventsInside(typed);
  if (!events.length)
    throw new EventPathError(
      `no event folder at ${typed}: it has no ${EVENT_FILE} (an event folder holds event.yaml and campaign.yaml)`,
    );
  const n = events.length;
  throw new EventPathError(
    `${folderName(typed)} holds ${n} event${n === 1 ? "" : "s"}; name ${n === 1 ? "it" : "one"}: ${events.map((e) => child(typed, e)).join(", ")}`,
  );
}

/**
 * For commands that take several paths (validate): each must exist. A folder without events
 * is left to validation, which reports its missing event.yaml among the other problems.
 */
export function checkEventPaths(typed: readonly string[]): void {
  for (const p of typed) if (!existsSync(p)) throw new EventPathError(`no event folder at ${p}`);
}

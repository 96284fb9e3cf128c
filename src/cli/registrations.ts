import { readFileSync } from "node:fs";
import { DateTime } from "luxon";
import { loadConfig } from "../config.js";
import type { KindRegistry } from "../kind.js";
import { parseRegistrations } from "../model/csv.js";
import { loadEventOrThrow } from "../model/load.js";
import { DefinitionError, type Problem } from "../model/problems.js";
import type { EventDefinition } from "../model/types.js";
import { withStores } from "../store/index.js";
import { UsageError } from "./errors.js";
import { parseInstantOption } from "./plan.js";
import { terminalDraw } from "./rehearse-progress.js";

/**
 * "Recording registrations: 12,500 of 50,000" redrawn in place on a terminal (log-update, as
 * rehearse does), for files big enough to take a moment; nothing when piped, where only the
 * result line belongs.
 */
function importProgress(total: number, stream: NodeJS.WriteStream) {
  if (!stream.isTTY || total < 1_000) return { update: () => undefined, stop: () => undefined };
  const draw = terminalDraw(stream);
  const n = (x: number) => x.toLocaleString("en-US");
  return {
    update: (done: number) => draw(`Recording registrations: ${n(done)} of ${n(total)}`),
    stop: () => draw.done(),
  };
}

function teamsOf(def: EventDefinition): Set<string> {
  return new Set(
    Object.values(def.audiences).flatMap((rs) => rs.flatMap((r) => (r.team ? [r.team] : []))),
  );
}

/**
 * `convene registrations import <event> <csv>` and `convene register <event> --team <id>`
 * (declared in commands.ts). Registrations go to Redis with their time; the scheduler merges them
 * with the event's own registrations file on its next tick (reminders for the team are skipped,
 * "on registration" calendar invites are scheduled), and processors re-check them right before
 * sending.
 */
export async function importRegistrationsCommand(
  kinds: KindRegistry,
  path: string,
  csv: string,
): Promise<void> {
  const def = loadEventOrThrow(path, kinds);
  // As typed: an organizer recognises their own path, not one rewritten against the cwd.
  const display = csv;
  let text: string;
  try {
    text = readFileSync(csv, "utf8");
  } catch (e) {
    throw new UsageError(
      `cannot read ${display}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const problems: Problem[] = [];
  const regs = parseRegistrations(display, text, def.event.timezone, problems);
  const teams = teamsOf(def);
  for (const r of regs)
    if (!teams.has(r.team))
      problems.push({
        file: display,
        line: r.source?.line ?? 1,
        col: 1,
        message: `team: "${r.team}" is not a team in any audience of ${def.event.id}`,
      });
  if (problems.length) throw new DefinitionError(problems);
  const progress = importProgress(regs.length, process.stderr);
  const recorded = await withStores(loadConfig(), (stores) =>
    stores.registrations.recordMany(def.event.id, regs, progress.update),
  ).finally(progress.stop);
  const kept = regs.length - recorded;
  process.stdout.write(
    `${recorded} registration${recorded === 1 ? "" : "s"} recorded for ${def.event.id}` +
      (kept ? ` (${kept} already known with an earlier or equal time)` : "") +
      ".\n",
  );
}

/** `convene register <event> --team <id> [--at <iso>]` (see importRegistrationsCommand). */
export async function registerCommand(
  kinds: KindRegistry,
  path: string,
  opts: { team: string; at?: string },
): Promise<void> {
  const def = loadEventOrThrow(path, kinds);
  if (!teamsOf(def).has(opts.team))
    throw new UsageError(`"${opts.team}" is not a team in any audience of ${def.event.id}`);
  const at = parseInstantOption(opts.at, def.event.timezone, "--at") ?? DateTime.utc();
  const iso = at.toUTC().toISO() as string;
  const fresh = await withStores(loadConfig(), (stores) =>
    stores.registrations.record(def.event.id, opts.team, iso),
  );
  process.stdout.write(
    fresh
      ? `${opts.team} registered for ${def.event.id} at ${iso}.\n`
      : `${opts.team} was already registered for ${def.event.id} at an earlier time; kept that.\n`,
  );
}

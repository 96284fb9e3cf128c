import type { KindRegistry } from "../kind.js";
import { checkTemplates } from "../mail/check.js";
import { checkEventPaths } from "../model/event-path.js";
import { findEventDirs, loadEvent } from "../model/load.js";
import { DefinitionError, formatProblem, isError, type Problem } from "../model/problems.js";
import type { EventDefinition } from "../model/types.js";

/** A check that needs the event loaded first; each module that adds one is imported here. */
type EventCheck = (def: EventDefinition) => Promise<Problem[]>;

/**
 * Named here rather than registered by the modules themselves, so the CLI depends on mail and
 * not the other way round, and validation cannot silently lose a check by a missed import.
 */
const EVENT_CHECKS: readonly EventCheck[] = [(def) => checkTemplates(def)];

export async function validatePaths(
  paths: string[],
  kinds: KindRegistry,
): Promise<{ events: number; problems: Problem[] }> {
  checkEventPaths(paths);
  const dirs = findEventDirs(paths);
  const problems: Problem[] = [];
  for (const dir of dirs) {
    const r = loadEvent(dir, kinds);
    problems.push(...r.problems);
    if (r.definition)
      for (const check of EVENT_CHECKS) problems.push(...(await check(r.definition)));
  }
  return { events: dirs.length, problems };
}

/** `convene validate <paths...>` (declared in commands.ts). */
export async function validateCommand(kinds: KindRegistry, paths: string[]): Promise<void> {
  const { events, problems } = await validatePaths(paths, kinds);
  if (problems.some(isError)) throw new DefinitionError(problems);
  // Warnings are printed but pass: the worker runs such a definition.
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
  const warned = problems.length
    ? ` (${problems.length} warning${problems.length === 1 ? "" : "s"})`
    : "";
  process.stdout.write(
    `${events} event${events === 1 ? "" : "s"} checked, no problems${warned}.\n`,
  );
}

import type { Command } from "commander";
import type { KindRegistry } from "../kind.js";
import { checkEventPaths } from "../model/event-path.js";
import { findEventDirs, loadEvent } from "../model/load.js";
import { DefinitionError, formatProblem, isError, type Problem } from "../model/problems.js";

/**
 * Extra checks other modules contribute (template rendering, for one), run on a loaded event.
 * Kept as a hook list so validation grows with the system without this file knowing it all.
 */
export type EventCheck = (
  def: NonNullable<ReturnType<typeof loadEvent>["definition"]>,
) => Promise<Problem[]>;
const extraChecks: EventCheck[] = [];
export function addEventCheck(check: EventCheck): void {
  extraChecks.push(check);
}

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
      for (const check of extraChecks) problems.push(...(await check(r.definition)));
  }
  return { events: dirs.length, problems };
}

export function registerValidate(program: Command, kinds: KindRegistry): void {
  program
    .command("validate")
    .description(
      "check event definitions, recipients and templates; list every problem with its file and line",
    )
    .argument("<paths...>", "event directories, event.yaml files, or folders of events")
    .action(async (paths: string[]) => {
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
    });
}

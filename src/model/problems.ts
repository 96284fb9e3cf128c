/**
 * A problem an organizer can act on: where it is (file, line, column) and what is wrong.
 * Every loader and validator collects these instead of throwing on the first one, so a
 * single `convene validate` run lists all mistakes at once.
 */
export interface Problem {
  file: string;
  line: number;
  col: number;
  message: string;
  /**
   * An error (the default) keeps the definition from being used. A warning is worth telling
   * the organizer but must not stop a running campaign, e.g. a step that still names a
   * calendar item the organizer deleted: the item's cancellation is what should happen then.
   */
  severity?: "error" | "warning";
}

export function isError(p: Problem): boolean {
  return p.severity !== "warning";
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${isError(p) ? "" : "warning: "}${p.message}`;
}

/** Thrown at the edge (CLI, worker) when definitions cannot be used; carries every problem found. */
export class DefinitionError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "DefinitionError";
  }
}

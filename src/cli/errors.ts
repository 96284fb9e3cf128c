import { DefinitionError, formatProblem } from "../model/problems.js";

/** A mistake in how the command was called; printed as is, without a stack. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Organizers see what is wrong and where, never a stack trace. A stack is printed only with
 * CONVENE_DEBUG=1, for developers.
 */
export function reportError(e: unknown): number {
  if (e instanceof DefinitionError) {
    for (const p of e.problems) process.stderr.write(`${formatProblem(p)}\n`);
    const n = e.problems.length;
    process.stderr.write(`${n} problem${n === 1 ? "" : "s"} found.\n`);
    return 1;
  }
  const err = e as Error;
  process.stderr.write(`convene: ${err?.message ?? String(e)}\n`);
  if (process.env.CONVENE_DEBUG && err?.stack) process.stderr.write(`${err.stack}\n`);
  return e instanceof UsageError ? 2 : 1;
}

/** Wraps a command action so every failure ends in reportError and an exit code. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      process.exitCode = reportError(e);
    }
  };
}

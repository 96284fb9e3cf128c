/**
 * Parsers for option values that can be checked without the event: commander runs them while
 * it parses, and an InvalidArgumentError becomes its usual "error: option … is invalid" usage
 * error (exit 2, with the help hint). Instants (`--from`, `--at`, …) are not here: a time
 * without an offset is read in the event's zone, which is known only once the event is loaded
 * (see parseInstantOption).
 */
import { InvalidArgumentError } from "commander";
import cron from "node-cron";
import { isEmail } from "../model/schema.js";
import { durationOption } from "../worker/settings.js";

export function wholeNumberAtLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`It must be a whole number ≥ ${min}.`);
    return n;
  };
}

/** A duration like 30m, 1h or 1d, in milliseconds. */
export function durationArg(flag: string): (value: string) => number {
  return (value) => {
    try {
      return durationOption(value, flag);
    } catch {
      throw new InvalidArgumentError("It is not a duration like 30m, 1h or 1d.");
    }
  };
}

export function cronExpression(value: string): string {
  if (!cron.validate(value))
    throw new InvalidArgumentError(`It is not a cron expression (like "* * * * *").`);
  return value;
}

export function emailAddress(value: string): string {
  if (!isEmail(value)) throw new InvalidArgumentError("It is not an e-mail address.");
  return value;
}

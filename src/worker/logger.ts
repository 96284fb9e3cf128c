import { type Logger, pino } from "pino";
import pretty from "pino-pretty";

/**
 * singleLine: a send's fields (send id, step, recipient…) on the line of its message, not one
 * line per field, so a terminal shows one line per entry; pid and hostname say nothing to a
 * person. convene logs `err` as a message string; as pino's error key pino-pretty would still
 * print it on a line of its own, so on a terminal pino's error key is another name.
 */
const PRETTY = {
  colorize: true,
  translateTime: "SYS:standard",
  singleLine: true,
  ignore: "pid,hostname",
  errorLikeObjectKeys: ["error"],
  sync: true,
};

/**
 * JSON lines for machines; readable colour when a person watches a terminal. pino-pretty runs
 * as a plain stream here (not a transport thread) so a log line written just before exit is
 * never lost. `CONVENE_LOG_LEVEL` sets the level (default info).
 */
export function createLogger(o: { pretty?: boolean; level?: string } = {}): Logger {
  const level = o.level ?? process.env.CONVENE_LOG_LEVEL ?? "info";
  const usePretty = o.pretty ?? process.stdout.isTTY === true;
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  return usePretty
    ? pino({ ...base, errorKey: "error" }, pretty(PRETTY))
    : pino(base, pino.destination({ sync: true }));
}

export type { Logger };

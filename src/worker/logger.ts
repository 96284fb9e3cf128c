import { type Logger, pino } from "pino";
import pretty from "pino-pretty";

/**
 * JSON lines for machines; readable colour when a person watches a terminal. pino-pretty runs
 * as a plain stream here (not a transport thread) so a log line written just before exit is
 * never lost. `CONVENE_LOG_LEVEL` sets the level (default info).
 */
/**
 * singleLine: a send's fields (send id, step, recipient…) on its own line, not one line per
 * field, so a terminal shows one line per event; pid and hostname say nothing to a person.
 */
const PRETTY = {
  colorize: true,
  translateTime: "SYS:standard",
  singleLine: true,
  ignore: "pid,hostname",
  sync: true,
};

export function createLogger(o: { pretty?: boolean; level?: string } = {}): Logger {
  const level = o.level ?? process.env.CONVENE_LOG_LEVEL ?? "info";
  const usePretty = o.pretty ?? process.stdout.isTTY === true;
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  return usePretty ? pino(base, pretty(PRETTY)) : pino(base, pino.destination({ sync: true }));
}

export type { Logger };

import { type Logger, pino } from "pino";
import pretty from "pino-pretty";

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
    ? pino(base, pretty({ colorize: true, translateTime: "SYS:standard", sync: true }))
    : pino(base, pino.destination({ sync: true }));
}

export type { Logger };

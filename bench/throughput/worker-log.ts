/**
 * Reads `convene worker`'s JSON log lines (stdout is not a terminal, so pino writes JSON) for
 * the two moments the benchmark needs: the "worker started" line, written as soon as the worker
 * is set up and before its first scheduler tick runs, and the tick's summary line (it carries
 * `planned`). Their distance is the first tick's duration.
 */
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

export interface LogLine {
  time: string;
  msg: string;
  level: number;
  [field: string]: unknown;
}

export class WorkerLog {
  readonly lines: LogLine[] = [];
  private waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(stdout: Readable) {
    createInterface({ input: stdout }).on("line", (text) => this.take(text));
  }

  private take(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** The first line, past or future, that passes `test`. */
  find(test: (l: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  /** Lines at warn (40) or above, for the report: a benchmark that logged errors is suspect. */
  problems(): LogLine[] {
    return this.lines.filter((l) => l.level >= 40);
  }
}

export const isStarted = (l: LogLine) => Array.isArray(l.events) && "concurrency" in l;
export const isTick = (l: LogLine) => typeof l.planned === "number";
